// Package resilience keeps a tile fast and whole when its backend is slow,
// failing or stampeded. Wrap puts a tiles.Fetcher behind a chain of layers,
// each one policy in a file of its own, outermost first (chain.go):
//
//	fallback   the policy's static default, when nothing else could be served (fallback.go)
//	memory     a bounded in-memory cache: fresh hits, stale-while-revalidate, stale-on-error (memory.go)
//	coalescer  concurrent misses of a key share one fetch, detached from their callers (coalesce.go);
//	           with Direct, each miss fetches on its caller's context instead
//	sharing    the cache tier several replicas share, whose leases make one replica fetch for all (shared.go)
//	store      caches the backend's answers, revalidates what is cached (store.go)
//	breaker    stops calling a backend that keeps failing, for a while (breaker.go)
//	hedging    a second attempt when the first is slow, on a capped share of fetches (hedge.go)
//	attempts   a span per attempt at the backend (trace.go)
//	bulkhead   bounds the requests in flight to the backend (bulkhead.go)
//	attempt    one call of the backend: timed, a panic turned into an error (attempt.go)
//
// A layer that a policy switches off is left out of the chain. Layers agree
// through what they pass on, never through shared state: the outcome (a
// stale entry adopted from the shared tier carries its age), the error (a
// refusal wraps ErrCircuitOpen or ErrBulkheadFull) and the context (a
// background refresh is marked, a hedge names its attempts).
//
// When nothing fresh can be had, a Tile answers with an Outcome marked stale
// (with its age) or fallback, or else with the error. What the layers do is
// reported to a Recorder, and with Options.Tracer traced (trace.go).
package resilience

import (
	"context"
	"errors"
	"log/slog"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// ErrClosed is the error of a fetch that would have started after Close.
var ErrClosed = errors.New("resilience: tile closed")

// Options are the dependencies shared by every wrapped tile.
type Options struct {
	// Recorder is told of hits, misses, hedges and the rest; nil records
	// nothing.
	Recorder Recorder
	// Logger receives panics recovered from the inner fetcher and failed
	// background refreshes; nil discards them.
	Logger *slog.Logger
	// Shared, if set, is the cache tier under the memory cache that other
	// replicas share. It is used only by tiles with a cache (TTL > 0).
	Shared Shared
	// Tracer, if set, traces the layers' work (see trace.go); nil means
	// tracing off, at no cost.
	Tracer trace.Tracer
}

// Tile is a tiles.Fetcher that adds caching, coalescing, circuit breaking
// and hedging to another one, as its Policy says. It is safe for concurrent
// use. Its background work (refreshes, shared fetches callers gave up on,
// the cache's maintenance) is joined by Wait and stopped by Close.
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

// Fetch returns the tile's content for req: fresh from the cache or the
// backend, stale or the fallback, or an error that wraps ctx.Err() when ctx
// ended first, and ErrCircuitOpen when the breaker refused the fetch.
func (t *Tile) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	return t.head.Fetch(ctx, req)
}

// Name returns the inner fetcher's name.
func (t *Tile) Name() string { return t.head.Name() }

// Breaker returns the state of the tile's circuit breaker, and false if it
// has none.
func (t *Tile) Breaker() (BreakerState, bool) {
	if t.breaker == nil {
		return BreakerClosed, false
	}
	return breakerState(t.breaker.State()), true
}

// Describe forwards to the inner fetcher if it describes itself, and adds
// the policy.
func (t *Tile) Describe() tiles.Info {
	info := tiles.Info{Name: t.Name(), Personalised: t.p.Personalised}
	if d, ok := t.inner.(tiles.Describer); ok {
		info = d.Describe()
	}
	pi := t.p.describe()
	info.Policy = &pi
	return info
}

// Wait blocks until no background work is running: background refreshes
// (counted from the Fetch that triggers them), shared fetches that callers
// gave up on (counted from the moment singleflight runs them, an instant
// after the first miss) and the cache's maintenance. (A hedge's loser is
// not background work: the fetch that started it waits for it.) New work
// may start afterwards.
func (t *Tile) Wait() { t.work.wait() }

// Close stops the tile starting background work and waits for the running
// work to finish, which takes at most FetchTimeout if the inner fetcher
// honours its context. Call it once the server has stopped taking requests:
// a Fetch after Close serves only what is cached, or the fallback.
func (t *Tile) Close() { t.work.close() }
