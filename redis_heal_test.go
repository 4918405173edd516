package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"vitrine/resilience"
	"vitrine/servertest"
)

// The tests of this file give a replica a real redis-server that lies: a
// corrupt entry, a lease that never expires, a full memory.

// homeTiles GETs /home for user and returns each tile's status.
func homeTiles(t *testing.T, base, user string) map[string]string {
	t.Helper()
	code, statuses := tileStatuses(t, base+"/home?user="+user)
	if code != http.StatusOK {
		t.Fatalf("GET /home?user=%s: %d; want 200", user, code)
	}
	return statuses
}

// TestRedisCorruptPersonalEntryHeals: a personalised tile whose Redis
// entry is "data x" fresh for a day, or whose lease never expires, is
// fetched from its backend and its entry replaced, counted as corrupt. A
// tile timeout under the shared wait made each request wait for a lease
// nobody held and serve the fallback, for ever.
func TestRedisCorruptPersonalEntryHeals(t *testing.T) {
	const secret, user = "the replicas' shared secret", "ann"
	backends := startBackends(t, "-latency", "banners=1ms,products=1ms,recommendations=1ms")
	entry := "vitrine:v2:{15:recommendations/22:" + resilience.NewUserKeys([]byte(secret)).Key(user) + "}"
	for _, tc := range []struct {
		name  string
		plant func(r *redis.Client) error
	}{
		{"data x, fresh far off", func(r *redis.Client) error {
			return r.HSet(t.Context(), entry, "data", "x", "fresh", time.Now().Add(24*time.Hour).UnixMilli()).Err()
		}},
		{"a lease without an expiry", func(r *redis.Client) error { return r.Set(t.Context(), entry+":lease", "x", 0).Err() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := servertest.Redis(t)
			r := redis.NewClient(&redis.Options{Addr: srv.Addr()})
			defer r.Close()
			if err := tc.plant(r); err != nil {
				t.Fatal(err)
			}
			// The tile timeout is under the shared wait (500ms by default).
			in := start(t, "-redis", srv.URL(), "-redis-timeout", "2s", "-backend", tilesAt(backends.base),
				"-key-secret", secret, "-tile-timeout", "400ms", "-hedge", "recommendations=off")
			var got string
			for range 5 { // a busy machine may miss the 400ms once
				if got = homeTiles(t, in.base, user)["recommendations"]; got == "ok" {
					break
				}
			}
			if got != "ok" {
				t.Fatalf("recommendations: %q; want ok from its backend", got)
			}
			if n := backendStats(t, backends.base)["recommendations"][user]; n == 0 {
				t.Error("the recommendations backend was never asked")
			}
			if data, err := r.HGet(t.Context(), entry, "data").Result(); err != nil || !strings.HasPrefix(data, "{") {
				t.Errorf("Redis entry data = %q, %v; want the backend's answer", data, err)
			}
			m, err := scrapeMetrics(http.DefaultClient, in.base)
			if err != nil {
				t.Fatal(err)
			}
			if n := m.sum("vitrine_redis_corrupt_total", "tile", "recommendations"); n < 1 {
				t.Errorf("vitrine_redis_corrupt_total{tile=recommendations} = %g; want 1 or more", n)
			}
		})
	}
}

// TestRedisFullIsDegraded: with Redis full (maxmemory 2mb, noeviction) the
// replica's claims fail while Redis answers: pages stay 200, /readyz says
// degraded (200), the errors are counted by operation, and a Warn says so
// once, not once per call.
func TestRedisFullIsDegraded(t *testing.T) {
	backends := startBackends(t, "-latency", "banners=1ms,products=1ms,recommendations=1ms")
	srv := servertest.Redis(t)
	fillRedis(t, srv.Addr())
	in := start(t, append([]string{"-redis", srv.URL(), "-backend", tilesAt(backends.base)}, sturdyArgs...)...)
	for i := range 20 {
		homeTiles(t, in.base, fmt.Sprint("u", i))
	}
	checkReady(t, http.DefaultClient, []*server{in}, "degraded", "degraded")
	m, err := scrapeMetrics(http.DefaultClient, in.base)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.sum("vitrine_redis_errors_total", "op", "claim"); n < 20 {
		t.Errorf(`vitrine_redis_errors_total{op="claim"} = %g; want 20 or more`, n)
	}
	if up := m.sum("vitrine_redis_up"); up != 1 {
		t.Errorf("vitrine_redis_up = %g; want 1: Redis answers", up)
	}
	if n := strings.Count(in.stderr.String(), "redis calls failing"); n != 1 {
		t.Errorf("logged %d \"redis calls failing\"; want 1:\n%s", n, in.stderr)
	}
}

// fillRedis sets the redis-server at addr to 2mb with noeviction and
// fills it until a write is refused.
func fillRedis(t *testing.T, addr string) {
	t.Helper()
	r := redis.NewClient(&redis.Options{Addr: addr})
	defer r.Close()
	for _, kv := range [][2]string{{"maxmemory", "2mb"}, {"maxmemory-policy", "noeviction"}} {
		if err := r.ConfigSet(t.Context(), kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; ; i++ {
		err := r.Set(t.Context(), fmt.Sprint("ballast:", i), strings.Repeat("x", 4096), 0).Err()
		if err != nil && strings.Contains(err.Error(), "OOM") {
			return
		}
		if err != nil || i > 10_000 {
			t.Fatalf("filling Redis: %v after %d writes", err, i)
		}
	}
}
