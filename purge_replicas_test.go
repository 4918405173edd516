package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/servertest"
)

// purgeSet is a shared Redis and replicas over one `vitrine backends`,
// each with its operator port.
type purgeSet struct {
	backends string
	redis    *servertest.RedisServer
	pub      []string // each replica's public base URL
	admin    []string // each replica's operator port
}

func startPurgeSet(t testing.TB, n int) *purgeSet {
	t.Helper()
	ps := &purgeSet{redis: servertest.Redis(t),
		backends: startBackends(t, "-latency", "banners=5ms,products=10ms,recommendations=15ms").base}
	for range n {
		ps.add(t)
	}
	return ps
}

// add starts one more replica, as the others were started: a TTL of a
// minute (so a minute of StaleWhileRevalidate), no hedges; its Redis at
// redisURL, or the set's.
func (ps *purgeSet) add(t testing.TB, redisURL ...string) {
	t.Helper()
	args := append([]string{
		"-redis", append(redisURL, ps.redis.URL())[0], "-backend", tilesAt(ps.backends),
		"-hedge", "banners=off,products=off,recommendations=off",
		"-ttl", "banners=1m,products=1m,recommendations=1m",
		"-key-secret", "the replicas' shared secret",
	}, sturdyArgs...)
	in := runIn(t, run, append(args, "-admin-addr", "127.0.0.1:0"), servingLine, adminLine)
	ps.pub, ps.admin = append(ps.pub, in.base), append(ps.admin, in.urls[1])
}

// status reads the home page on replica i and returns tile's status.
func (ps *purgeSet) status(t *testing.T, i int, tile string) string {
	t.Helper()
	var page homePage
	if code := getJSON(t, http.DefaultClient, ps.pub[i]+"/home", &page); code != http.StatusOK {
		t.Fatalf("replica %d: GET /home: %d", i+1, code)
	}
	return page.Tiles[tile].Status
}

// metric returns the sum of a series of replica i's metrics.
func (ps *purgeSet) metric(t testing.TB, i int, name string, match ...string) float64 {
	t.Helper()
	m, err := scrapeMetrics(http.DefaultClient, ps.admin[i])
	if err != nil {
		t.Fatal(err)
	}
	return m.sum(name, match...)
}

// waitMetric waits up to 10s for replica i's series to reach at least want.
func (ps *purgeSet) waitMetric(t *testing.T, i int, want float64, name string, match ...string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ps.metric(t, i, name, match...) < want; {
		if time.Now().After(deadline) {
			t.Fatalf("replica %d: %s%q = %v after 10s; want %v", i+1, name, match,
				ps.metric(t, i, name, match...), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// purge POSTs body to replica i's /purge, then waits until every other
// replica has received it.
func (ps *purgeSet) purge(t *testing.T, i int, body string) {
	t.Helper()
	received := make([]float64, len(ps.pub))
	for j := range ps.pub {
		received[j] = ps.metric(t, j, "vitrine_purge_propagation_seconds_count")
	}
	if got, code := postJSON(t, ps.admin[i]+"/purge", body); code != http.StatusOK {
		t.Fatalf("replica %d: POST /purge %s: %d %s", i+1, body, code, got)
	}
	for j := range ps.pub {
		if j != i {
			ps.waitMetric(t, j, received[j]+1, "vitrine_purge_propagation_seconds_count")
		}
	}
}

// TestReplicasPurge: three replicas share banners through Redis. A soft
// purge asked of one reaches the three: each serves banners stale once,
// then fresh, and the backend sees exactly one fetch. A hard purge: the next
// reads, at once on the three, fetch once. A replica that was not running
// when a tile was purged does not take the purged copy from Redis.
func TestReplicasPurge(t *testing.T) {
	ps := startPurgeSet(t, 3)
	fetches := func(tile string) int64 { return backendStats(t, ps.backends)[tile][""] }
	for i := range ps.pub {
		if got := ps.status(t, i, "banners"); got != "ok" {
			t.Fatalf("replica %d before the purge: banners %s; want ok", i+1, got)
		}
	}
	if got := fetches("banners"); got != 1 {
		t.Fatalf("banners fetched %d times by three replicas; want 1", got)
	}

	ps.purge(t, 0, `{"tile": "banners"}`)
	for i := range ps.pub {
		refreshes := ps.metric(t, i, "vitrine_cache_refreshes_total", "tile", "banners")
		if got := ps.status(t, i, "banners"); got != "stale" {
			t.Errorf("replica %d, first read after a soft purge: banners %s; want stale", i+1, got)
		}
		ps.waitMetric(t, i, refreshes+1, "vitrine_cache_refreshes_total", "tile", "banners")
		if got := ps.status(t, i, "banners"); got != "ok" {
			t.Errorf("replica %d, once refreshed: banners %s; want ok", i+1, got)
		}
	}
	if got := fetches("banners"); got != 2 {
		t.Errorf("banners fetched %d times in all; want 2 (one refresh after the soft purge, cluster-wide)", got)
	}

	ps.purge(t, 1, `{"tile": "banners", "soft": false}`)
	errs := make(chan error, len(ps.pub))
	for i := range ps.pub {
		go func() {
			var page homePage
			code := getJSON(t, http.DefaultClient, ps.pub[i]+"/home", &page)
			if st := page.Tiles["banners"].Status; code != http.StatusOK || st != "ok" {
				errs <- fmt.Errorf("replica %d after a hard purge: %d, banners %s; want 200, ok", i+1, code, st)
				return
			}
			errs <- nil
		}()
	}
	for range ps.pub {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := fetches("banners"); got != 3 {
		t.Errorf("banners fetched %d times in all; want 3 (one fetch after the hard purge, cluster-wide)", got)
	}

	// products is in Redis, fresh; purged hard while a fourth replica is
	// not running, it must not be adopted by that replica when it starts.
	ps.purge(t, 2, `{"tags": ["products"], "soft": false}`)
	ps.add(t)
	if got := ps.status(t, 3, "products"); got != "ok" {
		t.Errorf("replica 4: products %s; want ok", got)
	}
	if got := fetches("products"); got != 2 {
		t.Errorf("products fetched %d times in all; want 2 (replica 4 fetched, not adopted the purged copy)", got)
	}
}

// BenchmarkPurgePropagation: three replicas; replica 1 is asked to purge,
// one purge at a time, and the benchmark times each from the POST until
// replicas 2 and 3 count it in their /metrics (polled as fast as they
// answer, so a few ms of the figure are the polling): p50 and p99 in ms.
func BenchmarkPurgePropagation(b *testing.B) {
	ps := startPurgeSet(b, 3)
	var delays []time.Duration
	for b.Loop() {
		var counts [3]float64
		for j := 1; j < 3; j++ {
			counts[j] = ps.metric(b, j, "vitrine_purge_propagation_seconds_count")
		}
		start := time.Now()
		resp, err := http.Post(ps.admin[0]+"/purge", "application/json", strings.NewReader(`{"tile": "banners"}`))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("POST /purge: %v %v", resp, err)
		}
		resp.Body.Close()
		for j := 1; j < 3; j++ {
			for ps.metric(b, j, "vitrine_purge_propagation_seconds_count") <= counts[j] {
				if time.Since(start) > 10*time.Second {
					b.Fatalf("replica %d: no purge within 10s", j+1)
				}
			}
			delays = append(delays, time.Since(start))
		}
	}
	slices.Sort(delays)
	ms := func(q float64) float64 { return float64(delays[int(q*float64(len(delays)-1))]) / 1e6 }
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

// TestReplicaCutFromRedisDuringAPurge: a replica whose connections to
// Redis are cut while another replica purges a tile it holds fresh in
// memory goes on serving it fresh (it cannot know), but once it reaches
// Redis again it reads the purge it missed and serves the tile stale, then
// fresh, and the backend sees the one refresh.
func TestReplicaCutFromRedisDuringAPurge(t *testing.T) {
	ps := startPurgeSet(t, 1)
	cut := newCutProxy(t, ps.redis.Addr())
	ps.add(t, "redis://"+cut.addr+"/0")
	for i := range ps.pub {
		if got := ps.status(t, i, "banners"); got != "ok" {
			t.Fatalf("replica %d before the purge: banners %s; want ok", i+1, got)
		}
	}
	cut.set(true)
	received := ps.metric(t, 1, "vitrine_purge_propagation_seconds_count")
	if got, code := postJSON(t, ps.admin[0]+"/purge", `{"tile": "banners"}`); code != http.StatusOK {
		t.Fatalf("POST /purge: %d %s", code, got)
	}
	if got := ps.status(t, 1, "banners"); got != "ok" {
		t.Errorf("replica 2, cut from Redis: banners %s; want ok (it has not heard of the purge)", got)
	}
	cut.set(false)
	ps.waitMetric(t, 1, received+1, "vitrine_purge_propagation_seconds_count")
	refreshes := ps.metric(t, 1, "vitrine_cache_refreshes_total", "tile", "banners")
	if got := ps.status(t, 1, "banners"); got != "stale" {
		t.Errorf("replica 2, back on Redis: banners %s; want stale", got)
	}
	ps.waitMetric(t, 1, refreshes+1, "vitrine_cache_refreshes_total", "tile", "banners")
	if got := ps.status(t, 1, "banners"); got != "ok" {
		t.Errorf("replica 2, refreshed: banners %s; want ok", got)
	}
	if got := backendStats(t, ps.backends)["banners"][""]; got != 2 {
		t.Errorf("banners fetched %d times in all; want 2 (the first, and one refresh after the purge)", got)
	}
}

// cutProxy forwards TCP connections to a server until it is cut: then it
// closes those open and refuses new ones, until it is set back.
type cutProxy struct {
	addr  string
	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); p.set(true); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil || !p.track(c, s) {
				c.Close()
				if s != nil {
					s.Close()
				}
				continue
			}
			wg.Go(func() { io.Copy(s, c); s.Close() })
			wg.Go(func() { io.Copy(c, s); c.Close() })
		}
	})
	return p
}

// track keeps both ends of a connection to close on a cut; false if cut.
func (p *cutProxy) track(c, s net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cut {
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	}
	return !p.cut
}

func (p *cutProxy) set(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
