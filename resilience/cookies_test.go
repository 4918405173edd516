package resilience

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// cookieBackend answers "hello" after latency with a Set-Cookie line naming
// its call, "n=1", "n=2"..., as a backend that starts a session would.
func cookieBackend(latency time.Duration) *tilestest.Fetcher {
	var n atomic.Int64
	return &tilestest.Fetcher{TileName: "basket", FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
		call := n.Add(1)
		if err := tiles.Wait(ctx, latency); err != nil {
			return tiles.Outcome{}, err
		}
		out := tiles.Fresh(tilestest.String("hello"))
		out.Cookies = []string{"n=" + string(rune('0'+call))}
		return out, nil
	}}
}

// TestCoalescedCookies: shoppers who join another's flight share its content
// but never its cookies, which go to the shopper whose fetch it is.
func TestCoalescedCookies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := cookieBackend(100 * time.Millisecond)
		tile := Wrap(f, Policy{}, Options{}) // coalescing only
		defer tile.Close()
		var mu sync.Mutex
		var got [][]string
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				out, err := tile.Fetch(t.Context(), tiles.Request{})
				if err != nil || string(out.Data) != text("hello") {
					t.Errorf("Fetch = %s, %v; want hello", out.Data, err)
				}
				mu.Lock()
				got = append(got, out.Cookies)
				mu.Unlock()
			})
			synctest.Wait()
		}
		wg.Wait()
		if f.Calls() != 1 {
			t.Fatalf("backend calls = %d; want 1 (coalesced)", f.Calls())
		}
		withCookies := slices.IndexFunc(got, func(c []string) bool { return len(c) > 0 })
		if n := len(slices.DeleteFunc(slices.Clone(got), func(c []string) bool { return len(c) == 0 })); n != 1 {
			t.Errorf("cookies = %q; want them for one shopper only", got)
		} else if !slices.Equal(got[withCookies], []string{"n=1"}) {
			t.Errorf("cookies = %q; want n=1", got[withCookies])
		}
	})
}

// TestCachedCookies: an answer that sets cookies is not stored, in memory or
// the shared tier, so the next shopper gets a fetch of its own (and its own
// cookies), never the first one's answer or cookies.
func TestCachedCookies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := cookieBackend(0)
		p := DefaultPolicy(10*time.Millisecond, false)
		tile := Wrap(f, p, Options{})
		defer tile.Close()
		for i, want := range []string{"n=1", "n=2"} {
			out, err := tile.Fetch(t.Context(), tiles.Request{})
			if err != nil || !slices.Equal(out.Cookies, []string{want}) {
				t.Errorf("fetch %d: cookies %q, %v; want %s", i+1, out.Cookies, err, want)
			}
		}
		if f.Calls() != 2 {
			t.Errorf("backend calls = %d; want 2: an answer that sets cookies is not cached", f.Calls())
		}
	})
}
