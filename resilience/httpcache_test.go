package resilience

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// validating is a fake HTTP-like backend: it answers version v of its
// content with the caching it is told, and "not modified" to a request
// whose validators match v. It records the validators of each request.
type validating struct {
	mu      sync.Mutex
	version string
	cache   tiles.Caching // without validators: they are the version's
	seen    []tiles.Validators
}

func (v *validating) fetcher() *tilestest.Fetcher {
	return &tilestest.Fetcher{TileName: "products", FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		if err := tiles.Wait(ctx, 10*time.Millisecond); err != nil {
			return tiles.Outcome{}, err
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		v.seen = append(v.seen, req.Validators)
		c := v.cache
		c.Validators = tiles.Validators{ETag: `"` + v.version + `"`}
		if req.Validators.ETag == c.ETag {
			return tiles.Outcome{NotModified: true, Cache: c}, nil
		}
		out := tiles.Fresh(tilestest.String(v.version))
		out.Cache = c
		return out, nil
	}}
}

func (v *validating) set(version string, c tiles.Caching) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.version, v.cache = version, c
}

func (v *validating) requests() []tiles.Validators {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]tiles.Validators(nil), v.seen...)
}

// TestBackendFreshness: with BackendTTL, a backend's max-age replaces the
// policy's TTL, no-store is never cached (and drops an older copy), and an
// answer that says nothing keeps the TTL. Without BackendTTL the policy's
// TTL is pinned whatever the backend says.
func TestBackendFreshness(t *testing.T) {
	tests := []struct {
		name       string
		backendTTL bool
		cache      tiles.Caching
		after      time.Duration // when the second fetch comes
		wantCalls  int
	}{
		{"max-age longer than the TTL keeps it fresh", true, tiles.Caching{Set: true, MaxAge: 5 * time.Minute}, 2 * time.Minute, 1},
		{"max-age shorter than the TTL expires it", true, tiles.Caching{Set: true, MaxAge: 10 * time.Second}, 20 * time.Second, 2},
		{"a year's max-age is fresh within MaxTTL", true, tiles.Caching{Set: true, MaxAge: 365 * 24 * time.Hour},
			DefaultMaxTTL - time.Second, 1},
		{"a year's max-age is capped at MaxTTL", true, tiles.Caching{Set: true, MaxAge: 365 * 24 * time.Hour},
			DefaultMaxTTL, 2},
		{"no-store is never cached", true, tiles.Caching{Set: true, NoStore: true}, time.Second, 2},
		{"nothing said: the TTL", true, tiles.Caching{}, 30 * time.Second, 1},
		{"pinned TTL ignores max-age", false, tiles.Caching{Set: true, MaxAge: 10 * time.Second}, 20 * time.Second, 1},
		{"pinned TTL ignores no-store", false, tiles.Caching{Set: true, NoStore: true}, time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &validating{version: "v1", cache: tt.cache}
				f := b.fetcher()
				// No stale serving: the second fetch is fresh or a miss.
				tile := Wrap(f, Policy{TTL: time.Minute, BackendTTL: tt.backendTTL}, Options{})
				defer tile.Close()
				for i := range 2 {
					out, err := tile.Fetch(t.Context(), tiles.Request{})
					if err != nil || out.Status != tiles.StatusOK {
						t.Fatalf("fetch %d: %+v, %v; want ok", i, out, err)
					}
					time.Sleep(tt.after)
				}
				if got := int(f.Calls()); got != tt.wantCalls {
					t.Errorf("backend calls: got %d; want %d", got, tt.wantCalls)
				}
			})
		})
	}
}

// TestMaxTTLBoundsSharedEntries: a backend's max-age of a year is fresh
// for MaxTTL at most, in memory and in the shared tier, which forgets the
// entry MaxStale later.
func TestMaxTTLBoundsSharedEntries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := &validating{version: "v1", cache: tiles.Caching{Set: true, MaxAge: 31536000 * time.Second}}, newSharedTier()
		f := b.fetcher()
		p := Policy{TTL: time.Minute, MaxStale: time.Minute, BackendTTL: true, MaxTTL: 5 * time.Minute}
		tile := Wrap(f, p, Options{Shared: tier})
		defer tile.Close()
		for _, after := range []time.Duration{0, 5*time.Minute - time.Second, 2 * time.Second} {
			time.Sleep(after)
			if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.Calls(); got != 2 {
			t.Errorf("backend calls within and past MaxTTL: got %d; want 2", got)
		}
		tier.mu.Lock()
		defer tier.mu.Unlock()
		for k, e := range tier.entries {
			if fresh, kept := e.FreshUntil.Sub(e.FetchedAt), e.StaleUntil.Sub(e.FetchedAt); fresh != 5*time.Minute ||
				kept != 6*time.Minute {
				t.Errorf("tier entry %q fresh for %v, kept for %v; want fresh 5m, kept 6m", k, fresh, kept)
			}
		}
	})
}

// TestNoStoreDropsOlderCopy: once the backend says no-store, content it
// gave earlier is not served stale either.
func TestNoStoreDropsOlderCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &validating{version: "v1"}
		f := b.fetcher()
		tile := Wrap(f, Policy{TTL: time.Minute, MaxStale: time.Hour, BackendTTL: true}, Options{})
		defer tile.Close()
		if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		b.set("v2", tiles.Caching{Set: true, NoStore: true})
		if out, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil || string(out.Data) != text("v2") {
			t.Fatalf("refetch: %+v, %v; want v2", out, err)
		}
		// The backend now fails: nothing may be served from the cache.
		f.FetchFn = func(context.Context, tiles.Request) (tiles.Outcome, error) { return tiles.Outcome{}, errBackend }
		if out, err := tile.Fetch(t.Context(), tiles.Request{}); !errors.Is(err, errBackend) {
			t.Errorf("after no-store and a failure: %+v, %v; want the backend's error, no stale copy", out, err)
		}
	})
}

// TestRevalidation: an expired entry is refreshed with its validators, and
// a "not modified" answer renews it (same content, fresh again, counted)
// without the backend sending it again; a changed version replaces it.
func TestRevalidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &validating{version: "v1"}
		rec := newRecorder()
		tile := Wrap(b.fetcher(), Policy{TTL: time.Minute}, Options{Recorder: rec})
		defer tile.Close()
		fetch := func(want string) {
			t.Helper()
			out, err := tile.Fetch(t.Context(), tiles.Request{})
			if err != nil || out.Status != tiles.StatusOK || string(out.Data) != text(want) {
				t.Fatalf("fetch: %+v, %v; want ok %s", out, err, want)
			}
		}
		fetch("v1")
		time.Sleep(61 * time.Second)
		fetch("v1") // a miss (no stale serving): revalidated, not modified
		fetch("v1") // fresh again: no backend call
		time.Sleep(61 * time.Second)
		b.set("v2", tiles.Caching{})
		fetch("v2")
		want := []tiles.Validators{{}, {ETag: `"v1"`}, {ETag: `"v1"`}}
		got := b.requests()
		if len(got) != len(want) {
			t.Fatalf("backend requests: got %v; want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("request %d validators: got %+v; want %+v", i, got[i], want[i])
			}
		}
		if got := rec.Count("Revalidated"); got != 1 {
			t.Errorf("Revalidated: got %d; want 1", got)
		}
	})
}

// TestNoCacheRevalidatesBeforeServing: content the backend gave max-age=0
// (no-cache) is revalidated on every request, never served stale while a
// refresh runs.
func TestNoCacheRevalidatesBeforeServing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &validating{version: "v1", cache: tiles.Caching{Set: true}}
		f := b.fetcher()
		tile := Wrap(f, Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute, MaxStale: time.Minute, BackendTTL: true}, Options{})
		defer tile.Close()
		for i := range 3 {
			out, err := tile.Fetch(t.Context(), tiles.Request{})
			if err != nil || out.Status != tiles.StatusOK {
				t.Fatalf("fetch %d: %+v, %v; want ok (revalidated), never stale", i, out, err)
			}
		}
		if got := f.Calls(); got != 3 {
			t.Errorf("backend calls: got %d; want 3 (one revalidation per request)", got)
		}
	})
}

// TestNotModifiedWithoutCopy: a 304 to a request that had nothing to
// revalidate is the tile's error, not empty content.
func TestNotModifiedWithoutCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := tilestest.Serving("products", tiles.Outcome{NotModified: true})
		for _, p := range []Policy{{TTL: time.Minute}, {Direct: true}} {
			tile := Wrap(f, p, Options{})
			out, err := tile.Fetch(t.Context(), tiles.Request{})
			if err == nil {
				t.Errorf("policy %+v: got %+v; want an error", p, out)
			}
			tile.Close()
		}
	})
}

// TestBulkhead: past Policy.Bulkhead requests in flight to the backend,
// a request is refused at once, answered from the fallback, counted; the
// breaker does not count refusals as failures.
func TestBulkhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(time.Second, "v1")
		rec := newRecorder()
		tile := Wrap(b.fetcher("products"), Policy{Direct: true, Bulkhead: 2, BreakerFailures: 1,
			Fallback: tilestest.String("default")}, Options{Recorder: rec})
		defer tile.Close()
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if out, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil || out.Status != tiles.StatusOK {
					t.Errorf("within the bulkhead: %+v, %v; want ok", out, err)
				}
			})
		}
		synctest.Wait() // both are in flight
		start := time.Now()
		out, err := tile.Fetch(t.Context(), tiles.Request{})
		if err != nil || out.Status != tiles.StatusFallback || !errors.Is(out.Cause, ErrBulkheadFull) {
			t.Errorf("past the bulkhead: %+v, %v; want the fallback, caused by ErrBulkheadFull", out, err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("refusal took %s; want at once", d)
		}
		wg.Wait()
		if got := rec.Count("BulkheadFull"); got != 1 {
			t.Errorf("BulkheadFull: got %d; want 1", got)
		}
		if got := b.Calls(); got != 2 {
			t.Errorf("backend calls: got %d; want 2", got)
		}
		// The refusal did not open the one-failure breaker.
		if out, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil || out.Status != tiles.StatusOK {
			t.Errorf("after a refusal: %+v, %v; want ok (breaker still closed)", out, err)
		}
	})
}

// TestGoneDoesNotTripBreaker: a backend's 404 or 410 is an answer, not a
// failure: it never opens the breaker, while a 503 does.
func TestGoneDoesNotTripBreaker(t *testing.T) {
	for _, tt := range []struct {
		code      int
		wantCalls int64
	}{{404, 3}, {410, 3}, {503, 1}} {
		synctest.Test(t, func(t *testing.T) {
			f := tilestest.Failing("products", &tiles.BackendError{Tile: "products", Code: tt.code})
			tile := Wrap(f, Policy{Direct: true, BreakerFailures: 1}, Options{})
			defer tile.Close()
			for range 3 {
				tile.Fetch(t.Context(), tiles.Request{})
			}
			if got := f.Calls(); got != tt.wantCalls {
				t.Errorf("%d: backend calls: got %d; want %d", tt.code, got, tt.wantCalls)
			}
		})
	}
}
