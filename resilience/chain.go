// Package resilience keeps a tile fast and whole when its backend is slow,
// failing or stampeded. Wrap puts a tiles.Fetcher behind a chain of layers,
// each a policy in a file of its own, outermost first: fallback, memory (a
// cache served stale while revalidating and on error), coalescer (or
// direct), sharing (the cache tier replicas share), store, breaker,
// hedging, attempts (tracing), bulkhead and attempt. Layers its Policy
// switches off are left out (Tile.layers). Layers agree through the outcome,
// the error and the context, never through shared state. What they do is
// reported to a Recorder, and traced with Options.Tracer.
package resilience

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/maypok86/otter/v2"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// ErrClosed is the error of a fetch that would start after Close.
var ErrClosed = errors.New("resilience: tile closed")

// ErrShed is the error of a shed request's miss (tiles.Request.Shed): the
// backend is not asked, and nothing is cached to answer with.
var ErrShed = errors.New("shed: the page waited too long to ask the backend")

// Options are the dependencies shared by every wrapped tile.
type Options struct {
	Recorder Recorder     // told of hits, misses, hedges and the rest; nil records nothing
	Logger   *slog.Logger // receives recovered panics and failed refreshes; nil discards them
	Shared   Shared       // the cache tier other replicas share, under the memory cache; nil: none
	Tracer   trace.Tracer // traces the layers' work; nil: tracing off, at no cost
	UserKeys *UserKeys    // hash user ids in cache keys; nil: a random secret of this process
	Purges   *Purges      // the purges the shared tier's entries are read through; nil: none
}

// Tile is a tiles.Fetcher with its Policy's layers around another: the head
// of the chain, and its lifecycle. It is safe for concurrent use.
type Tile struct {
	head    tiles.Fetcher // the outermost layer
	inner   tiles.Fetcher
	p       Policy
	work    *background
	keys    *UserKeys
	vary    *varied                                    // nil unless the tile is cached and forwards values
	cache   *otter.Cache[string, *entry]               // the memory cache, for Purge and Resize; nil without one
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}] // nil without one
}

var _ tiles.Fetcher = (*Tile)(nil)
var _ tiles.Describer = (*Tile)(nil)

// A layer is one policy around the rest of a tile's chain.
type layer interface {
	tiles.Fetcher
	core() *base
}

// base, in every layer, holds the fetcher it wraps and what it needs of its tile.
type base struct {
	next   tiles.Fetcher
	name   string
	rec    Recorder
	logger *slog.Logger
	traced bool // Options.Tracer is set
}

func (b *base) Name() string { return b.name }
func (b *base) core() *base  { return b }

// Wrap returns f with policy p. It panics if p.Validate fails: policies are
// built from validated configuration, so a bad one is a programming error.
func Wrap(f tiles.Fetcher, p Policy, opts Options) *Tile {
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("resilience: bad policy for tile %q: %v", f.Name(), err))
	}
	p = p.withDefaults()
	b := base{name: f.Name(), rec: cmp.Or[Recorder](opts.Recorder, NopRecorder{}),
		logger: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)), traced: opts.Tracer != nil}
	t := &Tile{inner: f, p: p, work: newBackground(b, p.MaxDetached), keys: opts.UserKeys}
	if t.keys == nil {
		t.keys = processKeys()
	}
	if p.BreakerFailures > 0 {
		t.breaker = newBreaker(b.name, p, b.rec)
	}
	t.head = f
	ls := t.layers(b, p, opts)
	for _, l := range slices.Backward(ls) {
		l.core().next, t.head = t.head, l
	}
	if p.TTL > 0 && !p.Forward.Empty() {
		t.vary = newVaried(b, p, ls)
	}
	return t
}

// layers returns the tile's layers, outermost first: the one place that
// says which policies a tile has, and in what order.
func (t *Tile) layers(b base, p Policy, opts Options) []layer {
	if p.TTL > 0 {
		t.cache = newCache(p.MaxEntries, p.MaxBytes, t.work)
	}
	cache := t.cache
	var ls []layer
	if p.Fallback != nil {
		ls = append(ls, &fallback{base: b, data: p.Fallback})
	}
	if cache != nil {
		ls = append(ls, &memory{base: b, cache: cache, work: t.work, personalised: p.Personalised,
			swr: p.StaleWhileRevalidate, maxStale: p.MaxStale, timeout: p.FetchTimeout, tracer: opts.Tracer,
			refreshing: map[string]struct{}{}})
	}
	if p.Direct {
		ls = append(ls, &direct{base: b})
	} else {
		ls = append(ls, &coalescer{base: b, cache: cache, work: t.work, personalised: p.Personalised,
			abandon: p.Personalised || cache == nil, timeout: p.FetchTimeout, flying: map[string]*flight{}})
	}
	if cache != nil && !p.Direct && opts.Shared != nil {
		ls = append(ls, &sharing{base: b, tier: opts.Shared, cache: cache, personalised: p.Personalised,
			swr: p.StaleWhileRevalidate, maxStale: p.MaxStale, lease: p.FetchTimeout, wait: p.SharedWait,
			maxFresh: max(p.TTL, p.MaxTTL), purges: opts.Purges, tags: p.Tags})
	}
	ls = append(ls, &store{base: b, cache: cache, personalised: p.Personalised, ttl: p.TTL, maxTTL: p.MaxTTL,
		backendTTL: p.BackendTTL})
	if t.breaker != nil {
		ls = append(ls, &breaker{base: b, cb: t.breaker})
	}
	if p.HedgeAdaptive || p.HedgeDelay > 0 {
		ls = append(ls, &hedging{base: b, h: newHedger(p)})
	}
	if opts.Tracer != nil {
		ls = append(ls, &attempts{base: b, tracer: opts.Tracer})
	}
	return append(ls, &bulkhead{base: b, slots: make(chan struct{}, p.Bulkhead)}, &attempt{base: b})
}

// Fetch returns the tile's content for req: fresh, stale or the fallback, or
// an error (wrapping ctx.Err() or ErrCircuitOpen if it is why). A
// personalised tile's layers key req by the hash of its user (UserKeys),
// and a tile that forwards values or uses page parameters by their hash too
// (forward.go): a tile that uses none is one entry for every page's values.
func (t *Tile) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	if req.UserKey = ""; t.p.Personalised && req.User != "" {
		req.UserKey = t.keys.Key(req.User)
	}
	if req.VaryKey = ""; len(req.Forwarded) > 0 && !t.p.Forward.Empty() || len(t.p.Params) > 0 {
		req.VaryKey = varyKey(t.keys, t.p, req)
		if t.vary != nil && !t.vary.admit(req.VaryKey) {
			return t.vary.uncached.Fetch(ctx, req)
		}
	}
	return t.head.Fetch(ctx, req)
}

// Name returns the inner fetcher's name.
func (t *Tile) Name() string { return t.head.Name() }

// Breaker returns the state of the tile's breaker, and false if it has none.
func (t *Tile) Breaker() (BreakerState, bool) {
	if t.breaker == nil {
		return BreakerClosed, false
	}
	return breakerStates[t.breaker.State()], true
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

// Resize bounds the memory cache's weight at maxBytes from now on, as
// Policy.MaxBytes did, evicting the coldest entries if it is over; the
// least weight of an entry stays Policy's. No memory cache: nothing to do.
func (t *Tile) Resize(maxBytes int64) {
	if t.cache != nil && maxBytes > 0 {
		t.cache.SetMaximum(uint64(maxBytes))
	}
}

// Wait blocks until no background work runs: refreshes, flights callers
// gave up on (from when singleflight runs them), the cache's maintenance.
func (t *Tile) Wait() { t.work.wait() }

// Close stops new background work and waits for the running work (at most
// FetchTimeout). After Close, only what is cached, or the fallback, serves.
func (t *Tile) Close() { t.work.close() }
