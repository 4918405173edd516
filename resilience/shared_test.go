package resilience

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// sharedTier is an in-process resilience.Shared with the semantics of
// package rediscache (entries that expire at StaleUntil, leases taken only
// when the entry is missing or not fresh at the threshold), so that
// replicas can be played by several Tiles in virtual time. It counts calls
// per method, and can be made to fail every call.
type sharedTier struct {
	mu      sync.Mutex
	entries map[string]SharedEntry
	leases  map[string]lease
	calls   map[string]int
	down    bool
	tokens  int
	latest  time.Time // the last Claim's
}

type lease struct {
	token string
	until time.Time
}

var _ Shared = (*sharedTier)(nil)

var errTierDown = errors.New("shared tier unreachable")

func newSharedTier() *sharedTier {
	return &sharedTier{entries: map[string]SharedEntry{}, leases: map[string]lease{}, calls: map[string]int{}}
}

// call counts a call of method and reports the tier's error, if down.
func (s *sharedTier) call(method string) error {
	s.calls[method]++
	if s.down {
		return errTierDown
	}
	return nil
}

func (s *sharedTier) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *sharedTier) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// put stores e as another replica would have.
func (s *sharedTier) put(tile, key string, e SharedEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[tile+"/"+key] = e
}

// hold takes key's lease as a replica that never answers would.
func (s *sharedTier) hold(tile, key string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leases[tile+"/"+key] = lease{token: "someone else", until: time.Now().Add(d)}
}

func (s *sharedTier) Claim(_ context.Context, tile, key string, servable, latest time.Time, d time.Duration,
) (Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest = latest
	if err := s.call("Claim"); err != nil {
		return Claim{}, err
	}
	k, now := tile+"/"+key, time.Now()
	var c Claim
	if e, ok := s.entries[k]; ok && now.Before(e.StaleUntil) {
		c.Entry, c.Found = e, true
		if e.FreshUntil.After(servable) {
			return c, nil
		}
	}
	if l, ok := s.leases[k]; ok && now.Before(l.until) {
		return c, nil
	}
	s.tokens++
	c.Token = fmt.Sprint("token-", s.tokens)
	s.leases[k] = lease{token: c.Token, until: now.Add(d)}
	return c, nil
}

// unlock releases k's lease if token holds it; under s.mu.
func (s *sharedTier) unlock(k, token string) {
	if l, ok := s.leases[k]; ok && l.token == token {
		delete(s.leases, k)
	}
}

func (s *sharedTier) Store(_ context.Context, tile, key string, e SharedEntry, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("Store"); err != nil {
		return err
	}
	k := tile + "/" + key
	s.entries[k] = e
	s.unlock(k, token)
	return nil
}

func (s *sharedTier) Drop(_ context.Context, tile, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("Drop"); err != nil {
		return err
	}
	delete(s.entries, tile+"/"+key)
	s.unlock(tile+"/"+key, token)
	return nil
}

func (s *sharedTier) Release(_ context.Context, tile, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("Release"); err != nil {
		return err
	}
	s.unlock(tile+"/"+key, token)
	return nil
}

// replicas returns n tiles over one backend and one shared tier, as n
// Vitrine processes would be.
func replicas(t *testing.T, n int, b *backend, tier *sharedTier, p Policy) []*Tile {
	t.Helper()
	out := make([]*Tile, n)
	for i := range out {
		out[i] = Wrap(b.fetcher("recommendations"), p, Options{Shared: tier})
		t.Cleanup(out[i].Close)
	}
	return out
}

var sharedPolicy = Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute, MaxStale: 10 * time.Minute, Personalised: true}

// fetchAll fetches req from every tile at once, each from several
// goroutines, and returns the outcomes.
func fetchAll(t *testing.T, ts []*Tile, req tiles.Request) []tiles.Outcome {
	t.Helper()
	const each = 20
	outs := make([]tiles.Outcome, len(ts)*each)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			var err error
			if outs[i], err = ts[i%len(ts)].Fetch(t.Context(), req); err != nil {
				t.Errorf("fetch %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	return outs
}

func checkOutcomes(t *testing.T, outs []tiles.Outcome, status tiles.Status, data string) {
	t.Helper()
	for i, o := range outs {
		if o.Status != status || string(o.Data) != data {
			t.Fatalf("fetch %d: got %s %s; want %s %s", i, o.Status, o.Data, status, data)
		}
	}
}

func TestSharedTierFetchesOnceAcrossReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := newBackend(50*time.Millisecond, "v1"), newSharedTier()
		ts := replicas(t, 3, b, tier, sharedPolicy)
		alice := tiles.Request{User: "alice"}

		checkOutcomes(t, fetchAll(t, ts[:2], alice), tiles.StatusOK, text("v1/alice"))
		if got := b.Calls(); got != 1 {
			t.Errorf("backend calls for a cold key on two replicas: got %d; want 1", got)
		}
		// A replica that has not seen the key yet finds it in the tier.
		checkOutcomes(t, fetchAll(t, ts[2:], alice), tiles.StatusOK, text("v1/alice"))
		if got := b.Calls(); got != 1 {
			t.Errorf("backend calls after a third replica's first fetch: got %d; want 1", got)
		}
		// Memory hits do not ask the tier.
		claims := tier.Calls("Claim")
		fetchAll(t, ts, alice)
		if got := tier.Calls("Claim"); got != claims {
			t.Errorf("Claims on memory hits: got %d; want 0", got-claims)
		}
		if got := tier.Calls("Store"); got != 1 {
			t.Errorf("Stores: got %d; want 1", got)
		}
	})
}

func TestSharedTierRefreshesOnceAcrossReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := newBackend(50*time.Millisecond, "v1"), newSharedTier()
		ts := replicas(t, 2, b, tier, sharedPolicy)
		fetchAll(t, ts, tiles.Request{})

		time.Sleep(90 * time.Second) // past the TTL, within the revalidation window
		b.set(50*time.Millisecond, "v2", nil)
		checkOutcomes(t, fetchAll(t, ts, tiles.Request{}), tiles.StatusStale, text("v1/"))
		for _, tile := range ts {
			tile.Wait() // the refresh, or the wait for the other replica's
		}
		if got := b.Calls(); got != 2 {
			t.Errorf("backend calls: got %d; want 2 (one fetch, one refresh for both replicas)", got)
		}
		checkOutcomes(t, fetchAll(t, ts, tiles.Request{}), tiles.StatusOK, text("v2/"))
		if got := b.Calls(); got != 2 {
			t.Errorf("backend calls after the refresh: got %d; want 2", got)
		}
	})
}

func TestSharedTierStaleEntryOnAColdReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := newBackend(50*time.Millisecond, "v2"), newSharedTier()
		at := time.Now().Add(-90 * time.Second)
		tier.put("recommendations", "", SharedEntry{
			Data: tilestest.String("v1/"), FetchedAt: at, FreshUntil: at.Add(time.Minute), StaleUntil: at.Add(11 * time.Minute),
		})
		tile := replicas(t, 1, b, tier, sharedPolicy)[0]
		got, err := tile.Fetch(t.Context(), tiles.Request{})
		if err != nil || got.Status != tiles.StatusStale || string(got.Data) != text("v1/") || got.Age != 90*time.Second {
			t.Fatalf("got %s %s aged %s, %v; want stale %s aged 90s", got.Status, got.Data, got.Age, err, text("v1/"))
		}
		tile.Wait()
		if got := b.Calls(); got != 1 {
			t.Errorf("backend calls: got %d; want 1 (the refresh)", got)
		}
		if got, _ := tile.Fetch(t.Context(), tiles.Request{}); got.Status != tiles.StatusOK || string(got.Data) != text("v2/") {
			t.Errorf("after the refresh: got %s %s; want ok %s", got.Status, got.Data, text("v2/"))
		}
	})
}

func TestSharedTierLeaseHeldByASilentReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := newBackend(50*time.Millisecond, "v1"), newSharedTier()
		tier.hold("recommendations", "", time.Hour)
		p := sharedPolicy
		p.SharedWait = 300 * time.Millisecond
		tile := replicas(t, 1, b, tier, p)[0]
		start := time.Now()
		got, err := tile.Fetch(t.Context(), tiles.Request{})
		took := time.Since(start)
		if err != nil || got.Status != tiles.StatusOK {
			t.Fatalf("got %s, %v; want ok", got.Status, err)
		}
		// It waits for the holder's answer about SharedWait (polling with
		// back-off), then fetches itself.
		if took < p.SharedWait || took > p.SharedWait+100*time.Millisecond+b.latency {
			t.Errorf("took %s; want SharedWait %s, then the fetch", took, p.SharedWait)
		}
		if got := b.Calls(); got != 1 {
			t.Errorf("backend calls: got %d; want 1", got)
		}
		if claims := tier.Calls("Claim"); claims < 2 || claims > 8 {
			t.Errorf("Claims while waiting: got %d; want a few polls with back-off", claims)
		}
		if got := tier.Calls("Store"); got != 1 {
			t.Errorf("Stores: got %d; want 1 (what it fetched, for the others)", got)
		}
	})
}

func TestSharedTierDownIsNoTier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := newBackend(50*time.Millisecond, "v1"), newSharedTier()
		tier.setDown(true)
		ts := replicas(t, 2, b, tier, sharedPolicy)
		checkOutcomes(t, fetchAll(t, ts, tiles.Request{User: "bob"}), tiles.StatusOK, text("v1/bob"))
		if got := b.Calls(); got != 2 {
			t.Errorf("backend calls: got %d; want 2 (one per replica, as without the tier)", got)
		}
		// Back up: the next miss uses it again.
		tier.setDown(false)
		fetchAll(t, ts, tiles.Request{User: "carol"})
		if got := b.Calls(); got != 3 {
			t.Errorf("backend calls once the tier is back: got %d; want 3", got)
		}
	})
}

func TestSharedTierFailedFetchReleasesTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := newBackend(50*time.Millisecond, "v1"), newSharedTier()
		b.set(50*time.Millisecond, "", errBackend)
		ts := replicas(t, 2, b, tier, sharedPolicy)
		if _, err := ts[0].Fetch(t.Context(), tiles.Request{}); !errors.Is(err, errBackend) {
			t.Fatalf("got %v; want %v", err, errBackend)
		}
		if got := tier.Calls("Release"); got != 1 {
			t.Fatalf("Releases: got %d; want 1", got)
		}
		// The other replica takes the lease at once instead of waiting.
		b.set(50*time.Millisecond, "v1", nil)
		start := time.Now()
		if got, err := ts[1].Fetch(t.Context(), tiles.Request{}); err != nil || got.Status != tiles.StatusOK {
			t.Fatalf("got %s, %v; want ok", got.Status, err)
		}
		if took := time.Since(start); took != b.latency {
			t.Errorf("took %s; want %s, the backend's latency alone", took, b.latency)
		}
	})
}

func TestSharedTierNoStoreDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tier := newSharedTier()
		f := &tilestest.Fetcher{TileName: "banners", FetchFn: func(context.Context, tiles.Request) (tiles.Outcome, error) {
			out := tiles.Fresh(tilestest.String("secret"))
			out.Cache = tiles.Caching{Set: true, NoStore: true}
			return out, nil
		}}
		tier.put("banners", "", SharedEntry{Data: tilestest.String("old"), FetchedAt: time.Now().Add(-time.Hour), FreshUntil: time.Now().Add(-time.Minute), StaleUntil: time.Now().Add(time.Hour)})
		p := sharedPolicy
		p.Personalised, p.BackendTTL = false, true
		tile := Wrap(f, p, Options{Shared: tier})
		defer tile.Close()
		if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
			t.Fatal(err)
		}
		if got := tier.Calls("Drop"); got != 1 {
			t.Errorf("Drops: got %d; want 1", got)
		}
		if _, err := tier.Claim(t.Context(), "banners", "", time.Now(), time.Time{}, time.Second); err != nil || tier.entries["banners/"].Data != nil {
			t.Errorf("the tier still holds %s; want nothing after no-store", tier.entries["banners/"].Data)
		}
	})
}

// TestSharedPersonalEntriesLiveTTLPlusMaxStale: each user's entry goes to
// the tier under the hash of the user, to be forgotten MaxStale past its TTL.
func TestSharedPersonalEntriesLiveTTLPlusMaxStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := newBackend(0, "v"), newSharedTier()
		tile := replicas(t, 1, b, tier, sharedPolicy)[0]
		for _, user := range []string{"ann", "bob"} {
			if _, err := tile.Fetch(t.Context(), tiles.Request{User: user}); err != nil {
				t.Fatal(err)
			}
		}
		tile.Wait()
		tier.mu.Lock()
		defer tier.mu.Unlock()
		if len(tier.entries) != 2 {
			t.Fatalf("tier holds %d entries; want one per user", len(tier.entries))
		}
		for k, e := range tier.entries {
			if k == "recommendations/ann" || k == "recommendations/bob" {
				t.Errorf("tier key %q carries the user id", k)
			}
			if !e.Personal {
				t.Errorf("tier entry %q not marked Personal", k)
			}
			if kept, want := e.StaleUntil.Sub(e.FetchedAt), sharedPolicy.TTL+sharedPolicy.MaxStale; kept != want {
				t.Errorf("tier entry kept for %v; want TTL plus MaxStale, %v", kept, want)
			}
		}
	})
}

// TestSharedClaimBoundsFreshness: the tier is told the latest freshness an
// entry can have, max(TTL, MaxTTL) plus the replicas' clock skew from now,
// so that it treats an entry fresh past it as corrupt.
func TestSharedClaimBoundsFreshness(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		want time.Duration
	}{
		{"MaxTTL above TTL", sharedPolicy, DefaultMaxTTL + clockSkew},
		{"TTL above MaxTTL", Policy{TTL: time.Hour, MaxTTL: time.Minute}, time.Hour + clockSkew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, tier := newBackend(0, "v"), newSharedTier()
				tile := replicas(t, 1, b, tier, tc.p)[0]
				if _, err := tile.Fetch(t.Context(), tiles.Request{User: "ann"}); err != nil {
					t.Fatal(err)
				}
				tile.Wait()
				tier.mu.Lock()
				defer tier.mu.Unlock()
				if got := tier.latest.Sub(time.Now()); got != tc.want {
					t.Errorf("Claim's latest = now + %v; want now + %v", got, tc.want)
				}
			})
		})
	}
}
