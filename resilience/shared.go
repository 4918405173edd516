package resilience

import (
	"context"
	"encoding/json"
	"time"

	"github.com/maypok86/otter/v2"

	"vitrine/tiles"
)

// Shared is a cache tier that several replicas share (package rediscache
// implements it over Redis). A Tile reads it under its memory tier (the
// sharing layer), and uses its leases so that a key missing or stale
// everywhere costs one backend fetch across every replica rather than one
// per replica. It is
// never needed for correctness: a call that fails is as if the tier were
// absent, and the tile carries on with its memory tier and its backend.
type Shared interface {
	// Claim looks key of tile up in one round trip. It returns the entry
	// if there is one, and takes the key's lease (a lock held until Store
	// or Release, or until lease passes) when there is no entry or its
	// FreshUntil is not after servable; Claim.Token is then set. Callers
	// that want a fresh entry pass now; a miss that would serve a stale one
	// passes now minus the stale-while-revalidate window.
	Claim(ctx context.Context, tile, key string, servable time.Time, lease time.Duration) (Claim, error)
	// Store writes e under key, to expire at e.StaleUntil, and releases the
	// lease token if it is still the key's (token "" releases nothing). An
	// entry whose StaleUntil has passed is not written; the key is deleted.
	Store(ctx context.Context, tile, key string, e SharedEntry, token string) error
	// Drop deletes key (the backend said its content must not be stored)
	// and releases token as Store does.
	Drop(ctx context.Context, tile, key, token string) error
	// Release gives the lease back without writing (the fetch failed), if
	// token is still the key's.
	Release(ctx context.Context, tile, key, token string) error
}

// Claim is what Shared.Claim found.
type Claim struct {
	Entry SharedEntry
	Found bool   // Entry is set
	Token string // non-empty when this caller took the key's lease
}

// SharedEntry is one cached fetch as the shared tier stores it.
type SharedEntry struct {
	Data       json.RawMessage
	FetchedAt  time.Time // when the backend answered
	FreshUntil time.Time // served without a fetch until then
	StaleUntil time.Time // served at all until then; the tier forgets it at this time
	tiles.Validators
}

// How a replica that lost a key's lease polls the shared tier for the
// holder's answer: at first soon, then less and less often.
const (
	sharedPollFirst = 10 * time.Millisecond
	sharedPollMax   = 100 * time.Millisecond
)

// sharing is the shared tier's layer (Options.Shared, with a cache, without
// Direct). A miss first looks its key up in the tier. An entry no older
// than StaleWhileRevalidate past its TTL (a refresh wants it fresh) is
// adopted into the memory cache and answered with: its Cache.MaxAge is its
// freshness, and past it the Outcome is marked stale with its Age. When
// another replica holds the key's lease (it is fetching the key), the miss
// polls the tier for that replica's answer for SharedWait, then fetches
// itself; a refresh waits up to FetchTimeout, then serves what is cached
// rather than add a fetch. A miss that takes the lease fetches through the
// rest of the chain, writes the answer to the tier for the other replicas
// (Store, or Drop for no-store), and gives the lease back if the fetch
// failed (Release), so that another replica may try at once. The tier's
// errors are logged and otherwise ignored: a failing tier is no tier.
type sharing struct {
	base
	tier                       Shared
	cache                      *otter.Cache[string, *entry]
	personalised               bool
	swr, maxStale, lease, wait time.Duration // lease is FetchTimeout; wait, SharedWait
}

func (s *sharing) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	key := cacheKey(s.personalised, req)
	staleOK := s.swr
	if isRefresh(ctx) {
		staleOK = 0
	}
	e, lease, done := s.claim(ctx, key, staleOK)
	if done {
		out := tiles.Outcome{Data: e.data, Status: tiles.StatusOK, Cache: tiles.Caching{Set: true, MaxAge: e.ttl}}
		if age := time.Since(e.at); age >= e.ttl {
			out.Status, out.Age = tiles.StatusStale, age
		}
		return out, nil
	}
	out, err := s.next.Fetch(ctx, req)
	if err != nil {
		s.release(ctx, key, lease)
		return out, err
	}
	s.share(ctx, key, out, lease)
	return out, nil
}

// claim looks key up in the tier. It returns done with the entry to serve
// when the tier has one no older than staleOK past its TTL, or when this is
// a refresh (staleOK 0) that another replica is doing and whose answer did
// not come within the lease. Otherwise it returns the lease this replica
// took, or "" if none (the tier failed, or a miss waited SharedWait in
// vain). Whatever newer entry the tier had is in the memory cache
// afterwards, for validators and stale-on-error.
func (s *sharing) claim(ctx context.Context, key string, staleOK time.Duration) (e *entry, lease string, done bool) {
	start := time.Now()
	wait := s.wait
	if staleOK == 0 {
		wait = s.lease
	}
	for pause := sharedPollFirst; ; pause = min(2*pause, sharedPollMax) {
		now := time.Now()
		c, err := s.tier.Claim(ctx, s.name, key, now.Add(-staleOK), s.lease)
		if err != nil {
			s.logger.DebugContext(ctx, "shared cache tier unavailable", "tile", s.name, "err", err)
			return nil, "", false
		}
		e = nil
		if c.Found {
			e = s.adopt(key, c.Entry)
		}
		switch {
		case c.Token != "":
			return nil, c.Token, false
		case e != nil && now.Sub(e.at) < e.ttl+staleOK:
			return e, "", true
		case time.Since(start)+pause > wait || !sleep(ctx, pause):
			return e, "", staleOK == 0 && e != nil
		}
	}
}

// adopt puts the tier's entry for key in the memory cache unless the one
// there is as new, and returns the newer of the two.
func (s *sharing) adopt(key string, se SharedEntry) *entry {
	e := &entry{data: se.Data, at: se.FetchedAt, ttl: se.FreshUntil.Sub(se.FetchedAt), Validators: se.Validators}
	if cur, ok := s.cache.GetIfPresent(key); ok && !cur.at.Before(e.at) {
		return cur
	}
	s.cache.Set(key, e)
	return e
}

// share writes out, just fetched and cached for key (the store layer says
// how in out.Cache), to the tier, or deletes the key there for no-store,
// and gives back lease. Entries stay in the tier MaxStale past their TTL
// (StaleWhileRevalidate is no longer).
func (s *sharing) share(ctx context.Context, key string, out tiles.Outcome, lease string) {
	// The fetch's context may be at its end; the tier bounds its own calls.
	ctx = context.WithoutCancel(ctx)
	var err error
	if out.Cache.NoStore {
		err = s.tier.Drop(ctx, s.name, key, lease)
	} else {
		at := time.Now()
		err = s.tier.Store(ctx, s.name, key, SharedEntry{
			Data: out.Data, FetchedAt: at, FreshUntil: at.Add(out.Cache.MaxAge),
			StaleUntil: at.Add(out.Cache.MaxAge + s.maxStale), Validators: out.Cache.Validators,
		}, lease)
	}
	if err != nil {
		s.logger.DebugContext(ctx, "shared cache tier write failed", "tile", s.name, "err", err)
	}
}

// release gives back lease after a failed fetch.
func (s *sharing) release(ctx context.Context, key, lease string) {
	if lease == "" {
		return
	}
	if err := s.tier.Release(context.WithoutCancel(ctx), s.name, key, lease); err != nil {
		s.logger.DebugContext(ctx, "shared cache tier release failed", "tile", s.name, "err", err)
	}
}

// sleep waits for d, or for ctx to end, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
