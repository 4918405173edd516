package resilience

import (
	"context"
	"encoding/json"
	"time"

	"github.com/maypok86/otter/v2"

	"vitrine/tiles"
)

// Shared is a cache tier that replicas share (rediscache implements it),
// whose leases make a key missing everywhere cost one backend fetch across
// the replicas. A call that fails is as if there were no tier.
type Shared interface {
	// Claim looks key of tile up in one round trip. It returns the entry if
	// there is one, and takes the key's lease (held until Store or Release,
	// or for lease), setting Claim.Token, when there is no entry or its
	// FreshUntil is not after servable: now for a caller that wants a fresh
	// entry, earlier for one that would serve a stale one. An entry fresh
	// after latest cannot have been stored: it is deleted, as a miss.
	Claim(ctx context.Context, tile, key string, servable, latest time.Time, lease time.Duration) (Claim, error)
	// Store writes e under key until e.StaleUntil (if that has passed, it
	// deletes the key), and releases the lease token if it is still the
	// key's (token "" releases nothing).
	Store(ctx context.Context, tile, key string, e SharedEntry, token string) error
	// Drop deletes key (its content must not be stored) and releases token.
	Drop(ctx context.Context, tile, key, token string) error
	// Release releases token without writing (the fetch failed).
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
	StaleUntil time.Time // served at all until then; the tier forgets it then
	Personal   bool      // a user's entry, keyed by the hash of the user
	Tags       []string  // the backend's tags (tiles.Caching.Tags), by which a purge finds it
	tiles.Validators
}

// sharing is the shared tier's layer. A miss claims its key: an entry no
// older than StaleWhileRevalidate past its TTL (for a refresh, fresh) is
// adopted into the memory cache and served, marked stale past its TTL, its
// freshness in Cache.MaxAge. While another replica holds the lease, a miss
// waits for its answer up to SharedWait (a refresh, FetchTimeout, then it
// serves what is cached). Else it fetches, then stores the answer as the
// store layer cached it, or releases the lease. Tier errors are ignored.
type sharing struct {
	base
	tier                       Shared
	cache                      *otter.Cache[string, *entry]
	personalised               bool
	swr, maxStale, lease, wait time.Duration // lease is FetchTimeout; wait, SharedWait
	maxFresh                   time.Duration // the longest freshness the store layer gives: max(TTL, MaxTTL)
	purges                     *Purges       // nil: none
	tags                       []string      // Policy.Tags
}

// clockSkew is how far replicas' clocks may disagree: an entry fresh for
// more than maxFresh plus this from now is corrupt (Shared.Claim's latest).
const clockSkew = time.Minute

func (s *sharing) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	key, staleOK := cacheKey(s.personalised, req), s.swr
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
	// The fetch's context may be at its end: the tier bounds its own calls.
	wctx, at := context.WithoutCancel(ctx), time.Now()
	var werr error
	switch {
	case err != nil && lease != "": // give the lease back: another replica may try at once
		werr = s.tier.Release(wctx, s.name, key, lease)
	case err != nil:
	case out.Cache.NoStore:
		werr = s.tier.Drop(wctx, s.name, key, lease)
	default: // kept MaxStale past its TTL (StaleWhileRevalidate is no longer)
		werr = s.tier.Store(wctx, s.name, key, SharedEntry{Data: out.Data, FetchedAt: at,
			FreshUntil: at.Add(out.Cache.MaxAge), StaleUntil: at.Add(out.Cache.MaxAge + s.maxStale),
			Validators: out.Cache.Validators, Personal: s.personalised, Tags: out.Cache.Tags}, lease)
	}
	if werr != nil {
		s.logger.DebugContext(ctx, "shared cache tier write failed", "tile", s.name, "err", werr)
	}
	return out, err
}

// claim returns done and the entry to serve if the tier has one no older
// than staleOK past its TTL (for a refresh another replica does, any, once
// its lease passed). Else it returns the lease it took, or "". The newer of
// the tier's and the memory entry is then in memory.
func (s *sharing) claim(ctx context.Context, key string, staleOK time.Duration) (e *entry, lease string, done bool) {
	start, wait := time.Now(), s.wait
	if staleOK == 0 {
		wait = s.lease
	}
	// While another replica holds the lease, poll for its answer: at first
	// soon, then less and less often.
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		now := time.Now()
		c, err := s.tier.Claim(ctx, s.name, key, now.Add(-staleOK), now.Add(s.maxFresh+clockSkew), s.lease)
		if err == nil {
			c, err = s.unpurge(ctx, key, c, now.Add(-staleOK), now.Add(s.maxFresh+clockSkew))
		}
		if err != nil {
			s.logger.DebugContext(ctx, "shared cache tier unavailable", "tile", s.name, "err", err)
			return nil, "", false
		}
		if e = nil; c.Found {
			e = s.adopt(key, c.Entry)
		}
		switch {
		case c.Token != "":
			return nil, c.Token, false
		case e != nil && now.Sub(e.at) < e.ttl+staleOK:
			return e, "", true
		case time.Since(start)+pause > wait || tiles.Wait(ctx, pause) != nil:
			return e, "", staleOK == 0 && e != nil
		}
	}
}

// adopt puts the tier's entry for key in the memory cache unless the one
// there is as new, and returns the newer of the two.
func (s *sharing) adopt(key string, se SharedEntry) *entry {
	e := &entry{data: se.Data, at: se.FetchedAt, ttl: se.FreshUntil.Sub(se.FetchedAt), tags: se.Tags,
		Validators: se.Validators}
	if cur, ok := s.cache.GetIfPresent(key); ok && !cur.at.Before(e.at) {
		return cur
	}
	s.cache.Set(key, e)
	return e
}

// unpurge applies the purges this replica knows of to the entry c found: one
// a hard purge selects is no entry, one a soft purge selects is fresh until
// that purge at most. If the tier held it fresh at servable, so that the
// claim did not try the key's lease, and it is no longer servable, it claims
// again as if the entry were stale: one replica, the lease's, fetches anew.
func (s *sharing) unpurge(ctx context.Context, key string, c Claim, servable, latest time.Time) (Claim, error) {
	fresh, purged := s.applyPurges(key, &c)
	if !purged || c.Token != "" || !fresh.After(servable) || c.Found && c.Entry.FreshUntil.After(servable) {
		return c, nil
	}
	c, err := s.tier.Claim(ctx, s.name, key, fresh, latest, s.lease)
	if err == nil {
		s.applyPurges(key, &c)
	}
	return c, err
}

// applyPurges applies the purges to the entry c found, if any, and returns
// its freshness as the tier holds it and whether a purge selected it.
func (s *sharing) applyPurges(key string, c *Claim) (fresh time.Time, purged bool) {
	if !c.Found {
		return time.Time{}, false
	}
	fresh = c.Entry.FreshUntil
	soon, hard, purged := s.purges.match(s.name, s.tags, s.personalised, key, c.Entry)
	switch {
	case purged && hard:
		c.Found, c.Entry = false, SharedEntry{}
	case purged && soon.Before(fresh): // soon is after FetchedAt
		c.Entry.FreshUntil = soon
	}
	return fresh, purged
}
