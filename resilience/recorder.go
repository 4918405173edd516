package resilience

import (
	"context"
	"time"
)

// Recorder is told what the layers do, for metrics. Its methods are called
// concurrently, on the hot path or under the breaker's lock: they must be
// quick and must not call back into a Tile. Each Fetch of a caching tile
// counts exactly one of CacheHit, StaleServed or CacheMiss; a miss may then
// end in StaleServed (stale-on-error) or FallbackServed. Embed NopRecorder
// to keep compiling when methods are added.
type Recorder interface {
	CacheHit(tile string)             // fresh content served from the cache
	CacheMiss(tile string)            // nothing servable cached: the request waits for a fetch
	StaleServed(tile string)          // content past its TTL served, marked stale
	FallbackServed(tile string)       // the tile's static default served
	Coalesced(tile string)            // a request answered by a fetch another request started
	Refreshed(tile string, err error) // a background refresh ended, err nil on success
	// BackendFetch: an attempt at the backend ended after elapsed, err nil on
	// success. ctx is the attempt's: it carries its span (for exemplars).
	BackendFetch(ctx context.Context, tile string, elapsed time.Duration, err error)
	Detached(tile string, delta int) // a fetch that may outlive its callers started (1) or ended (-1)
	DetachedCapped(tile string)      // MaxDetached ran: a flight ran on its caller's context, or no refresh
	Abandoned(tile string)           // a flight cancelled: its last waiter left, nobody else would read it
	BulkheadFull(tile string)        // a request refused: Policy.Bulkhead were in flight to the backend
	Revalidated(tile string)         // the backend confirmed cached content unchanged (HTTP 304)
	ForwardUncached(tile string)     // fetched, not cached: past Policy.ForwardMax forwarded values
	HedgeStarted(tile string)        // a second attempt started because the first was slow
	HedgeWon(tile string)            // the second attempt answered first
	// BreakerState: the tile's breaker is now in state: closed from Wrap,
	// then on each change (to half-open at the first request after BreakerOpen).
	BreakerState(tile string, state BreakerState)
}

// NopRecorder is a Recorder that records nothing. Its zero value is ready.
type NopRecorder struct{}

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
func (NopRecorder) ForwardUncached(string)                                     {}
func (NopRecorder) HedgeWon(string)                                            {}
func (NopRecorder) BreakerState(string, BreakerState)                          {}
