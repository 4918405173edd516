package resilience

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"

	"github.com/maypok86/otter/v2"

	"vitrine/tiles"
)

// A layer is one policy around the rest of a tile's chain.
type layer interface {
	tiles.Fetcher
	core() *base
}

// base, in every layer, is the fetcher it wraps and what it knows of its
// tile.
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
	t := &Tile{inner: f, p: p, work: newBackground(b, p.MaxDetached)}
	if p.BreakerFailures > 0 {
		t.breaker = newBreaker(b.name, p, b.rec)
	}
	head := tiles.Fetcher(f)
	for _, l := range slices.Backward(t.layers(b, p, opts)) {
		l.core().next, head = head, l
	}
	t.head = head
	return t
}

// layers returns the tile's layers, outermost first: the one place that
// says which policies a tile has, and in what order.
func (t *Tile) layers(b base, p Policy, opts Options) []layer {
	var cache *otter.Cache[string, *entry]
	if p.TTL > 0 {
		cache = newCache(p.MaxEntries, t.work)
	}
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
			swr: p.StaleWhileRevalidate, maxStale: p.MaxStale, lease: p.FetchTimeout, wait: p.SharedWait})
	}
	ls = append(ls, &store{base: b, cache: cache, personalised: p.Personalised, ttl: p.TTL, backendTTL: p.BackendTTL})
	if t.breaker != nil {
		ls = append(ls, &breaker{base: b, cb: t.breaker})
	}
	if p.hedging() {
		ls = append(ls, &hedging{base: b, h: newHedger(p)})
	}
	if opts.Tracer != nil {
		ls = append(ls, &attempts{base: b, tracer: opts.Tracer})
	}
	return append(ls, &bulkhead{base: b, slots: make(chan struct{}, p.Bulkhead)}, &attempt{base: b})
}
