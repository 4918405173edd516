// Package resilience keeps a tile fast and whole when its backend is slow,
// failing or stampeded. Wrap puts a tiles.Fetcher behind a chain of layers,
// each a policy in a file of its own, outermost first: fallback, memory (a
// cache served stale while revalidating and on error), coalescer (or
// direct), sharing (the cache tier replicas share), store, breaker,
// hedging, attempts (tracing), bulkhead and attempt. Layers its Policy
// switches off are left out (chain.go). Layers agree through the outcome,
// the error and the context, never through shared state. What they do is
// reported to a Recorder, and traced with Options.Tracer.
package resilience

import (
	"context"
	"errors"
	"log/slog"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// ErrClosed is the error of a fetch that would start after Close.
var ErrClosed = errors.New("resilience: tile closed")

// Options are the dependencies shared by every wrapped tile.
type Options struct {
	Recorder Recorder     // told of hits, misses, hedges and the rest; nil records nothing
	Logger   *slog.Logger // receives recovered panics and failed refreshes; nil discards them
	Shared   Shared       // the cache tier other replicas share, under the memory cache; nil: none
	Tracer   trace.Tracer // traces the layers' work; nil: tracing off, at no cost
}

// Tile is a tiles.Fetcher with its Policy's layers around another: the head
// of the chain, and its lifecycle. It is safe for concurrent use.
type Tile struct {
	head    tiles.Fetcher // the outermost layer
	inner   tiles.Fetcher
	p       Policy
	work    *background
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}] // nil without one
}

var (
	_ tiles.Fetcher   = (*Tile)(nil)
	_ tiles.Describer = (*Tile)(nil)
)

// Fetch returns the tile's content for req: fresh, stale or the fallback,
// or an error (wrapping ctx.Err() if ctx ended first, ErrCircuitOpen if the
// breaker refused).
func (t *Tile) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	return t.head.Fetch(ctx, req)
}

// Name returns the inner fetcher's name.
func (t *Tile) Name() string { return t.head.Name() }

// Breaker returns the state of the tile's breaker, and false if it has none.
func (t *Tile) Breaker() (BreakerState, bool) {
	if t.breaker == nil {
		return BreakerClosed, false
	}
	return breakerState(t.breaker.State()), true
}

// Describe is the inner fetcher's description, if any, with the policy.
func (t *Tile) Describe() tiles.Info {
	info := tiles.Info{Name: t.Name(), Personalised: t.p.Personalised}
	if d, ok := t.inner.(tiles.Describer); ok {
		info = d.Describe()
	}
	pi := t.p.describe()
	info.Policy = &pi
	return info
}

// Wait blocks until no background work runs: refreshes (from the Fetch that
// starts them), flights callers gave up on (from when singleflight runs
// them) and the cache's maintenance.
func (t *Tile) Wait() { t.work.wait() }

// Close stops new background work and waits for the running work (at most
// FetchTimeout). A Fetch after Close serves only what is cached, or the
// fallback.
func (t *Tile) Close() { t.work.close() }
