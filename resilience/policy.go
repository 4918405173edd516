package resilience

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"vitrine/tiles"
)

// Policy says which layers a tile has and how each behaves (see each
// layer's file). Its zero value only coalesces concurrent identical
// fetches. A zero duration switches a feature off unless said otherwise.
type Policy struct {
	TTL                  time.Duration   // fresh from the memory cache this long (memory.go); 0: no cache
	StaleWhileRevalidate time.Duration   // past TTL, served at once while a refresh runs; at most MaxStale
	MaxStale             time.Duration   // past TTL, served if a fresh fetch fails, times out or is refused
	MaxEntries           int             // bounds the cache; 0: DefaultMaxEntries
	MaxBytes             int64           // bounds the cache's weight (memory.go); 0: DefaultMaxBytes
	Personalised         bool            // cached per Request.User, else under one key for everyone
	Direct               bool            // a miss fetches on its caller's context (coalesce.go); TTL 0: cache off
	FetchTimeout         time.Duration   // bounds a flight (coalesce.go), above the tile timeout; 0: the default
	HedgeDelay           time.Duration   // an attempt unanswered this long gets a second (hedge.go); 0: no hedging
	HedgeAdaptive        bool            // the delay is the recent p95 latency, in [HedgeMin, HedgeMax]
	HedgeMin, HedgeMax   time.Duration   // bounds of the adaptive delay
	HedgeCap             float64         // the largest share of fetches hedged, in (0, 1]; 0: DefaultHedgeCap
	BreakerFailures      int             // consecutive failures that open the breaker (breaker.go); 0: no breaker
	BreakerOpen          time.Duration   // how long it stays open; 0: DefaultBreakerOpen
	BreakerProbes        int             // fetches the half-open breaker lets through; 0: 1
	MaxDetached          int             // fetches outliving their callers (background.go); 0: DefaultMaxDetached
	Bulkhead             int             // requests in flight to the backend (bulkhead.go); 0: DefaultBulkhead
	BackendTTL           bool            // the backend's Cache-Control sets freshness, in place of TTL (store.go)
	MaxTTL               time.Duration   // caps the backend's freshness (store.go); 0: DefaultMaxTTL
	SharedWait           time.Duration   // a miss waits for another replica's fetch (shared.go); 0: FetchTimeout/4
	Fallback             json.RawMessage // served when nothing fresh or stale enough can be (fallback.go)
	Forward              tiles.Forward   // the shopper's values the tile receives: part of its key (forward.go)
	ForwardMax           int             // distinct forwarded values cached (forward.go); 0: DefaultForwardMax
	Tags                 []string        // carried by every entry of the tile, as its name is (purge.go)
	Params               []string        // the page parameters its URL uses: their values are part of its key
}

// DefaultPolicy returns the policy that suits a tile whose backend answers
// in about latency: TTL 30s (60s if personalised), stale while revalidating
// for one more TTL and on failure for 10m, a backend's freshness capped at
// DefaultMaxTTL; hedging at the p95 within 1.25x to 4x latency; a breaker
// that opens after 5 failures for 5s; the other knobs at their defaults. No
// fallback: the caller knows the tile's.
func DefaultPolicy(latency time.Duration, personalised bool) Policy {
	// An absurd latency (hours) must not overflow the hedge bounds below.
	latency = min(latency, time.Hour)
	ttl := 30 * time.Second
	if personalised {
		ttl = 60 * time.Second
	}
	return Policy{
		TTL: ttl, StaleWhileRevalidate: ttl, MaxStale: 10 * time.Minute, MaxEntries: DefaultMaxEntries,
		Personalised: personalised, FetchTimeout: DefaultFetchTimeout, MaxDetached: DefaultMaxDetached,
		HedgeAdaptive: true, HedgeCap: DefaultHedgeCap, MaxBytes: DefaultMaxBytes,
		HedgeMin: max(latency*5/4, 10*time.Millisecond), HedgeMax: max(latency*4, 40*time.Millisecond),
		BreakerFailures: 5, BreakerOpen: DefaultBreakerOpen, BreakerProbes: 1, MaxTTL: DefaultMaxTTL,
	}
}

// describe says what p does, for GET /tiles.
func (p Policy) describe() tiles.PolicyInfo {
	info := tiles.PolicyInfo{
		TTL: p.TTL, MaxStale: p.MaxStale, Coalesced: !p.Direct, Hedge: "off", BreakerFailures: p.BreakerFailures,
		MaxDetached: p.MaxDetached, Bulkhead: p.Bulkhead, BackendTTL: p.BackendTTL, Fallback: p.Fallback != nil,
	}
	if p.BackendTTL {
		info.MaxTTL = p.MaxTTL
	}
	switch {
	case p.HedgeAdaptive:
		info.Hedge = fmt.Sprintf("p95, within %s to %s", p.HedgeMin, p.HedgeMax)
	case p.HedgeDelay > 0:
		info.Hedge = "after " + p.HedgeDelay.String()
	}
	return info
}

// Validate reports every field of p that makes no sense, naming each, so
// that a configuration layer can reject it before anything runs.
func (p Policy) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"TTL", p.TTL}, {"StaleWhileRevalidate", p.StaleWhileRevalidate}, {"MaxStale", p.MaxStale},
		{"FetchTimeout", p.FetchTimeout}, {"HedgeDelay", p.HedgeDelay}, {"HedgeMin", p.HedgeMin},
		{"HedgeMax", p.HedgeMax}, {"BreakerOpen", p.BreakerOpen}, {"SharedWait", p.SharedWait},
		{"MaxTTL", p.MaxTTL},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative; got %s", d.name, d.v))
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"MaxEntries", p.MaxEntries}, {"MaxDetached", p.MaxDetached}, {"Bulkhead", p.Bulkhead},
		{"ForwardMax", p.ForwardMax}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative; got %d", n.name, n.v))
		}
	}
	if p.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxBytes must not be negative; got %d", p.MaxBytes))
	}
	if p.HedgeCap < 0 || p.HedgeCap > 1 {
		errs = append(errs, fmt.Errorf("HedgeCap must be in [0, 1]; got %g", p.HedgeCap))
	}
	if p.HedgeAdaptive && (p.HedgeMin <= 0 || p.HedgeMax < p.HedgeMin) {
		errs = append(errs, fmt.Errorf("adaptive hedging needs 0 < HedgeMin <= HedgeMax; got %s and %s",
			p.HedgeMin, p.HedgeMax))
	}
	if p.BreakerFailures < 0 || p.BreakerProbes < 0 {
		errs = append(errs, fmt.Errorf("BreakerFailures and BreakerProbes must not be negative; got %d and %d",
			p.BreakerFailures, p.BreakerProbes))
	}
	return errors.Join(errs...)
}

// withDefaults fills the fields whose zero value means "the default".
func (p Policy) withDefaults() Policy {
	p.MaxEntries = cmp.Or(p.MaxEntries, DefaultMaxEntries)
	p.MaxBytes = cmp.Or(p.MaxBytes, DefaultMaxBytes)
	p.MaxDetached = cmp.Or(p.MaxDetached, DefaultMaxDetached)
	p.Bulkhead = cmp.Or(p.Bulkhead, DefaultBulkhead)
	p.FetchTimeout = cmp.Or(p.FetchTimeout, DefaultFetchTimeout)
	p.HedgeCap = cmp.Or(p.HedgeCap, DefaultHedgeCap)
	p.BreakerOpen = cmp.Or(p.BreakerOpen, DefaultBreakerOpen)
	p.BreakerProbes = cmp.Or(p.BreakerProbes, 1)
	p.SharedWait = cmp.Or(p.SharedWait, p.FetchTimeout/4)
	p.MaxTTL = cmp.Or(p.MaxTTL, DefaultMaxTTL)
	p.ForwardMax = cmp.Or(p.ForwardMax, DefaultForwardMax)
	p.StaleWhileRevalidate = min(p.StaleWhileRevalidate, p.MaxStale)
	return p
}
