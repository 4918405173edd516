package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vitrine/servertest"
)

// The tests of this file run Vitrine as a shop would run several replicas:
// real redis-server and nginx processes (package servertest; with CI=true a
// missing one fails the test, elsewhere it is skipped), `vitrine backends`
// counting the requests that reach each tile per user, and replicas in this
// process.

// replicaSet is a shared Redis, replicas of Vitrine over one set of
// backends, and nginx in front of them with the shipped
// examples/nginx.conf.
type replicaSet struct {
	backends string // base URL of `vitrine backends`
	redis    *servertest.RedisServer
	replicas []*server
	proxy    *servertest.NginxServer
}

// startReplicas starts Redis, n replicas reading their tiles over HTTP from
// backends (a base URL; "" starts `vitrine backends` with fixed latencies)
// with the shared tier, each with args added, and nginx in front of the
// first two.
func startReplicas(t *testing.T, backends string, n int, args ...string) *replicaSet {
	t.Helper()
	rs := &replicaSet{backends: backends, redis: servertest.Redis(t)}
	if rs.backends == "" {
		rs.backends = startBackends(t, "-latency", "banners=5ms,products=10ms,recommendations=15ms").base
	}
	for range n {
		rs.addReplica(t, args...)
	}
	rs.proxy = servertest.Nginx(t, nginxSite(t, rs.replicas[0].base, rs.replicas[1].base))
	return rs
}

// addReplica starts one more replica, as the others were started.
func (rs *replicaSet) addReplica(t *testing.T, args ...string) *server {
	t.Helper()
	base := []string{
		"-redis", rs.redis.URL(),
		"-backend", tilesAt(rs.backends),
		// A hedge is a second request for the same key: off, so that the
		// backends' counts are fetches.
		"-hedge", "banners=off,products=off,recommendations=off",
		"-key-secret", "the replicas' shared secret",
	}
	base = append(base, sturdyArgs...)
	in := start(t, append(base, args...)...)
	rs.replicas = append(rs.replicas, in)
	return in
}

// sturdyArgs keep these tests about coordination, not deadlines: on a
// machine busy with the rest of the test suite (CI runs the packages in
// parallel on two cores) a Redis call can take longer than the 100ms
// default and a tile longer than its 500ms, and the tier or the tile would
// then rightly carry on without, which is TestReplicasCarryOnWithoutRedis's
// subject, not these tests'.
var sturdyArgs = []string{"-redis-timeout", "2s", "-tile-timeout", "5s", "-page-timeout", "10s"}

// nginxSite is examples/nginx.conf listening on a free port, in front of
// the two replicas at base URLs a and b.
func nginxSite(t testing.TB, a, b string) string {
	t.Helper()
	return servertest.ShippedSite(t, "examples/nginx.conf", strings.TrimPrefix(a, "http://"), strings.TrimPrefix(b, "http://"))
}

// backendStats returns the backends' request counts by tile, then user.
func backendStats(t testing.TB, base string) map[string]map[string]int64 {
	t.Helper()
	var stats map[string]map[string]int64
	if code := getJSON(t, http.DefaultClient, base+"/stats", &stats); code != http.StatusOK {
		t.Fatalf("GET %s/stats: %d", base, code)
	}
	return stats
}

// checkPages fails the test unless every page of res came back 200 with
// every tile ok or stale: no error, no timeout, not even a fallback.
func checkPages(t *testing.T, what string, res loadResult) {
	t.Helper()
	bad := 0
	for _, p := range res.pages {
		if p.code != http.StatusOK || p.tiles != 3 || int(p.status[stOK])+int(p.status[stStale]) != p.tiles {
			bad++
		}
	}
	if bad > 0 || len(res.pages) == 0 || res.stopped {
		t.Errorf("%s: %d of %d pages not 200 with every tile ok or stale (stopped early: %v); tiles: %s",
			what, bad, len(res.pages), res.stopped, res.tileSummary())
	}
}

func TestReplicasFetchEachKeyOnce(t *testing.T) {
	rs := startReplicas(t, "", 2, "-ttl", "banners=10m,products=10m,recommendations=10m")
	client := newLoadClient(32)
	defer client.CloseIdleConnections()
	const users = 300
	res := drive(t.Context(), client, rs.proxy.URL(), loadPlan{workers: 32, pages: 3000, maxTime: time.Minute, path: usersPath(users)})
	checkPages(t, "through nginx", res)

	// Both replicas served pages (round robin), and each key reached the
	// backend once across them.
	for i, in := range rs.replicas {
		m, err := scrapeMetrics(client, in.base)
		if err != nil {
			t.Fatal(err)
		}
		if pages := m.sum("vitrine_pages_total"); pages < 1000 {
			t.Errorf("replica %d served %g pages; want about half of 3000", i, pages)
		}
	}
	stats := backendStats(t, rs.backends)
	for _, tile := range []string{"banners", "products"} {
		if got := stats[tile][""]; got != 1 {
			t.Errorf("%s fetched %d times across both replicas; want 1", tile, got)
		}
	}
	if got := len(stats["recommendations"]); got != users {
		t.Errorf("recommendations fetched for %d users; want %d", got, users)
	}
	for user, n := range stats["recommendations"] {
		if n != 1 {
			t.Errorf("recommendations for %q fetched %d times across both replicas; want 1", user, n)
		}
	}

	// A replica started now serves its first page from Redis.
	third := rs.addReplica(t, "-ttl", "banners=10m,products=10m,recommendations=10m")
	var page homePage
	if code := getJSON(t, client, third.base+"/home?user=u7", &page); code != http.StatusOK {
		t.Fatalf("third replica: GET /home: %d", code)
	}
	for name, tile := range page.Tiles {
		if tile.Status != "ok" {
			t.Errorf("third replica's first page: %s is %s; want ok", name, tile.Status)
		}
	}
	after := backendStats(t, rs.backends)
	if after["banners"][""] != 1 || after["products"][""] != 1 || after["recommendations"]["u7"] != 1 {
		t.Errorf("the third replica's first page reached the backends: counts now %v, %v, u7 %v; want 1 each",
			after["banners"][""], after["products"][""], after["recommendations"]["u7"])
	}
	m, err := scrapeMetrics(client, third.base)
	if err != nil {
		t.Fatal(err)
	}
	if hits := m.sum("vitrine_redis_hits_total"); hits != 3 {
		t.Errorf("third replica: %g Redis hits; want 3, one per tile", hits)
	}
}

func TestReplicasFetchOncePerTTL(t *testing.T) {
	// Short TTLs: over about six TTLs of load, the anonymous tiles are
	// refreshed about once per TTL across both replicas, not once per
	// replica.
	const ttl = 500 * time.Millisecond
	rs := startReplicas(t, "", 2, "-ttl", "banners=500ms,products=500ms,recommendations=1m")
	client := newLoadClient(16)
	defer client.CloseIdleConnections()
	start := time.Now()
	res := drive(t.Context(), client, rs.proxy.URL(), loadPlan{workers: 16, pages: 100_000, maxTime: 6 * ttl, path: usersPath(50)})
	elapsed := time.Since(start)
	checkPages(t, "through nginx", loadResult{pages: res.pages, tiles: res.tiles})
	// A key is fetched when it is first missed, then at most once per
	// TTL (a refresh is due only once the entry is past it).
	most := int64(elapsed/ttl) + 1
	stats := backendStats(t, rs.backends)
	t.Logf("%d pages in %v; backend fetches: banners %d, products %d", len(res.pages), elapsed.Round(time.Millisecond), stats["banners"][""], stats["products"][""])
	for _, tile := range []string{"banners", "products"} {
		if got := stats[tile][""]; got < 2 || got > most {
			t.Errorf("%s: %d backend fetches in %v with a TTL of %v across two replicas; want 2 to %d",
				tile, got, elapsed.Round(time.Millisecond), ttl, most)
		}
	}
}

func TestReplicasCarryOnWithoutRedis(t *testing.T) {
	rs := startReplicas(t, "", 2, "-ttl", "banners=200ms,products=200ms,recommendations=200ms")
	client := newLoadClient(16)
	defer client.CloseIdleConnections()
	// New users all along, so that the tier is read and written throughout.
	var seq sync.Mutex
	next := 0
	path := func(int) string {
		seq.Lock()
		defer seq.Unlock()
		next++
		return fmt.Sprintf("/home?user=n%d", next)
	}
	phase := func(what string, d time.Duration) {
		t.Helper()
		res := drive(t.Context(), client, rs.proxy.URL(), loadPlan{workers: 16, pages: 100_000, maxTime: d, path: path})
		checkPages(t, what, loadResult{pages: res.pages, tiles: res.tiles})
	}
	writes := func() float64 {
		var total float64
		for _, in := range rs.replicas {
			m, err := scrapeMetrics(client, in.base)
			if err != nil {
				t.Fatal(err)
			}
			total += m.sum("vitrine_redis_writes_total")
		}
		return total
	}
	phase("Redis up", time.Second)
	before := writes()
	if before == 0 {
		t.Fatal("no Redis writes while Redis was up")
	}
	rs.redis.Stop()
	phase("Redis down", 2*time.Second)
	if got := writes(); got != before {
		t.Errorf("Redis writes while it was down: %g; want none", got-before)
	}
	checkReady(t, client, rs.replicas, "degraded", "down")
	rs.redis.Start()
	phase("Redis back", 2*time.Second)
	if got := writes(); got <= before {
		t.Errorf("no Redis writes after Redis came back; want the tier used again")
	}
	checkReady(t, client, rs.replicas, "ready", "up")
	// Each replica said so once each way, not once per failed call.
	for i, in := range rs.replicas {
		logs := in.stderr.String()
		if down, up := strings.Count(logs, "redis unreachable"), strings.Count(logs, "redis reachable again"); down != 1 || up != 1 {
			t.Errorf("replica %d logged \"redis unreachable\" %d times and \"redis reachable again\" %d times; want once each:\n%s", i, down, up, logs)
		}
	}
}

// checkReady fails the test unless every replica's /readyz answers 200
// with status and the Redis state given.
func checkReady(t *testing.T, client *http.Client, replicas []*server, status, redis string) {
	t.Helper()
	for i, in := range replicas {
		var ready struct {
			Status string
			Redis  struct{ State string }
		}
		if code := getJSON(t, client, in.base+"/readyz", &ready); code != http.StatusOK || ready.Status != status || ready.Redis.State != redis {
			t.Errorf("replica %d /readyz: %d, %q, redis %q; want 200, %q, redis %q", i, code, ready.Status, ready.Redis.State, status, redis)
		}
	}
}

// TestReplicasStreamThroughNginx holds the products backend until the
// client has read the banners tile through nginx: if nginx buffered the
// page, the client would wait for products until the test's deadline.
func TestReplicasStreamThroughNginx(t *testing.T) {
	backends := startBackends(t, "-latency", "banners=1ms,products=1ms,recommendations=1ms").base
	target, err := url.Parse(backends)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	release := make(chan struct{}) // one send lets one products request through
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/products" {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer gate.Close()
	// The products tile is never cached, so that each page waits for it.
	rs := startReplicas(t, gate.URL, 2, "-ttl", "products=0", "-tile-timeout", "20s", "-page-timeout", "30s")
	for _, tc := range []struct{ format, first string }{
		{"html", `id="tile-banners"`},
		{"ndjson", `"banners"`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rs.proxy.URL()+"/home?format="+tc.format, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d; want 200", resp.StatusCode)
			}
			r := bufio.NewReader(resp.Body)
			var seen strings.Builder
			for !strings.Contains(seen.String(), tc.first) {
				line, err := r.ReadString('\n')
				seen.WriteString(line)
				if err != nil {
					t.Fatalf("no %s before the products backend answered (%v): nginx held the stream back; got:\n%s", tc.first, err, seen.String())
				}
			}
			select {
			case release <- struct{}{}:
			case <-ctx.Done():
				t.Fatal("the replica never asked the products backend")
			}
			rest, err := io.ReadAll(r)
			if err != nil || !strings.Contains(string(rest), "products") {
				t.Errorf("the rest of the page: %v, %d bytes without products", err, len(rest))
			}
		})
	}
}

// TestReplicaSIGTERMBehindNginx stops one of two replicas (the built
// binary) with SIGTERM under load through nginx: no page fails, because the
// replica finishes the pages it has begun and nginx sends the others to the
// replica left.
func TestReplicaSIGTERMBehindNginx(t *testing.T) {
	redis := servertest.Redis(t)
	backends := startBackends(t, "-latency", "banners=5ms,products=10ms,recommendations=15ms").base
	env := cleanEnv(
		"VITRINE_REDIS="+redis.URL(),
		"VITRINE_BACKEND="+tilesAt(backends),
		"VITRINE_KEY_SECRET=the replicas' shared secret",
	)
	a := startBinary(t, env, sturdyArgs...)
	b := startBinary(t, env, sturdyArgs...)
	proxy := servertest.Nginx(t, nginxSite(t, a.base, b.base))

	client := newLoadClient(32)
	defer client.CloseIdleConnections()
	done := make(chan loadResult)
	go func() {
		done <- drive(t.Context(), client, proxy.URL(), loadPlan{workers: 32, pages: 100_000, maxTime: 3 * time.Second, path: usersPath(500)})
	}()
	time.Sleep(time.Second) // load on both replicas
	if err := a.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.exited:
		if a.err != nil {
			t.Errorf("the replica stopped with SIGTERM exited with %v; want 0", a.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the replica did not exit within 20s of SIGTERM")
	}
	res := <-done
	checkPages(t, "under load while a replica stopped", loadResult{pages: res.pages, tiles: res.tiles})
}
