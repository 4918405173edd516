package resilience

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// DefaultMaxEntries bounds a tile's memory cache when Policy.MaxEntries is 0.
const DefaultMaxEntries = 10_000

// entry is one cached fetch: the content, when it was fetched, how long it
// is fresh (the policy's TTL, or what the backend said), and the
// validators to revalidate it with.
type entry struct {
	data json.RawMessage
	at   time.Time
	ttl  time.Duration
	tiles.Validators
}

// newCache returns a memory cache of at most maxEntries entries, which the
// memory, coalescer, sharing and store layers read and fill. It has no
// ExpiryCalculator: freshness is judged from entry.at, because an entry
// must outlive its TTL to be served stale. Without expiry otter starts no
// clean-up goroutine and reads no clock, so it runs inside a
// testing/synctest bubble; its maintenance tasks are background work.
func newCache(maxEntries int, work *background) *otter.Cache[string, *entry] {
	return otter.Must(&otter.Options[string, *entry]{MaximumSize: maxEntries, Executor: work.execute})
}

// cacheKey is the key of req in a tile's cache, flights and shared tier:
// the user for a personalised tile, one key for everyone otherwise.
func cacheKey(personalised bool, req tiles.Request) string {
	if personalised {
		return req.User
	}
	return ""
}

// refreshKey marks the context of a background refresh: the coalescer keeps
// its flight (never abandons it), and the shared tier wants fresh content
// for it rather than a stale entry.
type refreshKey struct{}

func isRefresh(ctx context.Context) bool { return ctx.Value(refreshKey{}) != nil }

// memory is the memory cache layer (Policy.TTL > 0). It serves a fresh
// entry at once. An entry past its TTL but within StaleWhileRevalidate is
// served at once too, marked stale, while one background refresh fetches
// the key through the rest of the chain (at most one per key, and none when
// every detached slot is taken). Anything else is a miss: when the rest of
// the chain fails, an entry within MaxStale past its TTL is served, marked
// stale (stale-on-error). An Outcome from below marked stale comes from the
// shared tier, with its Age and its freshness in Cache.MaxAge: it is served
// as a stale entry of this cache would be.
type memory struct {
	base
	cache         *otter.Cache[string, *entry]
	work          *background
	personalised  bool
	swr, maxStale time.Duration
	timeout       time.Duration // bounds a refresh (FetchTimeout)
	tracer        trace.Tracer  // traces refreshes; nil: off

	mu         sync.Mutex
	refreshing map[string]struct{} // keys with a refresh running
}

func (m *memory) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	key := cacheKey(m.personalised, req)
	if e, ok := m.cache.GetIfPresent(key); ok {
		// An entry the backend gave no freshness (max-age=0, no-cache)
		// is revalidated before it is served, not served stale.
		switch age := time.Since(e.at); {
		case age < e.ttl:
			m.rec.CacheHit(m.name)
			m.note(ctx, cacheHit)
			return tiles.Fresh(e.data), nil
		case e.ttl > 0 && age < e.ttl+m.swr:
			return m.stale(ctx, key, req, e.data, age), nil
		}
	}
	m.rec.CacheMiss(m.name)
	m.note(ctx, cacheMiss)
	out, err := m.next.Fetch(ctx, req)
	switch {
	case err != nil:
		return m.rescue(ctx, key, err)
	case out.Status != tiles.StatusStale:
		return tiles.Fresh(out.Data), nil
	case out.Age < out.Cache.MaxAge+m.swr:
		return m.stale(ctx, key, req, out.Data, out.Age), nil
	}
	return m.rescue(ctx, key, fmt.Errorf("%s: no fresh answer: another replica is fetching it", m.name))
}

// stale serves data, age past its fetch, while a refresh of key runs.
func (m *memory) stale(ctx context.Context, key string, req tiles.Request, data json.RawMessage,
	age time.Duration,
) tiles.Outcome {
	m.rec.StaleServed(m.name)
	m.note(ctx, cacheStale)
	m.refresh(ctx, key, req)
	return tiles.Outcome{Data: data, Status: tiles.StatusStale, Age: age}
}

// rescue answers a miss that failed with cause from an entry no older than
// MaxStale past its TTL, or else with cause.
func (m *memory) rescue(ctx context.Context, key string, cause error) (tiles.Outcome, error) {
	if e, ok := m.cache.GetIfPresent(key); ok {
		switch age := time.Since(e.at); {
		case age < e.ttl:
			// A fetch (maybe the very one we stopped waiting for) filled
			// the cache meanwhile.
			return tiles.Fresh(e.data), nil
		case age < e.ttl+m.maxStale:
			m.rec.StaleServed(m.name)
			m.note(ctx, cacheStale)
			return tiles.Outcome{Data: e.data, Status: tiles.StatusStale, Age: age, Cause: cause}, nil
		}
	}
	return tiles.Outcome{}, cause
}

// refresh starts a background fetch of key unless one is already running
// or every detached slot is taken (the entry is then served stale until a
// later request refreshes it), and returns at once. The refresh is
// background work from before refresh returns, so that a Wait or Close
// that follows joins it. It runs under its own context, which keeps ctx's
// values, is marked (refreshKey) and is bounded by FetchTimeout.
func (m *memory) refresh(ctx context.Context, key string, req tiles.Request) {
	m.mu.Lock()
	if _, busy := m.refreshing[key]; busy {
		m.mu.Unlock()
		return
	}
	if m.refreshing == nil {
		m.refreshing = map[string]struct{}{}
	}
	m.refreshing[key] = struct{}{}
	m.mu.Unlock()
	if !m.work.start() {
		m.refreshed(key)
		return
	}
	if !m.work.detach() {
		m.work.done()
		m.refreshed(key)
		return
	}
	go func() {
		defer m.work.done()
		defer m.refreshed(key)
		defer m.work.undetach()
		ctx, span := startRefresh(ctx, m.tracer, m.name)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.timeout)
		defer cancel()
		_, err := m.next.Fetch(context.WithValue(rctx, refreshKey{}, true), req)
		endRefresh(span, err)
		m.rec.Refreshed(m.name, err)
		if err != nil {
			m.logger.DebugContext(ctx, "background refresh failed", "tile", m.name, "err", err)
		}
	}()
}

// refreshed marks the refresh of key as over.
func (m *memory) refreshed(key string) {
	m.mu.Lock()
	delete(m.refreshing, key)
	m.mu.Unlock()
}
