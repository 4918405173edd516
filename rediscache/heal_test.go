package rediscache

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"vitrine/resilience"
	"vitrine/servertest"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// realTier is a Cache on the wall clock over a redis-server of its own,
// and a client of the test's to plant values with.
func realTier(t *testing.T) (*Cache, *recorder, *redis.Client) {
	t.Helper()
	srv := servertest.Redis(t)
	client, err := Connect(Settings{URL: srv.URL(), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c := New(Options{Client: client, Timeout: time.Second, Recorder: rec})
	t.Cleanup(func() { c.Close() })
	planter := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { planter.Close() })
	return c, rec, planter
}

// TestAPersonalisedTileHealsACorruptEntry: a personalised tile's fetch
// ends with its caller, so it used to spend its whole time waiting for a
// lease nobody held while the tier saw an entry too fresh to claim and
// too bad to serve: the fallback every time, the backend never asked.
// Against a real redis-server, the bad entry and a lease left without an
// expiry are each deleted or taken over, the backend answers, and its
// entry replaces the bad one.
func TestAPersonalisedTileHealsACorruptEntry(t *testing.T) {
	const user = "ann"
	keys := resilience.NewUserKeys([]byte("secret"))
	plants := []struct {
		name  string
		plant func(ctx context.Context, r *redis.Client, entry, lease string) error
	}{
		{"data x, fresh far off", func(ctx context.Context, r *redis.Client, entry, _ string) error {
			return r.HSet(ctx, entry, "data", "x", "fresh", time.Now().Add(24*time.Hour).UnixMilli()).Err()
		}},
		{"a lease without an expiry", func(ctx context.Context, r *redis.Client, _, lease string) error {
			return r.Set(ctx, lease, "stuck", 0).Err()
		}},
	}
	for _, tc := range plants {
		t.Run(tc.name, func(t *testing.T) {
			c, rec, planter := realTier(t)
			entry, lease := c.keys("recommendations", keys.Key(user))
			if err := tc.plant(t.Context(), planter, entry, lease); err != nil {
				t.Fatal(err)
			}
			backend := tilestest.Serving("recommendations", tiles.Fresh(tilestest.String("for ann")))
			p := resilience.DefaultPolicy(10*time.Millisecond, true)
			p.Fallback, p.HedgeAdaptive = tilestest.String("fallback"), false
			p.FetchTimeout, p.SharedWait = 20*time.Second, 10*time.Second // far past the caller's 2s
			tile := resilience.Wrap(backend, p, resilience.Options{Shared: c, UserKeys: keys})
			defer tile.Close()

			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			out, err := tile.Fetch(ctx, tiles.Request{User: user})
			if err != nil || out.Status != tiles.StatusOK || string(out.Data) != `"for ann"` {
				t.Fatalf("Fetch = %s %s, %v; want ok from the backend", out.Status, out.Data, err)
			}
			tile.Wait()
			if got := backend.Calls(); got != 1 {
				t.Errorf("backend asked %d times; want 1", got)
			}
			if got, err := planter.HGet(t.Context(), entry, "data").Result(); got != `"for ann"` {
				t.Errorf("Redis entry data = %q, %v; want the backend's answer", got, err)
			}
			if n, _ := planter.Exists(t.Context(), lease).Result(); n != 0 {
				t.Error("the lease is still there once the entry is stored")
			}
			if got := rec.count("corrupt recommendations"); got != 1 {
				t.Errorf("corrupt = %d; want 1", got)
			}
			if strings.Contains(entry, user) {
				t.Errorf("Redis key %q holds the user id", entry)
			}
		})
	}
}
