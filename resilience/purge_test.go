package resilience

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// tagged is a backend of tile name that answers value+"/"+user, tagged
// "user-"+user and "all", counting its calls.
type tagged struct {
	backend
}

func (b *tagged) fetcher(name string) *tilestest.Fetcher {
	f := b.backend.fetcher(name)
	inner := f.FetchFn
	f.FetchFn = func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		out, err := inner(ctx, req)
		out.Cache.Tags = []string{"user-" + req.User, "all"}
		return out, err
	}
	return f
}

// read fetches tile for user and fails unless it answers with status.
func read(t *testing.T, tile *Tile, user string, status tiles.Status) {
	t.Helper()
	out, err := tile.Fetch(t.Context(), tiles.Request{User: user})
	if err != nil || out.Status != status {
		t.Fatalf("fetch for %q: %+v, %v; want %s", user, out, err, status)
	}
}

// cachedBanners is a banners tile cached for a minute, then stale for a
// minute, over a tagged backend answering v1 in 10ms, and its recorder.
func cachedBanners() (*tagged, *countingRecorder, *Tile) {
	b, rec := &tagged{backend: *newBackend(10*time.Millisecond, "v1")}, newRecorder()
	return b, rec, Wrap(b.fetcher("banners"), Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute,
		MaxStale: time.Hour}, Options{Recorder: rec})
}

// TestSoftPurge: a soft purge makes the entry stale at once: the next reads
// serve it stale while exactly one backend fetch refreshes it, and the reads
// after that are fresh. Replayed, it marks nothing.
func TestSoftPurge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _, tile := cachedBanners()
		defer tile.Close()
		read(t, tile, "", tiles.StatusOK)
		time.Sleep(time.Second)
		read(t, tile, "", tiles.StatusOK)
		before := time.Now()
		if got := tile.Purge(Purge{Tags: []string{"all"}, Soft: true}); got != 1 {
			t.Fatalf("Purge marked %d; want 1", got)
		}
		b.set(10*time.Millisecond, "v2", nil)
		for range 3 {
			read(t, tile, "", tiles.StatusStale)
		}
		time.Sleep(time.Second)
		read(t, tile, "", tiles.StatusOK)
		if got, want := b.Calls(), 2; got != want {
			t.Errorf("backend calls: got %d; want %d (one refresh)", got, want)
		}
		if got := tile.Purge(Purge{Soft: true, Before: before}); got != 0 {
			t.Errorf("replayed Purge marked %d; want 0", got)
		}
		out, _ := tile.Fetch(t.Context(), tiles.Request{})
		if string(out.Data) != text("v2/") {
			t.Errorf("after the refresh: %s; want %s", out.Data, text("v2/"))
		}
	})
}

// TestHardPurge: a hard purge drops the entry: the next read is a miss
// that fetches.
func TestHardPurge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec, tile := cachedBanners()
		defer tile.Close()
		read(t, tile, "", tiles.StatusOK)
		time.Sleep(time.Second)
		if got := tile.Purge(Purge{}); got != 1 {
			t.Fatalf("Purge marked %d; want 1", got)
		}
		read(t, tile, "", tiles.StatusOK)
		if got, want := rec.Count("CacheMiss"), 2; got != want {
			t.Errorf("CacheMiss: got %d; want %d", got, want)
		}
		if got, want := b.Calls(), 2; got != want {
			t.Errorf("backend calls: got %d; want %d", got, want)
		}
	})
}

// TestPurgeSelects: a purge reaches the entries that carry one of its tags
// (the backend's, per entry; the tile's name and configured tags, all),
// one user's by Key, and only entries stored before Before.
func TestPurgeSelects(t *testing.T) {
	tests := []struct {
		name   string
		purge  func(tile *Tile, bobAt time.Time) Purge
		marked int
		miss   []string // the users whose next read is a miss
	}{
		{"a backend's tag", func(*Tile, time.Time) Purge { return Purge{Tags: []string{"user-alice"}} },
			1, []string{"alice"}},
		{"a backend's tag on both", func(*Tile, time.Time) Purge { return Purge{Tags: []string{"all"}} },
			2, []string{"alice", "bob"}},
		{"the tile's name", func(*Tile, time.Time) Purge { return Purge{Tags: []string{"x", "recommendations"}} },
			2, []string{"alice", "bob"}},
		{"a configured tag", func(*Tile, time.Time) Purge { return Purge{Tags: []string{"homepage"}} },
			2, []string{"alice", "bob"}},
		{"no such tag", func(*Tile, time.Time) Purge { return Purge{Tags: []string{"winter-sale"}} }, 0, nil},
		{"one user", func(tile *Tile, _ time.Time) Purge {
			key, _ := tile.UserKey("bob")
			return Purge{Key: key}
		}, 1, []string{"bob"}},
		{"one user and a tag", func(tile *Tile, _ time.Time) Purge {
			key, _ := tile.UserKey("bob")
			return Purge{Key: key, Tags: []string{"user-alice"}}
		}, 0, nil},
		{"before bob's was stored", func(_ *Tile, bobAt time.Time) Purge { return Purge{Before: bobAt.Add(time.Millisecond)} },
			1, []string{"alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &tagged{backend: *newBackend(10*time.Millisecond, "v1")}
				tile := Wrap(b.fetcher("recommendations"), Policy{TTL: time.Minute, Personalised: true,
					Tags: []string{"homepage"}}, Options{})
				defer tile.Close()
				read(t, tile, "alice", tiles.StatusOK)
				time.Sleep(time.Second)
				bobAt := time.Now()
				read(t, tile, "bob", tiles.StatusOK)
				time.Sleep(time.Second)
				if got := tile.Purge(tt.purge(tile, bobAt)); got != tt.marked {
					t.Errorf("Purge marked %d; want %d", got, tt.marked)
				}
				for _, user := range []string{"alice", "bob"} {
					calls := b.Calls()
					read(t, tile, user, tiles.StatusOK)
					missed := b.Calls() > calls
					if want := slices.Contains(tt.miss, user); missed != want {
						t.Errorf("%s's read fetched: %v; want %v", user, missed, want)
					}
				}
			})
		})
	}
}

// TestPurgeKeyNeedsPersonalised: a tile cached for everyone has no user
// keys, and a purge for one user's key marks nothing of it.
func TestPurgeKeyNeedsPersonalised(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &tagged{backend: *newBackend(10*time.Millisecond, "v1")}
		tile := Wrap(b.fetcher("banners"), Policy{TTL: time.Minute}, Options{})
		defer tile.Close()
		read(t, tile, "", tiles.StatusOK)
		if _, ok := tile.UserKey("alice"); ok {
			t.Error("UserKey of a tile cached for everyone: ok; want false")
		}
		if got := tile.Purge(Purge{Key: "k"}); got != 0 {
			t.Errorf("Purge marked %d; want 0", got)
		}
	})
}

// TestPurgeAfterNotModified: an entry renewed by a 304 that names no tags
// keeps the tags of the answer it renews, so a purge still finds it.
func TestPurgeAfterNotModified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &tilestest.Fetcher{TileName: "banners", FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
			if err := tiles.Wait(ctx, 10*time.Millisecond); err != nil {
				return tiles.Outcome{}, err
			}
			c := tiles.Caching{Validators: tiles.Validators{ETag: `"v1"`}}
			if req.Validators.ETag == c.ETag {
				return tiles.Outcome{NotModified: true, Cache: c}, nil
			}
			c.Tags = []string{"winter-sale"}
			out := tiles.Fresh(tilestest.String("v1"))
			out.Cache = c
			return out, nil
		}}
		rec := newRecorder()
		tile := Wrap(f, Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute, MaxStale: time.Hour},
			Options{Recorder: rec})
		defer tile.Close()
		read(t, tile, "", tiles.StatusOK)
		time.Sleep(90 * time.Second)
		read(t, tile, "", tiles.StatusStale) // its refresh is answered 304
		time.Sleep(time.Second)
		read(t, tile, "", tiles.StatusOK)
		if got := rec.Count("Revalidated"); got != 1 {
			t.Fatalf("Revalidated: %d; want 1", got)
		}
		if got := tile.Purge(Purge{Tags: []string{"winter-sale"}}); got != 1 {
			t.Errorf("Purge marked %d; want 1", got)
		}
	})
}

// TestPurgeOneUserEveryValue: a user's purge reaches that user's entries
// for every forwarded value, and no other user's.
func TestPurgeOneUserEveryValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tile, calls := languageTile(Policy{TTL: time.Minute, Personalised: true}, nil)
		defer tile.Close()
		req := func(user, v string) tiles.Request { r := lang(v); r.User = user; return r }
		reqs := []tiles.Request{req("alice", "de"), req("alice", "en"), req("alice", ""), req("bob", "de")}
		for _, r := range reqs {
			if _, err := tile.Fetch(t.Context(), r); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		key, _ := tile.UserKey("alice")
		if got := tile.Purge(Purge{Key: key}); got != 3 {
			t.Errorf("Purge marked %d; want alice's 3", got)
		}
		if got := tile.Purge(Purge{Key: key[:len(key)-1]}); got != 0 {
			t.Errorf("Purge of a key's prefix marked %d; want 0", got)
		}
		for _, r := range reqs {
			tile.Fetch(t.Context(), r)
		}
		if got := calls.Load(); got != 7 {
			t.Errorf("backend calls = %d; want 7 (alice's 3 again, bob's cached)", got)
		}
	})
}

// TestPurgeAcrossReplicas: three replicas over one shared tier, each with
// the purges it knows of, as replicas told of a purge by another would be.
// After a soft purge of a backend tag, each serves the entry stale once,
// the third, whose memory never held it, from the tier, and one backend
// fetch refreshes it for all; after a hard purge, one fetch serves all fresh.
func TestPurgeAcrossReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := &tagged{backend: *newBackend(50*time.Millisecond, "v1")}, newSharedTier()
		p := sharedPolicy
		p.Personalised = false
		var ts []*Tile
		var known []*Purges
		for range 3 {
			known = append(known, &Purges{})
			ts = append(ts, Wrap(b.fetcher("banners"), p, Options{Shared: tier, Purges: known[len(known)-1]}))
			defer ts[len(ts)-1].Close()
		}
		purge := func(soft bool) {
			r := PurgeRecord{Purge: Purge{Tags: []string{"all"}, Soft: soft, Before: time.Now()}}
			for i, tile := range ts {
				known[i].Add(r)
				tile.Purge(r.Purge)
			}
			time.Sleep(time.Second)
		}
		checkOutcomes(t, fetchAll(t, ts[:2], tiles.Request{}), tiles.StatusOK, text("v1/"))
		time.Sleep(time.Second)
		purge(true)
		b.set(50*time.Millisecond, "v2", nil)
		for _, tile := range ts { // one read each: a refresh may join a miss's flight, and serve what it got
			read(t, tile, "", tiles.StatusStale)
		}
		for _, tile := range ts {
			tile.Wait()
		}
		checkOutcomes(t, fetchAll(t, ts, tiles.Request{}), tiles.StatusOK, text("v2/"))
		if got := b.Calls(); got != 2 {
			t.Errorf("backend calls after a soft purge: %d; want 2 (one refresh for the three replicas)", got)
		}
		purge(false)
		b.set(50*time.Millisecond, "v3", nil)
		checkOutcomes(t, fetchAll(t, ts, tiles.Request{}), tiles.StatusOK, text("v3/"))
		if got := b.Calls(); got != 3 {
			t.Errorf("backend calls after a hard purge: %d; want 3 (one fetch for the three replicas)", got)
		}
	})
}
