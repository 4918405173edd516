package rediscache

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"vitrine/resilience"
	"vitrine/servertest"
)

// TestEntriesKeepTheirTags: an entry's tags come back from a claim, none
// stays none, and a tags field no Vitrine wrote makes the entry corrupt:
// deleted, the key claimed as if there were none.
func TestEntriesKeepTheirTags(t *testing.T) {
	c, rec, planter := realTier(t)
	now := time.Now()
	for _, tags := range [][]string{{"winter-sale", "banner"}, nil} {
		e := entryAt(now, `{"v":1}`)
		e.Tags = tags
		mustStore(t, c, "k", e, "")
		if cl := mustClaim(t, c, "k", now); !cl.Found || !slices.Equal(cl.Entry.Tags, tags) {
			t.Errorf("stored with tags %q, claimed: %+v; want the entry with its tags", tags, cl)
		}
	}
	entry, _ := c.keys("products", "k")
	if err := planter.HSet(t.Context(), entry, "tags", "winter-sale").Err(); err != nil {
		t.Fatal(err)
	}
	if cl := mustClaim(t, c, "k", now); cl.Found || cl.Token == "" {
		t.Errorf("an entry whose tags are not a JSON array: %+v; want no entry and the lease", cl)
	}
	if got := rec.count("corrupt products"); got != 1 {
		t.Errorf("corrupt products: %d; want 1", got)
	}
}

// follower runs c.Follow until the test ends, keeping what it applies.
type follower struct {
	mu     sync.Mutex
	got    []resilience.PurgeRecord
	live   []bool
	caught chan struct{}
	added  chan struct{}
}

func follow(t *testing.T, c *Cache) *follower {
	f := &follower{caught: make(chan struct{}), added: make(chan struct{}, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		c.Follow(ctx, func(r resilience.PurgeRecord, live bool) {
			f.mu.Lock()
			f.got, f.live = append(f.got, r), append(f.live, live)
			f.mu.Unlock()
			f.added <- struct{}{}
		}, func() { close(f.caught) })
	}()
	return f
}

// next waits up to 10s for the follower's next record.
func (f *follower) next(t *testing.T) (resilience.PurgeRecord, bool) {
	t.Helper()
	select {
	case <-f.added:
	case <-time.After(10 * time.Second):
		t.Fatal("no purge record within 10s")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[len(f.got)-1], f.live[len(f.live)-1]
}

// TestFollowReadsTheOtherReplicasPurges: a replica that starts reads the
// purges already in the stream (not live), then each one another replica
// adds (live), never its own; a purge published while Redis is stopped is
// added once it is back, and read on from there.
func TestFollowReadsTheOtherReplicasPurges(t *testing.T) {
	srv := servertest.Redis(t)
	open := func() *Cache {
		client, err := Connect(Settings{URL: srv.URL(), Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c := New(Options{Client: client, Timeout: time.Second})
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := open(), open()
	before := time.UnixMilli(time.Now().UnixMilli())
	first := resilience.PurgeRecord{Tile: "recommendations",
		Purge: resilience.Purge{Tags: []string{"winter-sale"}, Key: "k3y", Soft: true, Before: before}}
	if err := a.Publish(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	f := follow(t, b)
	if got, live := f.next(t); !got.Before.Equal(before) || got.Tile != first.Tile || !slices.Equal(got.Tags, first.Tags) ||
		got.Key != first.Key || !got.Soft || live {
		t.Errorf("read at start: %+v, live %v; want %+v, not live", got, live, first)
	}
	<-f.caught
	own := resilience.PurgeRecord{Purge: resilience.Purge{Before: time.Now()}}
	if err := b.Publish(t.Context(), own); err != nil {
		t.Fatal(err)
	}
	second := resilience.PurgeRecord{Purge: resilience.Purge{Before: time.UnixMilli(time.Now().UnixMilli())}}
	if err := a.Publish(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	if got, live := f.next(t); !got.Before.Equal(second.Before) || got.Soft || !live {
		t.Errorf("read live: %+v, live %v; want %+v (not its own purge), live", got, live, second)
	}
	follow(t, a) // which sends what a could not publish
	srv.Stop()
	third := resilience.PurgeRecord{Tile: "banners", Purge: resilience.Purge{Before: time.UnixMilli(time.Now().UnixMilli())}}
	if err := a.Publish(t.Context(), third); err == nil {
		t.Fatal("Publish with Redis stopped: no error")
	}
	srv.Start()
	if got, live := f.next(t); got.Tile != "banners" || !got.Before.Equal(third.Before) || !live {
		t.Errorf("read after Redis restarted: %+v, live %v; want %+v, published once Redis was back, live", got, live, third)
	}
}

// BenchmarkPurgePropagation: three Caches, as three replicas, on one
// redis-server; one publishes purges, one at a time, and the benchmark
// times each until the other two have applied it: p50 and p99 in ms.
func BenchmarkPurgePropagation(b *testing.B) {
	srv := servertest.Redis(b)
	var caches []*Cache
	for range 3 {
		client, err := Connect(Settings{URL: srv.URL(), Timeout: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		c := New(Options{Client: client, Timeout: time.Second})
		defer c.Close()
		caches = append(caches, c)
	}
	applied := make(chan time.Time, 2)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, c := range caches[1:] {
		caught := make(chan struct{})
		wg.Go(func() {
			c.Follow(ctx, func(resilience.PurgeRecord, bool) { applied <- time.Now() }, func() { close(caught) })
		})
		<-caught
	}
	var delays []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := caches[0].Publish(ctx, resilience.PurgeRecord{Purge: resilience.Purge{Before: start}}); err != nil {
			b.Fatal(err)
		}
		delays = append(delays, (<-applied).Sub(start), (<-applied).Sub(start))
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	ms := func(q float64) float64 { return float64(delays[int(q*float64(len(delays)-1))]) / 1e6 }
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}
