package resilience

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"vitrine/tiles"
)

// Policy says how one tile is cached, coalesced, hedged, guarded by a
// breaker and rescued. Its zero value fetches every time, hedges never and
// has no breaker: only coalescing of concurrent identical fetches remains.
// Durations of zero switch a feature off unless said otherwise below.
type Policy struct {
	// TTL is how long fetched content is fresh and served from the cache
	// without calling the backend. Zero disables the cache, and with it
	// every kind of stale serving.
	TTL time.Duration
	// StaleWhileRevalidate is how long past its TTL an entry is still
	// served at once, marked stale, while one background fetch refreshes
	// it. Zero makes a request after the TTL wait for a fresh fetch (and
	// fall back on the entry only if that fails). Capped at MaxStale.
	StaleWhileRevalidate time.Duration
	// MaxStale is how long past its TTL an entry may still be served when a
	// fresh fetch fails, times out or is refused by the open breaker. An
	// older entry is never served.
	MaxStale time.Duration
	// MaxEntries bounds the cache, and so its memory, however many users
	// there are. Zero means DefaultMaxEntries.
	MaxEntries int
	// Personalised tiles are cached per Request.User; the others under one
	// key for everyone.
	Personalised bool

	// Direct makes a miss fetch on the caller's own goroutine, under the
	// caller's context, without coalescing: every request is its own backend
	// fetch. With TTL 0 it is the "cache off" mode, where Vitrine does the
	// same work per page as a plain fan-out (hedging, the breaker and the
	// fallback still apply).
	Direct bool

	// FetchTimeout bounds a backend fetch that no single caller owns: a
	// coalesced fetch shared by several callers, or a background refresh.
	// It is detached from the callers' contexts so that one caller leaving
	// does not cancel it for the others, and so that a fetch that outlives
	// a caller's deadline still fills the cache; it is cancelled when its
	// last waiter leaves and nobody else would read it (a personalised key,
	// or TTL 0). Zero means DefaultFetchTimeout; it should exceed the
	// aggregator's tile timeout.
	FetchTimeout time.Duration

	// HedgeDelay is how long a backend fetch may go unanswered before a
	// second, hedged attempt is started ("The Tail at Scale"). Zero
	// disables hedging unless HedgeAdaptive is set.
	HedgeDelay time.Duration
	// HedgeAdaptive makes the hedge delay follow the tile's own p95 latency
	// over its recent successful fetches, clamped to [HedgeMin, HedgeMax]
	// (HedgeMax until enough fetches have been seen, and while fewer than
	// 2 of the last 20 hedges won). It overrides HedgeDelay.
	HedgeAdaptive bool
	HedgeMin      time.Duration
	HedgeMax      time.Duration
	// HedgeCap is the largest share of fetches that may be hedged, in
	// (0, 1]: the extra load hedging adds is at most this share. Zero means
	// DefaultHedgeCap.
	HedgeCap float64

	// BreakerFailures is how many consecutive failed fetches open the
	// circuit breaker; while open, the backend is not called and requests
	// are answered at once (stale, fallback or a "circuit open" error).
	// Zero disables the breaker.
	BreakerFailures int
	// BreakerOpen is how long the breaker stays open before it lets probes
	// through (half-open). Zero means DefaultBreakerOpen.
	BreakerOpen time.Duration
	// BreakerProbes is how many fetches the half-open breaker lets through;
	// that many successes in a row close it, one failure opens it again.
	// Zero means 1.
	BreakerProbes int

	// MaxDetached bounds the fetches of this tile that may outlive their
	// callers (shared fetches and background refreshes), so that a flood of
	// new keys (unique users) cannot amplify into the backend. Past it, a
	// shared fetch runs under the context of the caller that started it and
	// a refresh is skipped. Zero means DefaultMaxDetached.
	MaxDetached int

	// Bulkhead bounds the requests in flight to the tile's backend, hedges
	// and refreshes included: past it a request is refused at once (and
	// the tile answers from stale content or its fallback), so a slow
	// backend cannot tie up every connection and goroutine. Zero means
	// DefaultBulkhead.
	Bulkhead int

	// BackendTTL lets the backend's Cache-Control set each entry's
	// freshness (max-age; no-store is never cached) in place of TTL, which
	// then applies only to answers that say nothing. It needs TTL > 0: a
	// tile whose cache is off stays off.
	BackendTTL bool

	// SharedWait is how long a miss that finds another replica fetching
	// the key (it holds the shared tier's lease) waits for that replica's
	// answer before fetching itself. Zero means a quarter of FetchTimeout.
	// Only with Options.Shared.
	SharedWait time.Duration

	// Fallback, if set, is the tile's last resort when there is nothing
	// fresh or stale enough to serve: a static default (for
	// recommendations, the bestsellers), served with status "fallback".
	Fallback json.RawMessage
}

// DefaultPolicy returns the policy that suits a tile whose backend answers
// in about latency (pass the configured latency, so that the hedge bounds
// follow it):
//
//   - TTL 30s (60s for a personalised tile: per-user entries are each hit
//     less often), served stale while a background refresh runs for one
//     more TTL, and on failure for up to MaxStale 10m past expiry; at most
//     10,000 entries.
//   - Shared fetches bounded by 2s, at most 100 of them detached at once.
//   - Adaptive hedging at the tile's observed p95, clamped to 1.25x to 4x
//     latency (at least 10ms), on at most 10% of fetches, at 4x while
//     hedges rarely win.
//   - At most 1,024 requests in flight to the backend (the bulkhead).
//   - A breaker that opens after 5 consecutive failures, for 5s, then lets
//     1 probe through.
//
// No fallback: that is the tile's content, which the caller knows.
func DefaultPolicy(latency time.Duration, personalised bool) Policy {
	// An absurd latency (hours) must not overflow the hedge bounds below.
	latency = min(latency, time.Hour)
	ttl := 30 * time.Second
	if personalised {
		ttl = 60 * time.Second
	}
	return Policy{
		TTL:                  ttl,
		StaleWhileRevalidate: ttl,
		MaxStale:             10 * time.Minute,
		MaxEntries:           DefaultMaxEntries,
		Personalised:         personalised,
		FetchTimeout:         DefaultFetchTimeout,
		MaxDetached:          DefaultMaxDetached,
		HedgeAdaptive:        true,
		HedgeMin:             max(latency*5/4, 10*time.Millisecond),
		HedgeMax:             max(latency*4, 40*time.Millisecond),
		HedgeCap:             DefaultHedgeCap,
		BreakerFailures:      5,
		BreakerOpen:          DefaultBreakerOpen,
		BreakerProbes:        1,
	}
}

// describe says what p does, for GET /tiles.
func (p Policy) describe() tiles.PolicyInfo {
	info := tiles.PolicyInfo{
		TTL:             p.TTL,
		MaxStale:        p.MaxStale,
		Coalesced:       !p.Direct,
		Hedge:           "off",
		BreakerFailures: p.BreakerFailures,
		MaxDetached:     p.MaxDetached,
		Bulkhead:        p.Bulkhead,
		BackendTTL:      p.BackendTTL,
		Fallback:        p.Fallback != nil,
	}
	switch {
	case p.HedgeAdaptive:
		info.Hedge = fmt.Sprintf("p95, within %s to %s", p.HedgeMin, p.HedgeMax)
	case p.HedgeDelay > 0:
		info.Hedge = "after " + p.HedgeDelay.String()
	}
	return info
}

// Validate reports every field of p that makes no sense, each naming its
// field, so that a configuration layer can reject a bad flag before
// anything runs.
func (p Policy) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"TTL", p.TTL}, {"StaleWhileRevalidate", p.StaleWhileRevalidate},
		{"MaxStale", p.MaxStale}, {"FetchTimeout", p.FetchTimeout},
		{"HedgeDelay", p.HedgeDelay}, {"HedgeMin", p.HedgeMin},
		{"HedgeMax", p.HedgeMax}, {"BreakerOpen", p.BreakerOpen},
		{"SharedWait", p.SharedWait},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative; got %s", d.name, d.v))
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"MaxEntries", p.MaxEntries}, {"MaxDetached", p.MaxDetached}, {"Bulkhead", p.Bulkhead}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative; got %d", n.name, n.v))
		}
	}
	if p.HedgeCap < 0 || p.HedgeCap > 1 {
		errs = append(errs, fmt.Errorf("HedgeCap must be in [0, 1]; got %g", p.HedgeCap))
	}
	if p.HedgeAdaptive && (p.HedgeMin <= 0 || p.HedgeMax < p.HedgeMin) {
		errs = append(errs, fmt.Errorf("adaptive hedging needs 0 < HedgeMin <= HedgeMax; got %s and %s", p.HedgeMin, p.HedgeMax))
	}
	if p.BreakerFailures < 0 || p.BreakerProbes < 0 {
		errs = append(errs, fmt.Errorf("BreakerFailures and BreakerProbes must not be negative; got %d and %d", p.BreakerFailures, p.BreakerProbes))
	}
	return errors.Join(errs...)
}

// withDefaults fills the fields whose zero value means "the default".
func (p Policy) withDefaults() Policy {
	if p.MaxEntries == 0 {
		p.MaxEntries = DefaultMaxEntries
	}
	if p.MaxDetached == 0 {
		p.MaxDetached = DefaultMaxDetached
	}
	if p.Bulkhead == 0 {
		p.Bulkhead = DefaultBulkhead
	}
	if p.FetchTimeout == 0 {
		p.FetchTimeout = DefaultFetchTimeout
	}
	if p.HedgeCap == 0 {
		p.HedgeCap = DefaultHedgeCap
	}
	if p.BreakerOpen == 0 {
		p.BreakerOpen = DefaultBreakerOpen
	}
	if p.BreakerProbes == 0 {
		p.BreakerProbes = 1
	}
	if p.SharedWait == 0 {
		p.SharedWait = p.FetchTimeout / 4
	}
	p.StaleWhileRevalidate = min(p.StaleWhileRevalidate, p.MaxStale)
	return p
}

// hedging reports whether p hedges at all.
func (p Policy) hedging() bool { return p.HedgeAdaptive || p.HedgeDelay > 0 }
