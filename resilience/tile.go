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
//     that one caller leaving does not cancel it for the others;
//   - a circuit breaker (github.com/sony/gobreaker/v2) that stops calling a
//     failing backend for a while and answers at once;
//   - hedging ("The Tail at Scale"): a fetch still unanswered after the
//     hedge delay gets a second attempt, the first answer wins and the
//     other is cancelled, on a capped share of fetches.
//
// When nothing fresh can be had, a Tile answers with a *tiles.Served marked
// "stale" (with its age) or "fallback" (the policy's static default), or
// else with the error. Everything the layer does is reported to a Recorder
// for metrics.
package resilience

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/singleflight"

	"vitrine/tiles"
)

// ErrCircuitOpen is the error of a fetch refused because the tile's circuit
// breaker is open (or half-open with its probes already in flight).
var ErrCircuitOpen = errors.New("circuit open: the backend failed repeatedly and is not called for a while")

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

	cache   *otter.Cache[string, *entry] // nil when TTL is 0
	flights singleflight.Group
	breaker *gobreaker.TwoStepCircuitBreaker[any] // nil when disabled
	hedge   *hedger                               // nil when disabled
	work    *tracker

	mu         sync.Mutex
	refreshing map[string]struct{} // keys with a background refresh running
}

var (
	_ tiles.Fetcher   = (*Tile)(nil)
	_ tiles.Describer = (*Tile)(nil)
)

// entry is one cached fetch: the content and when it was fetched.
type entry struct {
	data any
	at   time.Time
}

// Wrap returns f with policy p. It panics if p.Validate fails: policies are
// built from validated configuration, so a bad one is a programming error.
func Wrap(f tiles.Fetcher, p Policy, opts Options) *Tile {
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("resilience: bad policy for tile %q: %v", f.Name(), err))
	}
	t := &Tile{
		inner:  f,
		name:   f.Name(),
		p:      p.withDefaults(),
		rec:    opts.Recorder,
		logger: opts.Logger,
		work:   newTracker(),

		refreshing: map[string]struct{}{},
	}
	if t.rec == nil {
		t.rec = NopRecorder{}
	}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
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
	if t.p.BreakerFailures > 0 {
		t.breaker = gobreaker.NewTwoStepCircuitBreaker[any](gobreaker.Settings{
			Name:        t.name,
			MaxRequests: uint32(t.p.BreakerProbes),
			Timeout:     t.p.BreakerOpen,
			ReadyToTrip: func(c gobreaker.Counts) bool {
				return c.ConsecutiveFailures >= uint32(t.p.BreakerFailures)
			},
			// A caller that left (the client went away) says nothing about
			// the backend: such a fetch counts neither way.
			IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
			OnStateChange: func(_ string, _, to gobreaker.State) {
				t.rec.BreakerState(t.name, breakerState(to))
			},
		})
		t.rec.BreakerState(t.name, BreakerClosed)
	}
	if t.p.hedging() {
		t.hedge = newHedger(t.p)
	}
	return t
}

// Name returns the inner fetcher's name.
func (t *Tile) Name() string { return t.name }

// Policy returns the policy in force, with defaults filled in.
func (t *Tile) Policy() Policy { return t.p }

// Describe forwards to the inner fetcher if it describes itself.
func (t *Tile) Describe() tiles.Info {
	info := tiles.Info{Name: t.name, Personalised: t.p.Personalised}
	if d, ok := t.inner.(tiles.Describer); ok {
		info = d.Describe()
	}
	p := t.p
	info.Policy = &tiles.PolicyInfo{
		CacheTTLMS:      float64(p.TTL) / float64(time.Millisecond),
		MaxStaleMS:      float64(p.MaxStale) / float64(time.Millisecond),
		Coalesced:       !p.Direct,
		Hedge:           "off",
		BreakerFailures: p.BreakerFailures,
		Fallback:        p.Fallback != nil,
	}
	switch {
	case p.HedgeAdaptive:
		info.Policy.Hedge = fmt.Sprintf("p95, within %s to %s", p.HedgeMin, p.HedgeMax)
	case p.HedgeDelay > 0:
		info.Policy.Hedge = "after " + p.HedgeDelay.String()
	}
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
// backend as plain data, or a *tiles.Served marked "stale" or "fallback",
// or an error that wraps ctx.Err() when ctx ended first, and ErrCircuitOpen
// when the breaker refused the fetch.
func (t *Tile) Fetch(ctx context.Context, req tiles.Request) (any, error) {
	key := t.key(req)
	if t.cache != nil {
		if e, ok := t.cache.GetIfPresent(key); ok {
			switch age := time.Since(e.at); {
			case age < t.p.TTL:
				t.rec.CacheHit(t.name)
				return e.data, nil
			case age < t.p.TTL+t.p.StaleWhileRevalidate:
				t.rec.StaleServed(t.name)
				t.refresh(ctx, key, req)
				return &tiles.Served{Data: e.data, Status: statusStale, Age: age}, nil
			}
		}
		t.rec.CacheMiss(t.name)
	}
	return t.miss(ctx, key, req)
}

// Statuses of tiles.Served, as the aggregator spells them.
const (
	statusStale    = "stale"
	statusFallback = "fallback"
)

// key is the cache and coalescing key of req.
func (t *Tile) key(req tiles.Request) string {
	if t.p.Personalised {
		return req.User
	}
	return ""
}

// miss waits for a fresh fetch, shared with every concurrent miss of key,
// and rescues the request if it fails or ctx ends first.
func (t *Tile) miss(ctx context.Context, key string, req tiles.Request) (any, error) {
	if t.p.Direct {
		return t.direct(ctx, key, req)
	}
	var led atomic.Bool // set if this caller's function ran: it started the fetch
	ch := t.flights.DoChan(key, func() (any, error) {
		led.Store(true)
		// Registered only once singleflight's goroutine runs: until then a
		// Close may pass, and then the fetch is refused rather than joined.
		if !t.work.start() {
			return nil, fmt.Errorf("%s: %w", t.name, ErrClosed)
		}
		defer t.work.done()
		return t.load(ctx, key, req)
	})
	var cause error
	select {
	case r := <-ch:
		if !led.Load() {
			t.rec.Coalesced(t.name)
		}
		if r.Err == nil {
			return r.Val.(*entry).data, nil
		}
		cause = r.Err
	case <-ctx.Done():
		// The shared fetch goes on for the others and for the cache.
		cause = fmt.Errorf("%s: no fresh answer in time: %w", t.name, ctx.Err())
	}
	return t.rescue(key, req, cause)
}

// direct fetches on the caller's goroutine under its context (Policy.Direct).
func (t *Tile) direct(ctx context.Context, key string, req tiles.Request) (any, error) {
	data, err := t.guarded(ctx, req)
	if err == nil {
		if t.cache != nil {
			t.cache.Set(key, &entry{data: data, at: time.Now()})
		}
		return data, nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: no fresh answer in time: %w", t.name, ctx.Err())
	}
	return t.rescue(key, req, err)
}

// refresh starts a background fetch of key unless one is already running,
// and returns at once. The refresh registers as background work before
// refresh returns, so a Wait or Close that follows joins it.
func (t *Tile) refresh(ctx context.Context, key string, req tiles.Request) {
	t.mu.Lock()
	if _, busy := t.refreshing[key]; busy {
		t.mu.Unlock()
		return
	}
	t.refreshing[key] = struct{}{}
	t.mu.Unlock()
	if !t.work.start() {
		t.refreshed(key)
		return
	}
	go func() {
		defer t.work.done()
		defer t.refreshed(key)
		// Do, not DoChan: the fetch runs on this goroutine, already counted
		// as background work, and a miss of the same key in flight is
		// joined rather than duplicated.
		_, err, _ := t.flights.Do(key, func() (any, error) { return t.load(ctx, key, req) })
		t.rec.Refreshed(t.name, err)
		if err != nil {
			t.logger.Debug("background refresh failed", "tile", t.name, "err", err)
		}
	}()
}

// refreshed marks the refresh of key as over.
func (t *Tile) refreshed(key string) {
	t.mu.Lock()
	delete(t.refreshing, key)
	t.mu.Unlock()
}

// rescue answers a request whose fresh fetch failed with cause: from a
// cache entry no older than MaxStale past its TTL, else with the fallback,
// else with cause itself.
func (t *Tile) rescue(key string, req tiles.Request, cause error) (any, error) {
	if t.cache != nil {
		if e, ok := t.cache.GetIfPresent(key); ok {
			switch age := time.Since(e.at); {
			case age < t.p.TTL:
				// A fetch (maybe the very one we stopped waiting for)
				// filled the cache meanwhile.
				return e.data, nil
			case age < t.p.TTL+t.p.MaxStale:
				t.rec.StaleServed(t.name)
				return &tiles.Served{Data: e.data, Status: statusStale, Age: age, Cause: cause}, nil
			}
		}
	}
	if t.p.Fallback != nil {
		t.rec.FallbackServed(t.name)
		return &tiles.Served{Data: t.p.Fallback(req), Status: statusFallback, Cause: cause}, nil
	}
	return nil, cause
}

// load fetches key from the backend under a context detached from every
// caller, bounded by FetchTimeout, and caches the result. It runs on a
// goroutine counted as background work, never on a caller's.
func (t *Tile) load(parent context.Context, key string, req tiles.Request) (*entry, error) {
	if t.cache != nil {
		// A fetch that ended just before this one was registered may have
		// filled the cache: do not fetch twice.
		if e, ok := t.cache.GetIfPresent(key); ok && time.Since(e.at) < t.p.TTL {
			return e, nil
		}
	}
	// WithoutCancel keeps the values of the request that started the fetch
	// (trace IDs and the like) but not its cancellation or deadline.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), t.p.FetchTimeout)
	defer cancel()
	data, err := t.guarded(ctx, req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: no answer within the fetch timeout of %s: %w", t.name, t.p.FetchTimeout, ctx.Err())
		}
		return nil, err
	}
	e := &entry{data: data, at: time.Now()}
	if t.cache != nil {
		t.cache.Set(key, e)
	}
	return e, nil
}

// guarded fetches through the circuit breaker, which refuses at once while
// open and counts the outcome otherwise.
func (t *Tile) guarded(ctx context.Context, req tiles.Request) (any, error) {
	if t.breaker == nil {
		return t.hedged(ctx, req)
	}
	done, err := t.breaker.Allow()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, ErrCircuitOpen)
	}
	data, err := t.hedged(ctx, req)
	done(err)
	return data, err
}

// attemptResult is the outcome of one attempt at the backend.
type attemptResult struct {
	data any
	err  error
}

// hedged fetches from the backend and, if no answer has come within the
// hedge delay and the budget allows, starts a second attempt. The first
// success wins; the other attempt is cancelled, and hedged waits for it to
// stop (promptly, as fetchers honour cancellation) so that no attempt
// outlives the fetch.
func (t *Tile) hedged(ctx context.Context, req tiles.Request) (any, error) {
	if t.hedge == nil {
		return t.attempt(ctx, req)
	}
	// The first attempt runs on the caller's goroutine and a timer starts
	// the hedge only if the delay passes: a fetch that answers in time, the
	// common case, costs no goroutine and no channel.
	first, cancelFirst := context.WithCancel(ctx)
	defer cancelFirst()
	var (
		mu       sync.Mutex
		finished bool               // the first attempt has returned
		hedged   chan attemptResult // set once the hedge is launched
		cancel   context.CancelFunc // cancels the hedge
	)
	timer := time.AfterFunc(t.hedge.delay(), func() {
		mu.Lock()
		defer mu.Unlock()
		if finished || !t.hedge.allow() {
			return
		}
		t.rec.HedgeStarted(t.name)
		var second context.Context
		second, cancel = context.WithCancel(ctx)
		hedged = make(chan attemptResult, 1)
		go func() {
			data, err := t.attempt(second, req)
			if err == nil {
				cancelFirst() // the hedge won: stop the first attempt
			}
			hedged <- attemptResult{data, err}
		}()
	})
	data, err := t.attempt(first, req)
	timer.Stop()
	mu.Lock()
	finished = true
	mu.Unlock()
	if hedged == nil { // no hedge was launched, and none will be
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", t.name, ctx.Err())
		}
		return data, err
	}
	if err == nil {
		cancel() // the first attempt won: stop the hedge, and wait for it
		<-hedged
		return data, nil
	}
	// The first attempt failed: on its own, or because the hedge won and
	// cancelled it. Either way the hedge's answer decides.
	r := <-hedged
	cancel()
	switch {
	case r.err == nil:
		t.rec.HedgeWon(t.name)
		return r.data, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", t.name, ctx.Err())
	}
	return nil, err
}

// attempt calls the backend once, timing it and turning a panic into an
// error: it runs on goroutines of this package, where a panic would
// otherwise kill the process instead of reaching the aggregator's recover.
func (t *Tile) attempt(ctx context.Context, req tiles.Request) (data any, err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			t.logger.Error("tile panicked", "tile", t.name, "panic", p, "stack", string(debug.Stack()))
			data, err = nil, fmt.Errorf("%s: internal error (panic: %v)", t.name, p)
		}
		elapsed := time.Since(start)
		if err == nil && t.hedge != nil {
			t.hedge.observe(elapsed)
		}
		t.rec.BackendFetch(t.name, elapsed, err)
	}()
	return t.inner.Fetch(ctx, req)
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
