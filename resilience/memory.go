package resilience

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// DefaultMaxEntries is the default of Policy.MaxEntries.
const DefaultMaxEntries = 10_000

// DefaultMaxBytes is the default of Policy.MaxBytes.
const DefaultMaxBytes = 16 << 20

// entryOverhead is what an entry costs in memory besides its data and key:
// the entry, its validators and otter's node, roughly.
const entryOverhead = 256

// entry is one cached fetch, fresh for ttl from at, with its backend's tags.
type entry struct {
	data json.RawMessage
	at   time.Time
	ttl  time.Duration
	tags []string
	tiles.Validators
}

// newCache returns a memory cache of at most maxEntries entries weighing
// at most maxBytes in all (weight). An entry weighs at least maxBytes /
// maxEntries, so that the one bound otter allows keeps both. Without an
// ExpiryCalculator (an entry outlives its TTL to be served stale) otter
// starts no goroutine and reads no clock: it runs in a synctest bubble.
func newCache(maxEntries int, maxBytes int64, work *background) *otter.Cache[string, *entry] {
	least := uint64(max(maxBytes/int64(maxEntries), 1))
	return otter.Must(&otter.Options[string, *entry]{MaximumWeight: uint64(maxBytes), Executor: work.execute,
		Weigher: func(key string, e *entry) uint32 { return uint32(min(max(weight(key, e), least), math.MaxUint32)) }})
}

// weight is what key's entry e costs in memory, in bytes, roughly.
func weight(key string, e *entry) uint64 {
	n := len(key) + len(e.data) + len(e.ETag) + len(e.LastModified) + 16*len(e.tags)
	for _, t := range e.tags {
		n += len(t)
	}
	return uint64(n) + entryOverhead
}

// cacheKey is req's key in the cache, the flights and the shared tier:
// the keyed hashes of its user and of its forwarded values (Tile.Fetch
// sets them), never the values themselves.
func cacheKey(personalised bool, req tiles.Request) string {
	switch {
	case !personalised:
		return req.VaryKey
	case req.VaryKey == "":
		return req.UserKey
	}
	return req.UserKey + "." + req.VaryKey
}

// refreshKey marks a refresh's context: its flight is kept (coalesce.go)
// and it wants fresh content from the shared tier (shared.go).
type refreshKey struct{}

func isRefresh(ctx context.Context) bool { return ctx.Value(refreshKey{}) != nil }

// memory is the memory cache layer. It serves a fresh entry, or one within
// StaleWhileRevalidate past its TTL (marked stale; a refresh fetches the
// key), at once. Else, if the fetch fails, it serves an entry within
// MaxStale past its TTL. A stale Outcome from below (the shared tier's, its
// freshness in Cache.MaxAge) is served as a stale entry is.
type memory struct {
	base
	cache         *otter.Cache[string, *entry]
	work          *background
	personalised  bool
	swr, maxStale time.Duration
	timeout       time.Duration // bounds a refresh
	tracer        trace.Tracer
	mu            sync.Mutex
	refreshing    map[string]struct{}
}

func (m *memory) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	key := cacheKey(m.personalised, req)
	if e, ok := m.cache.GetIfPresent(key); ok {
		// An entry without freshness (max-age=0) is revalidated, not stale.
		switch age := time.Since(e.at); {
		case age < e.ttl:
			m.rec.CacheHit(m.name)
			m.note(ctx, cacheHit)
			return tiles.Fresh(e.data), nil
		case e.ttl > 0 && age < e.ttl+m.swr:
			return m.stale(ctx, key, req, tiles.Outcome{Data: e.data, Age: age}), nil
		}
	}
	m.rec.CacheMiss(m.name)
	m.note(ctx, cacheMiss)
	out, err := m.next.Fetch(ctx, req)
	switch {
	case err != nil:
		return m.rescue(ctx, key, err)
	case out.Status != tiles.StatusStale:
		return tiles.Outcome{Data: out.Data, Status: tiles.StatusOK, Cookies: out.Cookies}, nil
	case out.Age < out.Cache.MaxAge+m.swr:
		return m.stale(ctx, key, req, out), nil
	}
	return m.rescue(ctx, key, fmt.Errorf("%s: no fresh answer: another replica is fetching it", m.name))
}

// stale serves out's data, of its Age, while a refresh of key runs (none
// for a shed request: no work for the backend).
func (m *memory) stale(ctx context.Context, key string, req tiles.Request, out tiles.Outcome) tiles.Outcome {
	m.rec.StaleServed(m.name)
	m.note(ctx, cacheStale)
	if !req.Shed {
		m.refresh(ctx, key, req)
	}
	return tiles.Outcome{Data: out.Data, Status: tiles.StatusStale, Age: out.Age}
}

// rescue answers a miss that failed with cause from the cache, if it can.
func (m *memory) rescue(ctx context.Context, key string, cause error) (tiles.Outcome, error) {
	if e, ok := m.cache.GetIfPresent(key); ok {
		switch age := time.Since(e.at); {
		case age < e.ttl: // filled meanwhile, maybe by the fetch we stopped waiting for
			return tiles.Fresh(e.data), nil
		case age < e.ttl+m.maxStale:
			m.rec.StaleServed(m.name)
			m.note(ctx, cacheStale)
			return tiles.Outcome{Data: e.data, Status: tiles.StatusStale, Age: age, Cause: cause}, nil
		}
	}
	return tiles.Outcome{}, cause
}

// refresh starts a background fetch of key unless one runs or no detached
// slot is free, on a context of its own: ctx's values, FetchTimeout, marked.
func (m *memory) refresh(ctx context.Context, key string, req tiles.Request) {
	m.mu.Lock()
	_, busy := m.refreshing[key]
	m.refreshing[key] = struct{}{}
	m.mu.Unlock()
	if busy {
		return
	}
	if started := m.work.start(); !started || !m.work.detach() {
		if started {
			m.work.done()
		}
		m.refreshed(key)
		return
	}
	go func() {
		defer m.work.done()
		defer m.refreshed(key)
		defer m.work.undetach()
		ctx, end := startRefresh(ctx, m.tracer, m.name)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.timeout)
		defer cancel()
		_, err := m.next.Fetch(context.WithValue(rctx, refreshKey{}, true), req)
		end(err)
		m.rec.Refreshed(m.name, err)
		if err != nil {
			m.logger.DebugContext(ctx, "background refresh failed", "tile", m.name, "err", err)
		}
	}()
}

func (m *memory) refreshed(key string) {
	m.mu.Lock()
	delete(m.refreshing, key)
	m.mu.Unlock()
}
