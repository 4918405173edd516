package resilience

import (
	"context"
	"fmt"
	"time"

	"github.com/maypok86/otter/v2"

	"vitrine/tiles"
)

// store is the layer that keeps the backend's answers. It sends the cached
// entry's validators, so that the backend may answer "not modified" (HTTP
// 304), which renews the entry. It caches each answer for TTL or, with
// BackendTTL, as the backend says (max-age; no-store drops the entry), and
// says how in its Outcome's Cache, for the sharing layer. Without a cache
// it only checks that a 304 had something to revalidate.
type store struct {
	base
	cache        *otter.Cache[string, *entry] // nil without a cache
	personalised bool
	ttl          time.Duration
	backendTTL   bool
}

func (s *store) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	var key string
	var prior *entry
	if s.cache != nil {
		key = cacheKey(s.personalised, req)
		if e, ok := s.cache.GetIfPresent(key); ok {
			prior, req.Validators = e, e.Validators
		}
	}
	out, err := s.next.Fetch(ctx, req)
	if err != nil {
		return tiles.Outcome{}, err
	}
	e := &entry{data: out.Data, at: time.Now(), ttl: s.ttl, Validators: out.Cache.Validators}
	if out.NotModified {
		if prior == nil {
			return tiles.Outcome{}, fmt.Errorf("%s: the backend answered 304 Not Modified "+
				"to a request that had nothing to revalidate", s.name)
		}
		s.rec.Revalidated(s.name)
		e.data = prior.data
		if e.Validators == (tiles.Validators{}) {
			e.Validators = prior.Validators
		}
	}
	if s.cache == nil {
		return tiles.Fresh(e.data), nil
	}
	noStore := s.backendTTL && out.Cache.Set && out.Cache.NoStore
	if s.backendTTL && out.Cache.Set {
		e.ttl = out.Cache.MaxAge
	}
	if noStore {
		s.cache.Invalidate(key) // an older copy must not be served either
	} else {
		s.cache.Set(key, e)
	}
	return tiles.Outcome{Data: e.data, Status: tiles.StatusOK,
		Cache: tiles.Caching{Set: true, MaxAge: e.ttl, NoStore: noStore, Validators: e.Validators}}, nil
}
