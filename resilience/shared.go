package resilience

import (
	"context"
	"encoding/json"
	"time"

	"vitrine/tiles"
)

// Shared is a cache tier that several replicas share (package rediscache
// implements it over Redis). A Tile reads it under its memory tier, and
// uses its leases so that a key missing or stale everywhere costs one
// backend fetch across every replica rather than one per replica. It is
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
// holder's answer: at first soon (a backend answers in tens of
// milliseconds), then less and less often.
const (
	sharedPollFirst = 10 * time.Millisecond
	sharedPollMax   = 100 * time.Millisecond
)

// fromShared looks key up in the shared tier for fetchAndStore. It returns
// done with the entry to serve when the tier has one no older than staleOK
// past its TTL, or when this is a refresh (staleOK 0) that another replica
// is doing: it waits for that replica's entry, and if none comes within
// the lease, serves the stale one without calling the backend (the next
// refresh tries again). Otherwise it returns the lease this replica took
// (or "" if none: the tier failed, or a miss waited SharedWait for another
// replica in vain) and the caller fetches from the backend. Whatever newer
// entry the tier had is in the memory cache afterwards, for validators and
// stale-on-error.
func (t *Tile) fromShared(ctx context.Context, key string, staleOK time.Duration) (l landing, lease string, done bool) {
	start := time.Now()
	wait := t.p.SharedWait
	if staleOK == 0 {
		wait = t.p.FetchTimeout
	}
	for pause := sharedPollFirst; ; pause = min(2*pause, sharedPollMax) {
		now := time.Now()
		c, err := t.shared.Claim(ctx, t.name, key, now.Add(-staleOK), t.p.FetchTimeout)
		if err != nil {
			t.logger.DebugContext(ctx, "shared cache tier unavailable", "tile", t.name, "err", err)
			return landing{}, "", false
		}
		var e *entry
		if c.Found {
			e = t.adopt(key, c.Entry)
		}
		switch {
		case c.Token != "":
			return landing{}, c.Token, false
		case e != nil && now.Sub(e.at) < e.ttl+staleOK:
			return landing{e: e, adopted: true}, "", true
		case time.Since(start)+pause > wait || !sleep(ctx, pause):
			// A refresh serves what is cached rather than add a fetch.
			if staleOK == 0 && e != nil {
				return landing{e: e, adopted: true}, "", true
			}
			return landing{}, "", false
		}
	}
}

// adopt puts the shared tier's entry for key in the memory cache unless
// the one there is as new, and returns the newer of the two.
func (t *Tile) adopt(key string, se SharedEntry) *entry {
	e := &entry{
		data: se.Data, at: se.FetchedAt, ttl: se.FreshUntil.Sub(se.FetchedAt),
		Validators: se.Validators,
	}
	if cur, ok := t.cache.GetIfPresent(key); ok && !cur.at.Before(e.at) {
		return cur
	}
	t.cache.Set(key, e)
	return e
}

// share writes e, just fetched for key, to the shared tier for the other
// replicas (or deletes the key there when the backend said no-store), and
// gives back lease. The tier's errors are logged and otherwise ignored.
func (t *Tile) share(ctx context.Context, key string, e *entry, noStore bool, lease string) {
	if t.shared == nil {
		return
	}
	// The fetch's context may be at its end; the tier bounds its own calls.
	ctx = context.WithoutCancel(ctx)
	var err error
	if noStore {
		err = t.shared.Drop(ctx, t.name, key, lease)
	} else {
		err = t.shared.Store(ctx, t.name, key, SharedEntry{
			Data: e.data, FetchedAt: e.at, FreshUntil: e.at.Add(e.ttl),
			StaleUntil: e.at.Add(e.ttl + max(t.p.MaxStale, t.p.StaleWhileRevalidate)),
			Validators: e.Validators,
		}, lease)
	}
	if err != nil {
		t.logger.DebugContext(ctx, "shared cache tier write failed", "tile", t.name, "err", err)
	}
}

// release gives back lease after a failed fetch, so that another replica
// may try at once rather than when the lease runs out.
func (t *Tile) release(ctx context.Context, key, lease string) {
	if lease == "" {
		return
	}
	if err := t.shared.Release(context.WithoutCancel(ctx), t.name, key, lease); err != nil {
		t.logger.DebugContext(ctx, "shared cache tier release failed", "tile", t.name, "err", err)
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
