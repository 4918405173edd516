package web

// Tests of what a page's header says of its tiles: whose Set-Cookie reaches
// the browser (the primary's and the allowed tiles', never the others'),
// that the streamed header waits for them, and the page's Cache-Control and
// Vary: shared only for an anonymous page of public tiles.

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/aggregator"
	"vitrine/identity"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

var forms = []string{"json", "html", "ndjson"}

// cookieServer serves fs with opts, over an aggregator of 500ms tiles.
func cookieServer(t testing.TB, opts Options, fs ...tiles.Fetcher) http.Handler {
	t.Helper()
	agg, err := aggregator.New(fs, aggregator.Options{TileTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("aggregator.New: %v", err)
	}
	return NewServer(slog.New(slog.DiscardHandler), agg, opts)
}

// setting is a tile that answers at once with cookies.
func setting(name string, cookies ...string) *tilestest.Fetcher {
	out := tiles.Fresh(tilestest.String(name))
	out.Cookies = cookies
	return tilestest.Serving(name, out)
}

// dropCounter records Options.CookiesDropped's calls.
type dropCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *dropCounter) dropped(tile string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[tile] += n
}

// TestSetCookie: the primary's and an allowed tile's cookies reach the
// client; another tile's are dropped and counted; and a page that sets
// cookies is private.
func TestSetCookie(t *testing.T) {
	for _, form := range forms {
		t.Run(form, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				drops := &dropCounter{}
				e := cookieServer(t, Options{Primary: "products", SetCookie: []string{"basket"},
					CookiesDropped: drops.dropped},
					setting("banners", "b=1"), setting("products", "p=1", "p=2"), setting("basket", "k=1"))
				rec, _ := serveAt(t.Context(), e, "/home?format="+form)
				got := slices.Sorted(slices.Values(rec.sent.Values("Set-Cookie")))
				if want := []string{"k=1", "p=1", "p=2"}; !slices.Equal(got, want) {
					t.Errorf("Set-Cookie = %q; want %q", got, want)
				}
				if got, want := drops.n, map[string]int{"banners": 1}; !mapsEqual(got, want) {
					t.Errorf("dropped = %v; want %v", got, want)
				}
				if got, want := rec.sent.Get("Cache-Control"), "no-cache, private"; got != want {
					t.Errorf("Cache-Control = %q; want %q", got, want)
				}
				list, _ := serveAt(t.Context(), e, "/tiles")
				if got := list.body.String(); strings.Count(got, `"set_cookie":true`) != 1 ||
					!strings.Contains(got, `"url":"/tiles/basket","source":"","view":"json","primary":false,"set_cookie":true}`) {
					t.Errorf("GET /tiles = %s; want set_cookie for basket alone", got)
				}
			})
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSetCookieHoldsHeader: a streamed page's header waits for a tile
// allowed to set cookies (no primary here), then carries its cookie.
func TestSetCookieHoldsHeader(t *testing.T) {
	for _, form := range []string{"html", "ndjson"} {
		t.Run(form, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				basket := &tilestest.Fetcher{TileName: "basket", FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
					select {
					case <-release:
						out := tiles.Fresh(tilestest.String("basket"))
						out.Cookies = []string{"cart=42"}
						return out, nil
					case <-ctx.Done():
						return tiles.Outcome{}, ctx.Err()
					}
				}}
				e := cookieServer(t, Options{SetCookie: []string{"basket"}}, setting("banners"), basket)
				rec := newClockRecorder()
				done := make(chan struct{})
				go func() {
					defer close(done)
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "/home?format="+form, nil)
					e.ServeHTTP(rec, req)
				}()
				synctest.Wait() // banners done, basket held
				rec.mu.Lock()
				code, wrote := rec.code, rec.body.Len()
				rec.mu.Unlock()
				if code != 0 || wrote != 0 {
					t.Fatalf("before the basket: status %d, %d bytes; want nothing sent", code, wrote)
				}
				close(release)
				<-done
				if got := rec.sent.Values("Set-Cookie"); !slices.Equal(got, []string{"cart=42"}) {
					t.Errorf("Set-Cookie = %q; want cart=42", got)
				}
				if got := tileOrder(t, form, rec.body.String()); !slices.Equal(got, []string{"banners", "basket"}) {
					t.Errorf("tiles = %v; want banners then basket", got)
				}
			})
		})
	}
}

// described is a fake tile with a description: how it is cached.
type described struct {
	*tilestest.Fetcher
	info tiles.Info
}

func (d described) Describe() tiles.Info { return d.info }

// cachedTile is a tile cached for ttl, personalised or not.
func cachedTile(name string, ttl time.Duration, personalised bool) described {
	return described{setting(name), tiles.Info{Name: name, Personalised: personalised,
		Policy: &tiles.PolicyInfo{TTL: ttl}}}
}

// TestPageCacheControl: an anonymous page of public tiles may be kept by a
// shared cache for the smallest TTL of its tiles; a page with a personalised
// tile, a shopper, or cookies stays private. Vary names the identity's header.
func TestPageCacheControl(t *testing.T) {
	public := []tiles.Fetcher{cachedTile("banners", 30*time.Second, false), cachedTile("products", 10*time.Second, false)}
	proxy := identity.NewHeader("X-User-Id", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")})
	const shared, private = "public, max-age=0, s-maxage=10", "no-cache, private"
	tests := []struct {
		name   string
		opts   Options
		fs     []tiles.Fetcher
		query  string
		header []string
		want   string
		vary   []string
	}{
		{"anonymous, public tiles", Options{}, public, "", nil, shared, []string{"Accept"}},
		{"a personalised tile", Options{},
			append(slices.Clone(public), cachedTile("recommendations", time.Minute, true)), "", nil, private, []string{"Accept"}},
		{"a shopper (query)", Options{}, public, "&user=alice", nil, private, []string{"Accept"}},
		{"a tile allowed to set cookies", Options{SetCookie: []string{"banners"}}, public, "", nil, private, []string{"Accept"}},
		{"a primary that sets a cookie", Options{Primary: "products"}, []tiles.Fetcher{public[0],
			described{setting("products", "p=1"), tiles.Info{Name: "products", Policy: &tiles.PolicyInfo{TTL: time.Minute}}}},
			"", nil, private, []string{"Accept"}},
		{"a tile of no fixed TTL", Options{}, append(slices.Clone(public), setting("deals")), "", nil, private, []string{"Accept"}},
		{"anonymous under a proxy's header", Options{Identity: proxy}, public, "", nil, shared,
			[]string{"Accept", "X-User-Id"}},
		{"a shopper under a proxy's header", Options{Identity: proxy}, public, "", []string{"X-User-Id: alice"},
			private, []string{"Accept", "X-User-Id"}},
		{"a tile given Accept-Language", Options{Forward: tiles.Forward{Headers: []string{"Accept-Language"}}},
			public, "", nil, shared, []string{"Accept", "Accept-Language"}},
		{"a tile given a cookie", Options{Forward: tiles.Forward{Cookies: []string{"cart"}}},
			public, "", nil, shared, []string{"Accept", "Cookie"}},
	}
	for _, tt := range tests {
		for _, form := range forms {
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					e := cookieServer(t, tt.opts, tt.fs...)
					rec, _ := serveAt(t.Context(), e, "/home?format="+form+tt.query, tt.header...)
					if rec.code != http.StatusOK {
						t.Fatalf("status = %d; want 200", rec.code)
					}
					if got := rec.sent.Get("Cache-Control"); got != tt.want {
						t.Errorf("Cache-Control = %q; want %q", got, tt.want)
					}
					var vary []string
					for _, v := range rec.sent.Values("Vary") {
						for p := range strings.SplitSeq(v, ",") {
							if p = strings.TrimSpace(p); p != "Accept-Encoding" {
								vary = append(vary, p)
							}
						}
					}
					if !slices.Equal(vary, tt.vary) {
						t.Errorf("Vary = %q; want %q", vary, tt.vary)
					}
				})
			})
		}
	}
}
