package resilience

import (
	"context"
	"time"
)

// Recorder is told what the resilience layer does, for metrics. Its methods
// are called concurrently, some on the hot path of a cache hit or under the
// breaker's lock, so they must be quick and must not call back into a Tile.
//
// Each Fetch of a caching tile counts exactly one of CacheHit, StaleServed
// (served at once while revalidating) or CacheMiss; a miss may then end in
// StaleServed (stale-on-error) or FallbackServed as well.
//
// Embed NopRecorder in an implementation to keep it compiling when methods
// are added.
type Recorder interface {
	// CacheHit: fresh content served from the cache.
	CacheHit(tile string)
	// CacheMiss: nothing fresh (or servable while revalidating) was cached,
	// so the request waits for the backend.
	CacheMiss(tile string)
	// StaleServed: content past its TTL was served, marked stale.
	StaleServed(tile string)
	// FallbackServed: the tile's static default was served.
	FallbackServed(tile string)
	// Coalesced: a request was answered by a backend fetch that another
	// request had started, instead of making its own.
	Coalesced(tile string)
	// Refreshed: a background refresh (stale-while-revalidate) ended, with
	// err nil on success.
	Refreshed(tile string, err error)
	// BackendFetch: one attempt at the backend ended after elapsed, with err
	// nil on success (a hedge's loser ends with a cancellation error). ctx
	// is the attempt's: with tracing it carries its span (for exemplars).
	BackendFetch(ctx context.Context, tile string, elapsed time.Duration, err error)
	// Detached: a fetch that may outlive its callers started (delta 1) or
	// ended (delta -1).
	Detached(tile string, delta int)
	// DetachedCapped: MaxDetached such fetches were running, so a shared
	// fetch ran under its caller's context, or a refresh was skipped.
	DetachedCapped(tile string)
	// Abandoned: a shared fetch was cancelled because its last waiter left
	// and nobody else would read its result (a personalised key, or a tile
	// without a cache).
	Abandoned(tile string)
	// BulkheadFull: a request to the backend was refused because
	// Policy.Bulkhead were in flight.
	BulkheadFull(tile string)
	// Revalidated: the backend confirmed cached content unchanged (HTTP
	// 304), which renewed the entry without a body.
	Revalidated(tile string)
	// HedgeStarted: a second attempt was started because the first was slow.
	HedgeStarted(tile string)
	// HedgeWon: the hedged attempt answered first.
	HedgeWon(tile string)
	// BreakerState: the tile's circuit breaker is now in state. Called once
	// by Wrap with BreakerClosed for tiles that have a breaker, then on each
	// change. The change from open to half-open is noticed, and so reported,
	// at the first request after the open period.
	BreakerState(tile string, state BreakerState)
}

// NopRecorder is a Recorder that records nothing. Its zero value is ready.
type NopRecorder struct{}

var _ Recorder = NopRecorder{}

func (NopRecorder) CacheHit(string)                                            {}
func (NopRecorder) CacheMiss(string)                                           {}
func (NopRecorder) StaleServed(string)                                         {}
func (NopRecorder) FallbackServed(string)                                      {}
func (NopRecorder) Coalesced(string)                                           {}
func (NopRecorder) Refreshed(string, error)                                    {}
func (NopRecorder) BackendFetch(context.Context, string, time.Duration, error) {}
func (NopRecorder) Detached(string, int)                                       {}
func (NopRecorder) DetachedCapped(string)                                      {}
func (NopRecorder) Abandoned(string)                                           {}
func (NopRecorder) HedgeStarted(string)                                        {}
func (NopRecorder) BulkheadFull(string)                                        {}
func (NopRecorder) Revalidated(string)                                         {}
func (NopRecorder) HedgeWon(string)                                            {}
func (NopRecorder) BreakerState(string, BreakerState)                          {}
