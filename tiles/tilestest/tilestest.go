// Package tilestest provides the one fake tiles.Fetcher that the module's
// tests share, and constructors for the behaviours they need.
package tilestest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/sim"
	"vitrine/tiles"
)

// Fetcher is an in-memory tiles.Fetcher: FetchFn says what each fetch does,
// and Calls counts the fetches that reached it.
type Fetcher struct {
	TileName string
	FetchFn  func(ctx context.Context, req tiles.Request) (tiles.Outcome, error)
	calls    atomic.Int64
}

var _ tiles.Fetcher = (*Fetcher)(nil)

// Name returns TileName.
func (f *Fetcher) Name() string { return f.TileName }

// Fetch counts the call and runs FetchFn.
func (f *Fetcher) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	f.calls.Add(1)
	return f.FetchFn(ctx, req)
}

// Calls is how many fetches reached f.
func (f *Fetcher) Calls() int64 { return f.calls.Load() }

// String returns s as JSON data: a JSON string.
func String(s string) json.RawMessage { return json.RawMessage(strconv.Quote(s)) }

// After is a tile that answers data after d, or gives up when ctx ends.
func After(name string, d time.Duration, data json.RawMessage) *Fetcher {
	return &Fetcher{TileName: name, FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
		if err := tiles.Wait(ctx, d); err != nil {
			return tiles.Outcome{}, fmt.Errorf("%s: %w", name, err)
		}
		return tiles.Fresh(data), nil
	}}
}

// Serving is a tile that answers out at once.
func Serving(name string, out tiles.Outcome) *Fetcher {
	return &Fetcher{TileName: name, FetchFn: func(context.Context, tiles.Request) (tiles.Outcome, error) {
		return out, nil
	}}
}

// Failing is a tile whose backend answers err at once.
func Failing(name string, err error) *Fetcher {
	return &Fetcher{TileName: name, FetchFn: func(context.Context, tiles.Request) (tiles.Outcome, error) {
		return tiles.Outcome{}, err
	}}
}

// Panicking is a tile whose fetch panics with v.
func Panicking(name string, v any) *Fetcher {
	return &Fetcher{TileName: name, FetchFn: func(context.Context, tiles.Request) (tiles.Outcome, error) {
		panic(v)
	}}
}

// Builtin returns the built-in tile definition named name, failing t if
// there is none.
func Builtin(t testing.TB, name string) sim.Def {
	t.Helper()
	for _, d := range sim.Builtins() {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no built-in tile %q", name)
	return sim.Def{}
}
