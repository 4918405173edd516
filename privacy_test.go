package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"vitrine/servertest"
)

// TestUserIDsStayPrivate serves pages to 1,000 users through a Vitrine with
// the shared tier and HTTP backends, tracing every page to stdout (its
// spans, the backend client's among them, whole): then no Redis key, log
// line or span holds a user id. Without -key-secret, one Warn says that
// personalised entries are not shared.
func TestUserIDsStayPrivate(t *testing.T) {
	const users, id = 1000, "uid7x" // every user id holds id
	rdb := servertest.Redis(t)
	be := startBackends(t, fastArgs...)
	vitrine := start(t, append([]string{"-redis", rdb.URL(), "-backend", tilesAt(be.base), "-trace", "stdout",
		"-trace-sample", "1"}, sturdyArgs...)...)
	client := newLoadClient(16)
	defer client.CloseIdleConnections()
	res := drive(t.Context(), client, vitrine.base, loadPlan{workers: 16, pages: users, maxTime: time.Minute,
		path: func(i int) string { return fmt.Sprintf("/home?user=%s%04d", id, i) }})
	checkPages(t, "pages", res)
	var page homePage
	if code := getJSON(t, client, vitrine.base+"/tiles/recommendations?user="+id+"0007", &page); code != http.StatusOK {
		t.Fatalf("GET /tiles/recommendations: %d", code)
	}
	for _, bad := range []string{id + "0001.x", id + "0002 x", strings.Repeat(id, 13)} { // each a 400
		if code := getJSON(t, client, vitrine.base+"/home?user="+url.QueryEscape(bad), &page); code != http.StatusBadRequest {
			t.Errorf("GET /home?user=%s: %d; want 400", bad, code)
		}
	}
	samples, err := scrapeMetrics(client, vitrine.base)
	if err != nil {
		t.Fatal(err)
	}
	// Each user's recommendations: their key, data and overhead, some hundreds of bytes.
	if got := samples.sum("vitrine_redis_personal_bytes"); got < users*200 || got > users*10_000 {
		t.Errorf("vitrine_redis_personal_bytes = %g after %d users; want about %d users' entries", got, users, users)
	}
	if err := vitrine.stop(); err != nil { // flushes the spans
		t.Fatal(err)
	}

	if got := strings.Count(vitrine.stderr.String(), "no -key-secret"); got != 1 {
		t.Errorf("%d warnings of no -key-secret; want 1", got)
	}
	keys := redisKeys(t, rdb)
	if len(keys) < users {
		t.Fatalf("%d Redis keys; want one per user at least", len(keys))
	}
	for _, k := range keys {
		if strings.Contains(k, id) {
			t.Fatalf("Redis key %q holds a user id", k)
		}
	}
	for what, text := range map[string]string{"log": vitrine.stderr.String(), "spans": vitrine.stdout.String()} {
		if i := strings.Index(text, id); i >= 0 {
			t.Errorf("the %s hold a user id: %q", what, text[max(0, i-200):min(len(text), i+50)])
		}
	}
	if spans := strings.Count(vitrine.stdout.String(), `"SpanContext"`); spans < users {
		t.Errorf("%d spans; want several per page", spans)
	}
}

// redisKeys returns every key of rdb.
func redisKeys(t *testing.T, rdb *servertest.RedisServer) []string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: rdb.Addr()})
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var keys []string
	it := c.Scan(ctx, 0, "*", 1000).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestReplicasShareUsersBySecret: a personalised entry one replica stored
// in Redis serves another replica with the same -key-secret, not one with
// another secret.
func TestReplicasShareUsersBySecret(t *testing.T) {
	rdb := servertest.Redis(t)
	be := startBackends(t, fastArgs...)
	replica := func(secret string) *server {
		return start(t, append([]string{"-redis", rdb.URL(), "-backend", tilesAt(be.base), "-key-secret", secret},
			sturdyArgs...)...)
	}
	const one, other = "one secret of this shop", "another secret of a shop"
	for i, secret := range []string{one, one, other} {
		var page homePage
		url := replica(secret).base + "/tiles/recommendations?user=ann"
		if code := getJSON(t, http.DefaultClient, url, &page); code != http.StatusOK {
			t.Fatalf("replica %d: GET /tiles/recommendations: %d", i, code)
		}
		if got, want := backendStats(t, be.base)["recommendations"]["ann"], int64(max(1, i)); got != want {
			t.Errorf("after replica %d: recommendations fetched %d times for ann; want %d", i, got, want)
		}
	}
}
