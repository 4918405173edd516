package resilience

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"

	"github.com/maypok86/otter/v2"
)

func TestFreshHit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(10*time.Millisecond, "v1")
		rec := newRecorder()
		tile := Wrap(b.fetcher("banners"), Policy{TTL: time.Minute}, Options{Recorder: rec})
		defer tile.Close()

		for i := range 2 {
			start := time.Now()
			got, err := tile.Fetch(t.Context(), tiles.Request{})
			if err != nil {
				t.Fatalf("fetch %d: %v", i, err)
			}
			if got.Status != tiles.StatusOK || string(got.Data) != text("v1/") || got.Age != 0 || got.Cause != nil {
				t.Errorf("fetch %d: got %+v; want fresh %s", i, got, text("v1/"))
			}
			if d := time.Since(start); i == 1 && d != 0 {
				t.Errorf("hit took %s; want 0 (no backend call)", d)
			}
		}
		if got, want := b.Calls(), 1; got != want {
			t.Errorf("backend calls: got %d; want %d", got, want)
		}
		if got, want := rec.Count("CacheHit"), 1; got != want {
			t.Errorf("CacheHit: got %d; want %d", got, want)
		}
		if got, want := rec.Count("CacheMiss"), 1; got != want {
			t.Errorf("CacheMiss: got %d; want %d", got, want)
		}
	})
}

func TestCacheKeys(t *testing.T) {
	tests := []struct {
		name         string
		personalised bool
		wantCalls    int
	}{
		{"personalised tile caches per user", true, 3},
		{"shared tile caches once for everyone", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBackend(time.Millisecond, "v")
				tile := Wrap(b.fetcher("t"), Policy{TTL: time.Minute, Personalised: tt.personalised}, Options{})
				defer tile.Close()
				for _, user := range []string{"ann", "bob", "", "ann", "bob", ""} {
					if _, err := tile.Fetch(t.Context(), tiles.Request{User: user}); err != nil {
						t.Fatal(err)
					}
				}
				if got := b.Calls(); got != tt.wantCalls {
					t.Errorf("backend calls: got %d; want %d", got, tt.wantCalls)
				}
			})
		})
	}
}

func TestNoCacheWhenTTLZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(time.Millisecond, "v")
		tile := Wrap(b.fetcher("t"), Policy{}, Options{})
		defer tile.Close()
		for range 3 {
			if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := b.Calls(), 3; got != want {
			t.Errorf("backend calls: got %d; want %d", got, want)
		}
	})
}

func TestStaleWhileRevalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(10*time.Millisecond, "v1")
		rec := newRecorder()
		p := Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute, MaxStale: 10 * time.Minute}
		tile := Wrap(b.fetcher("banners"), p, Options{Recorder: rec})
		defer tile.Close()
		if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
			t.Fatal(err)
		}

		time.Sleep(90 * time.Second) // past the TTL, within the revalidation window
		b.set(100*time.Millisecond, "v2", nil)
		const readers = 500
		var wg sync.WaitGroup
		results := make([]tiles.Outcome, readers)
		took := make([]time.Duration, readers)
		for i := range readers {
			wg.Go(func() {
				start := time.Now()
				results[i], _ = tile.Fetch(t.Context(), tiles.Request{})
				took[i] = time.Since(start)
			})
		}
		wg.Wait()
		for i, r := range results {
			if r.Status != tiles.StatusStale || string(r.Data) != text("v1/") || r.Age != 90*time.Second || r.Cause != nil {
				t.Fatalf("reader %d: got %s %s aged %s, cause %v; want stale %s aged 90s without cause", i, r.Status, r.Data, r.Age, r.Cause, text("v1/"))
			}
			if took[i] != 0 {
				t.Fatalf("reader %d waited %s; want 0: stale content is served at once", i, took[i])
			}
		}

		synctest.Wait() // the refresh is now blocked in the backend
		if got, want := b.Calls(), 2; got != want {
			t.Errorf("backend calls during refresh: got %d; want %d (one refresh for %d stale reads)", got, want, readers)
		}
		tile.Wait()
		if got, want := rec.Count("Refreshed"), 1; got != want {
			t.Errorf("Refreshed: got %d; want %d", got, want)
		}
		if got, want := rec.Count("StaleServed"), readers; got != want {
			t.Errorf("StaleServed: got %d; want %d", got, want)
		}
		got, err := tile.Fetch(t.Context(), tiles.Request{})
		if err != nil || got.Status != tiles.StatusOK || string(got.Data) != text("v2/") {
			t.Errorf("after refresh: got %s %s, %v; want fresh %s", got.Status, got.Data, err, text("v2/"))
		}
		if got, want := b.Calls(), 2; got != want {
			t.Errorf("backend calls: got %d; want %d", got, want)
		}
	})
}

func TestStaleOnFailure(t *testing.T) {
	const age = 2 * time.Minute
	tests := []struct {
		name      string
		latency   time.Duration
		err       error
		deadline  time.Duration // of the caller; 0 for none
		wantAge   time.Duration
		wantCause error
	}{
		{"error", 10 * time.Millisecond, errBackend, 0, age + 10*time.Millisecond, errBackend},
		{"timeout", time.Second, nil, 300 * time.Millisecond, age + 300*time.Millisecond, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBackend(0, "v1")
				rec := newRecorder()
				// No revalidation window: past its TTL an entry is served
				// only when a fresh fetch fails.
				p := Policy{TTL: time.Minute, MaxStale: 5 * time.Minute}
				tile := Wrap(b.fetcher("products"), p, Options{Recorder: rec})
				defer tile.Close()
				if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(age)

				b.set(tt.latency, "v2", tt.err)
				ctx := t.Context()
				if tt.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
					defer cancel()
				}
				start := time.Now()
				got, err := tile.Fetch(ctx, tiles.Request{})
				if err != nil {
					t.Fatalf("got error %v; want stale content", err)
				}
				if got.Status != tiles.StatusStale || string(got.Data) != text("v1/") {
					t.Fatalf("got %s %s; want stale %s", got.Status, got.Data, text("v1/"))
				}
				if got.Age != tt.wantAge {
					t.Errorf("age: got %s; want %s", got.Age, tt.wantAge)
				}
				if !errors.Is(got.Cause, tt.wantCause) {
					t.Errorf("cause: got %v; want one wrapping %v", got.Cause, tt.wantCause)
				}
				if took := time.Since(start); tt.deadline > 0 && took != tt.deadline {
					t.Errorf("answered after %s; want at the caller's deadline %s", took, tt.deadline)
				}
				if got, want := rec.Count("StaleServed"), 1; got != want {
					t.Errorf("StaleServed: got %d; want %d", got, want)
				}

				// The fetch the caller gave up on goes on and fills the cache.
				tile.Wait()
				got, err = tile.Fetch(t.Context(), tiles.Request{})
				if tt.err == nil && (err != nil || got.Status != tiles.StatusOK || string(got.Data) != text("v2/")) {
					t.Errorf("after the slow fetch ended: got %s %s, %v; want fresh %s", got.Status, got.Data, err, text("v2/"))
				}
			})
		})
	}
}

func TestMaxStale(t *testing.T) {
	tests := []struct {
		name      string
		age       time.Duration
		fallback  bool
		wantStale bool
	}{
		{"just within max-stale", 6*time.Minute - time.Nanosecond, false, true},
		{"at max-stale", 6 * time.Minute, false, false},
		{"far past max-stale", time.Hour, false, false},
		{"past max-stale with fallback", time.Hour, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBackend(0, "v1")
				// A revalidation window longer than MaxStale is capped by it.
				p := Policy{TTL: time.Minute, StaleWhileRevalidate: time.Hour, MaxStale: 5 * time.Minute}
				if tt.fallback {
					p.Fallback = tilestest.String("default")
				}
				tile := Wrap(b.fetcher("products"), p, Options{})
				defer tile.Close()
				if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(tt.age)
				b.set(0, "", errBackend)

				got, err := tile.Fetch(t.Context(), tiles.Request{})
				switch {
				case tt.wantStale:
					if err != nil || got.Status != tiles.StatusStale || string(got.Data) != text("v1/") || got.Age != tt.age {
						t.Errorf("got %s %s aged %s, %v; want stale %s aged %s", got.Status, got.Data, got.Age, err, text("v1/"), tt.age)
					}
				case tt.fallback:
					if err != nil || got.Status != tiles.StatusFallback || string(got.Data) != text("default") {
						t.Errorf("got %s %s, %v; want the fallback %s", got.Status, got.Data, err, text("default"))
					}
				default:
					if !errors.Is(err, errBackend) || got.Data != nil || got.Status != "" {
						t.Errorf("got %s %s, %v; want the backend's error and no data", got.Status, got.Data, err)
					}
				}
				tile.Wait()
			})
		})
	}
}

func TestFallback(t *testing.T) {
	tests := []struct {
		name      string
		latency   time.Duration
		err       error
		wantCause error
	}{
		{"backend error", 0, errBackend, errBackend},
		{"timeout", time.Second, nil, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBackend(tt.latency, "v1")
				b.set(tt.latency, "v1", tt.err)
				rec := newRecorder()
				p := Policy{
					TTL: time.Minute, MaxStale: time.Hour, Personalised: true,
					Fallback: tilestest.String("bestsellers"),
				}
				tile := Wrap(b.fetcher("recommendations"), p, Options{Recorder: rec})
				defer tile.Close()
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				defer cancel()

				got, err := tile.Fetch(ctx, tiles.Request{User: "ann"})
				if err != nil {
					t.Fatalf("got error %v; want the fallback", err)
				}
				if got.Status != tiles.StatusFallback || string(got.Data) != text("bestsellers") || got.Age != 0 {
					t.Fatalf("got %s %s aged %s; want fallback %s", got.Status, got.Data, got.Age, text("bestsellers"))
				}
				if !errors.Is(got.Cause, tt.wantCause) {
					t.Errorf("cause: got %v; want one wrapping %v", got.Cause, tt.wantCause)
				}
				if got, want := rec.Count("FallbackServed"), 1; got != want {
					t.Errorf("FallbackServed: got %d; want %d", got, want)
				}
				tile.Wait()
			})
		})
	}
}

func TestErrorWhenNothingToServe(t *testing.T) {
	tests := []struct {
		name    string
		latency time.Duration
		err     error
		want    error
		wantMsg string
	}{
		{"backend error", 0, errBackend, errBackend, "backend unavailable"},
		{"timeout", time.Second, nil, context.DeadlineExceeded, "no fresh answer in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBackend(tt.latency, "v1")
				b.set(tt.latency, "v1", tt.err)
				tile := Wrap(b.fetcher("products"), Policy{TTL: time.Minute, MaxStale: time.Hour}, Options{})
				defer tile.Close()
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				defer cancel()

				got, err := tile.Fetch(ctx, tiles.Request{})
				if got.Data != nil || got.Status != "" || !errors.Is(err, tt.want) {
					t.Fatalf("got %s %s, %v; want no data and an error wrapping %v", got.Status, got.Data, err, tt.want)
				}
				if !strings.HasPrefix(err.Error(), "products: ") || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q: want it to start with the tile's name and say %q", err, tt.wantMsg)
				}
				tile.Wait()
			})
		})
	}
}

// fillForUsers fetches tile for users distinct users, waits for the
// cache's background work, and returns the tile's memory cache.
func fillForUsers(t *testing.T, tile *Tile, users int) *otter.Cache[string, *entry] {
	t.Helper()
	for i := range users {
		if _, err := tile.Fetch(t.Context(), tiles.Request{User: fmt.Sprint("user", i)}); err != nil {
			t.Fatal(err)
		}
	}
	tile.Wait()
	return layerOf[*memory](t, tile).cache
}

func TestBoundedSize(t *testing.T) {
	const maxEntries, users = 100, 20_000
	b := newBackend(0, "v")
	tile := Wrap(b.fetcher("recommendations"), Policy{TTL: time.Hour, Personalised: true, MaxEntries: maxEntries}, Options{})
	defer tile.Close()
	cache := fillForUsers(t, tile, users)
	cache.CleanUp() // otter evicts in batches, after writes: settle it
	// otter may briefly exceed its maximum while it evicts; after a clean-up
	// it should be within it. Allow a little slack for its approximations.
	if got, limit := cache.EstimatedSize(), maxEntries+maxEntries/10; got > limit {
		t.Errorf("cache holds %d entries after %d users; want at most %d", got, users, limit)
	}
	if got, want := b.Calls(), users; got != want {
		t.Errorf("backend calls: got %d; want %d", got, want)
	}
}

// TestBoundedBytes fills a tile's cache with entries far bigger than its
// budget holds: it evicts to stay within MaxBytes, and small entries still hit.
func TestBoundedBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const budget, big, users = 1 << 20, 64 << 10, 200
		b := newBackend(0, strings.Repeat("x", big))
		rec := newRecorder()
		tile := Wrap(b.fetcher("recommendations"),
			Policy{TTL: time.Hour, Personalised: true, MaxBytes: budget}, Options{Recorder: rec})
		defer tile.Close()
		cache := fillForUsers(t, tile, users)
		cache.CleanUp() // otter evicts in batches, after writes: settle it
		held := 0
		for key, e := range cache.All() {
			held += len(key) + len(e.data)
		}
		if held > budget || cache.WeightedSize() > budget {
			t.Errorf("after %d entries of %d bytes, the cache holds %d bytes (weight %d); want at most %d",
				users, big, held, cache.WeightedSize(), budget)
		}
		b.set(0, "small", nil)
		for i := range 100 {
			user := tiles.Request{User: fmt.Sprint("small", i)}
			for range 2 {
				if _, err := tile.Fetch(t.Context(), user); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got := rec.Count("CacheHit"); got != 100 {
			t.Errorf("small entries fetched twice: %d hits; want 100", got)
		}
		tile.Wait()
	})
}

func TestCoalescing(t *testing.T) {
	tests := []struct {
		name         string
		personalised bool
		users        []string
		wantCalls    int
	}{
		{"one key", true, []string{"ann"}, 1},
		{"three keys", true, []string{"ann", "bob", "cy"}, 3},
		{"three users, one shared key", false, []string{"ann", "bob", "cy"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const callers = 1000
				b := newBackend(100*time.Millisecond, "v")
				rec := newRecorder()
				tile := Wrap(b.fetcher("recommendations"), Policy{TTL: time.Minute, Personalised: tt.personalised}, Options{Recorder: rec})
				defer tile.Close()

				var wg sync.WaitGroup
				got := make([]tiles.Outcome, callers)
				errs := make([]error, callers)
				for i := range callers {
					wg.Go(func() {
						got[i], errs[i] = tile.Fetch(t.Context(), tiles.Request{User: tt.users[i%len(tt.users)]})
					})
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
				for i := range callers {
					// A shared tile's content is the same for everyone: the
					// one fetch made for the first caller's request.
					want := string(got[0].Data)
					if tt.personalised {
						want = text("v/" + tt.users[i%len(tt.users)])
					}
					if got[i].Status != tiles.StatusOK || string(got[i].Data) != want {
						t.Fatalf("caller %d: got %s %s; want fresh %s", i, got[i].Status, got[i].Data, want)
					}
				}
				if got := b.Calls(); got != tt.wantCalls {
					t.Errorf("backend calls for %d concurrent misses: got %d; want %d", callers, got, tt.wantCalls)
				}
				if got, want := rec.Count("Coalesced"), callers-tt.wantCalls; got != want {
					t.Errorf("Coalesced: got %d; want %d", got, want)
				}
			})
		})
	}
}

func TestCancelledCallerDoesNotCancelSharedFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(100*time.Millisecond, "v")
		tile := Wrap(b.fetcher("products"), Policy{TTL: time.Minute}, Options{})
		defer tile.Close()

		ctxA, cancelA := context.WithCancel(t.Context())
		var errA error
		var tookA time.Duration
		doneA := make(chan struct{})
		go func() {
			defer close(doneA)
			start := time.Now()
			_, errA = tile.Fetch(ctxA, tiles.Request{})
			tookA = time.Since(start)
		}()
		synctest.Wait() // A has started the shared fetch

		var gotB tiles.Outcome
		var errB error
		doneB := make(chan struct{})
		go func() {
			defer close(doneB)
			gotB, errB = tile.Fetch(t.Context(), tiles.Request{})
		}()

		time.Sleep(10 * time.Millisecond)
		cancelA()
		<-doneA
		if !errors.Is(errA, context.Canceled) || tookA != 10*time.Millisecond {
			t.Errorf("cancelled caller: got %v after %s; want context.Canceled after 10ms", errA, tookA)
		}
		<-doneB
		if errB != nil || gotB.Status != tiles.StatusOK || string(gotB.Data) != text("v/") {
			t.Errorf("other caller: got %s %s, %v; want fresh %s", gotB.Status, gotB.Data, errB, text("v/"))
		}
		if got := b.Cancelled(); len(got) != 0 {
			t.Errorf("backend calls cancelled: %v; want none", got)
		}
		if got, want := b.Calls(), 1; got != want {
			t.Errorf("backend calls: got %d; want %d", got, want)
		}
	})
}

func TestCloseJoinsBackgroundWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(0, "v1")
		p := Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute, MaxStale: time.Minute}
		tile := Wrap(b.fetcher("banners"), p, Options{})
		if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(90 * time.Second)
		b.set(time.Second, "v2", nil)
		if got, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil || got.Status != tiles.StatusStale {
			t.Fatalf("got %s %s, %v; want stale", got.Status, got.Data, err)
		}

		start := time.Now()
		tile.Close()
		if got, want := time.Since(start), time.Second; got != want {
			t.Errorf("Close returned after %s; want %s, once the refresh ended", got, want)
		}
		// Closed: no new background fetch starts, what is cached is served.
		time.Sleep(time.Minute)
		got, err := tile.Fetch(t.Context(), tiles.Request{})
		if err != nil || got.Status != tiles.StatusStale || string(got.Data) != text("v2/") {
			t.Errorf("after Close: got %s %s, %v; want stale %s", got.Status, got.Data, err, text("v2/"))
		}
		if got, want := b.Calls(), 2; got != want {
			t.Errorf("backend calls: got %d; want %d (none after Close)", got, want)
		}
	})
}

func TestClosedMissFails(t *testing.T) {
	b := newBackend(0, "v")
	tile := Wrap(b.fetcher("banners"), Policy{TTL: time.Minute}, Options{})
	tile.Close()
	if _, err := tile.Fetch(t.Context(), tiles.Request{}); !errors.Is(err, ErrClosed) {
		t.Errorf("got %v; want ErrClosed", err)
	}
	if got := b.Calls(); got != 0 {
		t.Errorf("backend calls: got %d; want 0", got)
	}
}

func TestFetchTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(5*time.Second, "v")
		tile := Wrap(b.fetcher("products"), Policy{TTL: time.Minute, FetchTimeout: time.Second}, Options{})
		defer tile.Close()
		start := time.Now()
		// The caller has no deadline of its own: FetchTimeout bounds the
		// shared fetch, and it is an error, not the caller's timeout.
		_, err := tile.Fetch(context.Background(), tiles.Request{})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within the fetch timeout of 1s") {
			t.Errorf("got %v; want the fetch timeout", err)
		}
		if took := time.Since(start); took != time.Second {
			t.Errorf("took %s; want 1s", took)
		}
	})
}

// TestResize: a tile resized to a smaller budget (a reload that adds a
// caching tile) evicts down to it, and keeps its entries when it is larger.
func TestResize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const big, users = 16 << 10, 40
		b := newBackend(0, strings.Repeat("x", big))
		tile := Wrap(b.fetcher("recommendations"), Policy{TTL: time.Hour, Personalised: true, MaxBytes: 4 << 20},
			Options{})
		defer tile.Close()
		cache := fillForUsers(t, tile, users)
		tile.Resize(8 << 20)
		cache.CleanUp()
		if got := cache.EstimatedSize(); got != users {
			t.Errorf("after growing, the cache holds %d entries; want all %d", got, users)
		}
		const budget = 128 << 10
		tile.Resize(budget)
		cache.CleanUp()
		if w := cache.WeightedSize(); w > budget {
			t.Errorf("after shrinking to %d bytes, the cache weighs %d; want at most that", budget, w)
		}
		tile.Wait()
	})
}
