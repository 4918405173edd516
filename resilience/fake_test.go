package resilience

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

var errBackend = errors.New("backend unavailable")

// text is s as the JSON data the fake backends answer.
func text(s string) string { return string(tilestest.String(s)) }

// backend is a scripted fake backend. Each call waits latency (or until its
// context ends, and then linger more), then answers value+"/"+user (as a
// JSON string) or err. It counts the calls and how many ended because their
// context was done.
type backend struct {
	mu        sync.Mutex
	latency   time.Duration
	linger    time.Duration // how long a cancelled call takes to return
	value     string
	err       error
	calls     int
	cancelled []error // ctx.Err() of each call that was cut short
}

func newBackend(latency time.Duration, value string) *backend {
	return &backend{latency: latency, value: value}
}

// set changes what the following calls do.
func (b *backend) set(latency time.Duration, value string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.latency, b.value, b.err = latency, value, err
}

// lingerOnCancel makes the following calls return linger after their
// context ends, as a backend slow to notice would.
func (b *backend) lingerOnCancel(linger time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.linger = linger
}

func (b *backend) Calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

func (b *backend) Cancelled() []error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]error(nil), b.cancelled...)
}

// fetcher returns a tile named name served by b.
func (b *backend) fetcher(name string) *tilestest.Fetcher {
	return &tilestest.Fetcher{
		TileName: name,
		FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
			b.mu.Lock()
			b.calls++
			latency, linger, value, err := b.latency, b.linger, b.value, b.err
			b.mu.Unlock()
			if werr := tiles.Wait(ctx, latency); werr != nil {
				b.mu.Lock()
				b.cancelled = append(b.cancelled, werr)
				b.mu.Unlock()
				time.Sleep(linger)
				return tiles.Outcome{}, fmt.Errorf("%s: %w", name, werr)
			}
			if err != nil {
				return tiles.Outcome{}, fmt.Errorf("%s: %w", name, err)
			}
			return tiles.Fresh(tilestest.String(value + "/" + req.User)), nil
		},
	}
}

// countingRecorder counts each Recorder call by method name, keeps the
// breaker states in order and how many detached fetches are running.
type countingRecorder struct {
	mu       sync.Mutex
	n        map[string]int
	states   []BreakerState
	detached int // Detached deltas summed: the detached fetches running
}

var _ Recorder = (*countingRecorder)(nil)

func newRecorder() *countingRecorder { return &countingRecorder{n: map[string]int{}} }

func (r *countingRecorder) inc(name string) {
	r.mu.Lock()
	r.n[name]++
	r.mu.Unlock()
}

// Count returns how many times method was called. Detached is counted as
// "DetachedStarted" (delta 1) and "DetachedEnded" (delta -1).
func (r *countingRecorder) Count(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[method]
}

func (r *countingRecorder) States() []BreakerState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]BreakerState(nil), r.states...)
}

// Detaching returns how many detached fetches are running, by the deltas
// reported so far.
func (r *countingRecorder) Detaching() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.detached
}

func (r *countingRecorder) CacheHit(string)       { r.inc("CacheHit") }
func (r *countingRecorder) CacheMiss(string)      { r.inc("CacheMiss") }
func (r *countingRecorder) StaleServed(string)    { r.inc("StaleServed") }
func (r *countingRecorder) FallbackServed(string) { r.inc("FallbackServed") }
func (r *countingRecorder) Coalesced(string)      { r.inc("Coalesced") }
func (r *countingRecorder) Refreshed(_ string, err error) {
	if err != nil {
		r.inc("RefreshFailed")
	}
	r.inc("Refreshed")
}
func (r *countingRecorder) BackendFetch(context.Context, string, time.Duration, error) {
	r.inc("BackendFetch")
}
func (r *countingRecorder) Detached(_ string, delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case delta > 0:
		r.n["DetachedStarted"]++
	case delta < 0:
		r.n["DetachedEnded"]++
	}
	r.detached += delta
}
func (r *countingRecorder) DetachedCapped(string)  { r.inc("DetachedCapped") }
func (r *countingRecorder) Abandoned(string)       { r.inc("Abandoned") }
func (r *countingRecorder) HedgeStarted(string)    { r.inc("HedgeStarted") }
func (r *countingRecorder) HedgeWon(string)        { r.inc("HedgeWon") }
func (r *countingRecorder) BulkheadFull(string)    { r.inc("BulkheadFull") }
func (r *countingRecorder) Revalidated(string)     { r.inc("Revalidated") }
func (r *countingRecorder) ForwardUncached(string) { r.inc("ForwardUncached") }
func (r *countingRecorder) BreakerState(_ string, s BreakerState) {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
}

// count is one counter a test checks: its name, the value got, the value
// wanted.
type count struct {
	name      string
	got, want int
}

// checkCounts fails t for each count that is off, saying when (where, e.g.
// "at the end") it was read.
func checkCounts(t *testing.T, where string, counts []count) {
	t.Helper()
	if where != "" {
		where = " " + where
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s%s: got %d; want %d", c.name, where, c.got, c.want)
		}
	}
}

// layerOf returns the first layer of type T in tile's chain.
func layerOf[T layer](t testing.TB, tile *Tile) T {
	t.Helper()
	for f := tile.head; ; {
		l, ok := f.(layer)
		if !ok {
			var none T
			t.Fatalf("no %T in the chain", none)
		}
		if found, ok := l.(T); ok {
			return found
		}
		f = l.core().next
	}
}
