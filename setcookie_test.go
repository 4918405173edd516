package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSetCookieOverTheWire: shoppers load the page at once, in every form,
// from HTTP backends that each set a cookie naming their call. The primary's
// and the allowed tile's cookies reach them, never another tile's (dropped
// and counted), and no cookie ever reaches two shoppers, although the
// primary's fetches are coalesced.
func TestSetCookieOverTheWire(t *testing.T) {
	var calls sync.Map // path to *atomic.Int64
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := calls.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n := c.(*atomic.Int64).Add(1)
		if r.URL.Path == "/main" {
			time.Sleep(200 * time.Millisecond) // long enough for shoppers to share a fetch
		}
		w.Header().Add("Set-Cookie", fmt.Sprintf("%s=%d; Path=/", strings.Trim(r.URL.Path, "/"), n))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"n":%d}`, n)
	}))
	defer be.Close()
	file := filepath.Join(t.TempDir(), "vitrine.yaml")
	yaml := fmt.Sprintf("tiles:\n  - name: main\n    url: %[1]s/main\n    primary: true\n    ttl: 10s\n"+
		"  - name: promo\n    url: %[1]s/promo\n    ttl: 10s\n  - name: basket\n    url: %[1]s/basket\n"+
		"    set-cookie: true\n", be.URL)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	vitrine := start(t, "-config", file, "-tile-timeout", "5s", "-page-timeout", "10s")
	const shoppers = 12
	got := make([][]string, shoppers)
	var wg sync.WaitGroup
	for i := range shoppers {
		wg.Go(func() {
			form := []string{"json", "html", "ndjson"}[i%3]
			resp, err := http.Get(vitrine.base + "/home?format=" + form)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != http.StatusOK || cc != "no-cache, private" {
				t.Errorf("%s: %d, Cache-Control %q; want 200, no-cache, private", form, resp.StatusCode, cc)
			}
			got[i] = resp.Header.Values("Set-Cookie")
		})
	}
	wg.Wait()
	if c, _ := calls.Load("/main"); c.(*atomic.Int64).Load() >= shoppers {
		t.Fatalf("main fetched %d times for %d shoppers; the test needs coalesced fetches", c.(*atomic.Int64).Load(), shoppers)
	}
	seen := map[string]int{}
	for i, cookies := range got {
		baskets := 0
		for _, c := range cookies {
			seen[c]++
			switch {
			case strings.HasPrefix(c, "promo="):
				t.Errorf("shopper %d got promo's cookie %q; want it dropped", i, c)
			case strings.HasPrefix(c, "basket="):
				baskets++
			}
		}
		if baskets != 1 {
			t.Errorf("shopper %d: cookies %q; want one of basket's own", i, cookies)
		}
	}
	for c, n := range seen {
		if n > 1 {
			t.Errorf("cookie %q reached %d shoppers; want one", c, n)
		}
	}
	m, err := scrapeMetrics(http.DefaultClient, vitrine.base)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.sum("vitrine_set_cookie_dropped_total", "tile", "promo"); n < 1 {
		t.Errorf("vitrine_set_cookie_dropped_total{tile=promo} = %g; want promo's cookies counted", n)
	}
}

// TestPublicPageOverTheWire: an anonymous page of public tiles with fixed
// TTLs may be kept by a shared cache for the smallest of them; a tile whose
// backend sets its freshness makes it private.
func TestPublicPageOverTheWire(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	defer be.Close()
	for _, tt := range []struct{ name, ttl, want string }{
		{"fixed TTLs", "    ttl: 20s\n", "public, max-age=0, s-maxage=15"},
		{"a backend's freshness", "", "no-cache, private"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "vitrine.yaml")
			yaml := fmt.Sprintf("tiles:\n  - name: news\n    url: %[1]s/news\n    ttl: 15s\n"+
				"  - name: promo\n    url: %[1]s/promo\n%[2]s", be.URL, tt.ttl)
			if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			vitrine := start(t, "-config", file)
			for _, form := range []string{"json", "html", "ndjson"} {
				resp, err := http.Get(vitrine.base + "/home?format=" + form)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := resp.Header.Get("Cache-Control"); got != tt.want {
					t.Errorf("%s: Cache-Control = %q; want %q", form, got, tt.want)
				}
			}
		})
	}
}
