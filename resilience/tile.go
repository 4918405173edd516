// Package resilience keeps a tile fast and whole when its backend is slow,
// failing or stampeded. Wrap decorates any tiles.Fetcher with, from the
// outside in:
//
//   - a bounded in-memory cache (github.com/maypok86/otter/v2) that serves
//     fresh entries at once, serves expired ones at once while one
//     background fetch refreshes them (stale-while-revalidate), and serves
//     them as a last resort when a fetch fails (stale-on-error);
//   - coalescing (golang.org/x/sync/singleflight): concurrent misses of one
//     key share one backend fetch, detached from every caller's context so
//     that one caller leaving does not cancel it for the others, and a late
//     answer still fills the cache; it is cancelled when its last waiter
//     leaves and nobody else will read it (a personalised key, or no
//     cache); at most MaxDetached such fetches run at once per tile;
//   - a circuit breaker (github.com/sony/gobreaker/v2) that stops calling a
//     failing backend for a while and answers at once;
//   - hedging ("The Tail at Scale"): a fetch still unanswered after the
//     hedge delay gets a second attempt, the first answer wins and the
//     other is cancelled, on a capped share of fetches.
//
// With Options.Shared, a cache tier shared by several replicas (Redis)
// sits between the memory cache and the backend: a memory miss or refresh
// reads it first, and its leases make one replica fetch a key for all of
// them (shared.go).
//
// When nothing fresh can be had, a Tile answers with an Outcome marked stale
// (with its age) or fallback (the policy's static default), or else with
// the error. Everything the layer does is reported to a Recorder, and with
// Options.Tracer traced: on the caller's tile span and in spans of its own
// (trace.go).
package resilience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"vitrine/tiles"
)

// ErrCircuitOpen is the error of a fetch refused because the tile's circuit
// breaker is open (or half-open with its probes already in flight).
var ErrCircuitOpen = errors.New("circuit open: the backend failed repeatedly and is not called for a while")

// ErrBulkheadFull is the error of a backend request refused because the
// tile already has Policy.Bulkhead requests in flight to its backend.
var ErrBulkheadFull = errors.New("too many requests to the backend in flight")

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
	// Tracer, if set, traces the layer's work (see trace.go); nil means
	// tracing off, at no cost.
	Tracer trace.Tracer
}

// Tile is a tiles.Fetcher that adds caching, coalescing, circuit breaking
// and hedging to another one, as its Policy says. It is safe for concurrent
// use. Its background work (refreshes, shared fetches callers gave up on,
// the cache's maintenance) is joined by Wait and stopped by Close.
type Tile struct {
	inner  tiles.Fetcher
	name   string
	p      Policy
	rec    Recorder
	logger *slog.Logger
	tracer trace.Tracer // nil: tracing off

	refreshName string // the span name of a refresh, built once

	cache    *otter.Cache[string, *entry] // nil when TTL is 0
	shared   Shared                       // nil without a shared tier, or without cache
	flights  singleflight.Group
	breaker  *gobreaker.TwoStepCircuitBreaker[struct{}] // nil when disabled
	hedge    *hedger                                    // nil when disabled
	work     *tracker
	detached chan struct{} // a slot per fetch that may outlive its callers
	bulkhead chan struct{} // a slot per request in flight to the backend

	mu         sync.Mutex
	refreshing map[string]struct{} // keys with a background refresh running
	flying     map[string]*flight  // keys with a call in flights, and who waits
}

var (
	_ tiles.Fetcher   = (*Tile)(nil)
	_ tiles.Describer = (*Tile)(nil)
)

// entry is one cached fetch: the content, when it was fetched, how long it
// is fresh (the policy's TTL, or what the backend said), and the
// validators to revalidate it with.
type entry struct {
	data json.RawMessage
	at   time.Time
	ttl  time.Duration
	tiles.Validators
}

// Wrap returns f with policy p. It panics if p.Validate fails: policies are
// built from validated configuration, so a bad one is a programming error.
func Wrap(f tiles.Fetcher, p Policy, opts Options) *Tile {
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("resilience: bad policy for tile %q: %v", f.Name(), err))
	}
	t := &Tile{
		inner:      f,
		name:       f.Name(),
		p:          p.withDefaults(),
		rec:        opts.Recorder,
		logger:     opts.Logger,
		tracer:     opts.Tracer,
		work:       newTracker(),
		refreshing: map[string]struct{}{},
		flying:     map[string]*flight{},
	}
	t.detached = make(chan struct{}, t.p.MaxDetached)
	t.bulkhead = make(chan struct{}, t.p.Bulkhead)
	if t.rec == nil {
		t.rec = NopRecorder{}
	}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	if t.tracer != nil {
		t.refreshName = "refresh " + t.name
	}
	if t.p.TTL > 0 {
		// No ExpiryCalculator: freshness is judged from entry.at, because an
		// entry must outlive its TTL to be served stale. Without expiry otter
		// starts no clean-up goroutine and reads no clock, so it runs inside
		// a testing/synctest bubble; its only goroutines are maintenance
		// tasks, which go through t.execute and are joined by Wait.
		t.cache = otter.Must(&otter.Options[string, *entry]{
			MaximumSize: t.p.MaxEntries,
			Executor:    t.execute,
		})
	}
	if t.cache != nil {
		t.shared = opts.Shared
	}
	if t.p.BreakerFailures > 0 {
		t.breaker = newBreaker(t.name, t.p, t.rec)
	}
	if t.p.hedging() {
		t.hedge = newHedger(t.p)
	}
	return t
}

// newBreaker returns the breaker of a tile whose policy has one, and tells
// rec it starts closed.
func newBreaker(name string, p Policy, rec Recorder) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	b := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: uint32(p.BreakerProbes),
		Timeout:     p.BreakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= uint32(p.BreakerFailures)
		},
		// A caller that left (the client went away) says nothing about the
		// backend, nor does a request the bulkhead refused, nor a backend's
		// "no such content" (404, 410), which is an answer: such a fetch
		// counts neither way.
		IsExcluded: func(err error) bool {
			var be *tiles.BackendError
			return errors.Is(err, context.Canceled) || errors.Is(err, ErrBulkheadFull) || errors.As(err, &be) && be.Gone()
		},
		OnStateChange: func(_ string, _, to gobreaker.State) {
			rec.BreakerState(name, breakerState(to))
		},
	})
	rec.BreakerState(name, BreakerClosed)
	return b
}

// Breaker returns the state of the tile's circuit breaker, and false if it
// has none.
func (t *Tile) Breaker() (BreakerState, bool) {
	if t.breaker == nil {
		return BreakerClosed, false
	}
	return breakerState(t.breaker.State()), true
}

// Name returns the inner fetcher's name.
func (t *Tile) Name() string { return t.name }

// Describe forwards to the inner fetcher if it describes itself, and adds
// the policy.
func (t *Tile) Describe() tiles.Info {
	info := tiles.Info{Name: t.name, Personalised: t.p.Personalised}
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

// Fetch returns the tile's content for req: fresh from the cache or the
// backend, stale or the fallback, or an error that wraps ctx.Err() when ctx
// ended first, and ErrCircuitOpen when the breaker refused the fetch.
func (t *Tile) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	key := t.key(req)
	if t.cache != nil {
		if e, ok := t.cache.GetIfPresent(key); ok {
			// An entry the backend gave no freshness (max-age=0, no-cache)
			// is revalidated before it is served, not served stale.
			switch age := time.Since(e.at); {
			case age < e.ttl:
				t.rec.CacheHit(t.name)
				t.noteCache(ctx, cacheHit)
				return tiles.Fresh(e.data), nil
			case e.ttl > 0 && age < e.ttl+t.p.StaleWhileRevalidate:
				t.rec.StaleServed(t.name)
				t.noteCache(ctx, cacheStale)
				t.refresh(ctx, key, req)
				return tiles.Outcome{Data: e.data, Status: tiles.StatusStale, Age: age}, nil
			}
		}
		t.rec.CacheMiss(t.name)
		t.noteCache(ctx, cacheMiss)
	}
	if t.p.Direct {
		return t.direct(ctx, key, req)
	}
	return t.miss(ctx, key, req)
}

// key is the cache and coalescing key of req.
func (t *Tile) key(req tiles.Request) string {
	if t.p.Personalised {
		return req.User
	}
	return ""
}

// guarded fetches through the circuit breaker, which refuses at once while
// open and counts the outcome otherwise.
func (t *Tile) guarded(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	if t.breaker == nil {
		return t.hedged(ctx, req)
	}
	done, err := t.breaker.Allow()
	t.noteBreaker(ctx, err != nil)
	if err != nil {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", t.name, ErrCircuitOpen)
	}
	out, err := t.hedged(ctx, req)
	done(err)
	return out, err
}

// attempt calls the backend once, timing it and turning a panic into an
// error: it runs on goroutines of this package, where a panic would
// otherwise kill the process instead of reaching the aggregator's recover.
// It takes a bulkhead slot for the call, or refuses at once if none is free
// (first attempts, hedges and refreshes alike). kind (first or hedge) names
// the attempt's span, which the caller ends once it knows whether the
// attempt won (attemptResult.endAttempt).
func (t *Tile) attempt(ctx context.Context, req tiles.Request, kind string) (r attemptResult) {
	ctx, r.span = t.startAttempt(ctx, kind)
	select {
	case t.bulkhead <- struct{}{}:
		defer func() { <-t.bulkhead }()
	default:
		t.rec.BulkheadFull(t.name)
		refuseAttempt(r.span)
		return attemptResult{err: fmt.Errorf("%s: %w", t.name, ErrBulkheadFull)}
	}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			t.logger.ErrorContext(ctx, "tile panicked", "tile", t.name, "panic", p, "stack", string(debug.Stack()))
			r.out, r.err = tiles.Outcome{}, fmt.Errorf("%s: internal error (panic: %v)", t.name, p)
		}
		r.elapsed = time.Since(start)
		t.rec.BackendFetch(ctx, t.name, r.elapsed, r.err)
	}()
	r.out, r.err = t.inner.Fetch(ctx, req)
	return r
}

// execute runs the cache's maintenance tasks on goroutines counted as
// background work, or inline once the tile is closed (otter allows an
// executor that runs tasks on the calling goroutine).
func (t *Tile) execute(fn func()) {
	if !t.work.start() {
		fn()
		return
	}
	go func() {
		defer t.work.done()
		fn()
	}()
}

// breakerState translates gobreaker's states.
func breakerState(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateOpen:
		return BreakerOpen
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	default:
		return BreakerClosed
	}
}
