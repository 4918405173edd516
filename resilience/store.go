package resilience

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/maypok86/otter/v2"

	"vitrine/tiles"
)

// DefaultMaxTTL is the default of Policy.MaxTTL.
const DefaultMaxTTL = 10 * time.Minute

// store is the layer that caches the backend's answers, for TTL or, with
// BackendTTL, as the backend says (no-store drops the entry) but fresh for
// MaxTTL at most, and says how in its Outcome's Cache (for the sharing
// layer, which keeps an entry MaxStale past that freshness). It sends the entry's
// validators, so that a "not modified" (HTTP 304) renews the entry.
type store struct {
	base
	cache        *otter.Cache[string, *entry] // nil without a cache
	personalised bool
	ttl, maxTTL  time.Duration
	backendTTL   bool
}

func (s *store) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	key := cacheKey(s.personalised, req)
	var prior *entry
	if s.cache != nil {
		if prior, _ = s.cache.GetIfPresent(key); prior != nil {
			req.Validators = prior.Validators
		}
	}
	out, err := s.next.Fetch(ctx, req)
	if err != nil {
		return tiles.Outcome{}, err
	}
	e := &entry{data: out.Data, at: time.Now(), ttl: s.ttl, tags: out.Cache.Tags, Validators: out.Cache.Validators}
	if out.NotModified {
		if prior == nil {
			return tiles.Outcome{}, fmt.Errorf("%s: the backend answered 304 Not Modified "+
				"to a request that had nothing to revalidate", s.name)
		}
		s.rec.Revalidated(s.name)
		e.data, e.Validators = prior.data, cmp.Or(e.Validators, prior.Validators)
		if e.tags == nil {
			e.tags = prior.tags
		}
	}
	if s.cache == nil {
		return tiles.Outcome{Data: e.data, Status: tiles.StatusOK, Cookies: out.Cookies}, nil
	}
	// An answer that sets cookies may be one shopper's: not stored (as Varnish does).
	noStore := s.backendTTL && out.Cache.Set && out.Cache.NoStore || len(out.Cookies) > 0
	if s.backendTTL && out.Cache.Set {
		e.ttl = min(out.Cache.MaxAge, s.maxTTL)
	}
	if noStore {
		s.cache.Invalidate(key) // an older copy must not be served either
	} else {
		s.cache.Set(key, e)
	}
	return tiles.Outcome{Data: e.data, Status: tiles.StatusOK,
		Cache: tiles.Caching{Set: true, MaxAge: e.ttl, NoStore: noStore, Validators: e.Validators,
			Tags: e.tags},
		Cookies: out.Cookies}, nil
}
