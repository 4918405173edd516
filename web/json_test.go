package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/labstack/echo/v4"

	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

var tileNames = []string{"banners", "products", "recommendations"}

func TestHomeJSON(t *testing.T) {
	tests := []struct {
		name   string
		target string
		header []string
	}{
		{"no Accept", "/home", nil},
		{"Accept application/json", "/home", []string{"Accept: application/json"}},
		{"Accept */* (curl)", "/home", []string{"Accept: */*"}},
		{"Accept application/*", "/home", []string{"Accept: application/*"}},
		{"Accept json with charset", "/home", []string{"Accept: application/json; charset=utf-8"}},
		{"Accept json preferred by q", "/home", []string{"Accept: text/html;q=0.1, application/json;q=0.9"}},
		{"Accept nothing we serve", "/home", []string{"Accept: image/png"}},
		{"format=json", "/home?format=json", nil},
		{"format=json beats Accept", "/home?format=json", []string{"Accept: text/html"}},
		{"with a user", "/home?user=alice", nil},
		{"with an empty user", "/home?user=", nil},
		{"with a 64-character user", "/home?user=" + strings.Repeat("a", 64), nil},
		{"with other parameters", "/home?utm_source=x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, opts{}, fetchers(threeOK()...)...)
			rec := s.do(http.MethodGet, tt.target, tt.header...)
			checkStatus(t, rec, http.StatusOK)
			var page pageJSON
			decodeJSON(t, rec, &page)

			if got, want := keys(page.Tiles), tileNames; !slices.Equal(got, want) {
				t.Errorf("tiles = %v; want %v", got, want)
			}
			for name, tile := range page.Tiles {
				if tile.Name != name {
					t.Errorf("tiles[%q].name = %q; want %q", name, tile.Name, name)
				}
				if tile.Status != "ok" {
					t.Errorf("tiles[%q].status = %q; want ok (error %q)", name, tile.Status, tile.Error)
				}
				if tile.ElapsedMS == nil {
					t.Errorf("tiles[%q] has no elapsed_ms", name)
				}
				if want := `{"tile":"` + name + `"}`; string(tile.Data) != want {
					t.Errorf("tiles[%q].data = %s; want %s", name, tile.Data, want)
				}
				if tile.Error != "" {
					t.Errorf("tiles[%q].error = %q; want none", name, tile.Error)
				}
			}
			if page.ElapsedMS == nil || *page.ElapsedMS < 0 {
				t.Errorf("elapsed_ms = %v; want a number >= 0", page.ElapsedMS)
			}
			if page.Complete == nil || !*page.Complete {
				t.Errorf("complete = %v; want true", page.Complete)
			}
			if vary := rec.Header().Values(echo.HeaderVary); !containsToken(vary, "Accept") {
				t.Errorf("Vary = %q; want it to include Accept", vary)
			}
			st := serverTiming(t, rec.Header().Get("Server-Timing"))
			if got, want := keys(st), append(slices.Clone(tileNames), "total"); !slices.Equal(got, want) {
				t.Errorf("Server-Timing names = %v; want %v", got, want)
			}
		})
	}
}

// containsToken says whether the comma-separated header values hold tok.
func containsToken(values []string, tok string) bool {
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), tok) {
				return true
			}
		}
	}
	return false
}

func TestHomeTilesFail(t *testing.T) {
	tests := []struct {
		name      string
		products  *tilestest.Fetcher
		status    string
		errorHas  string
		timingHas string
	}{
		{"error", tilestest.Failing("products", errors.New("products: database down")), "error", "products: database down", "error"},
		{"error without the tile's name", tilestest.Failing("products", errors.New("database down")), "error", "products: database down", "error"},
		{"panic", tilestest.Panicking("products", "boom"), "error", "products: internal error (panic)", "error"},
		{"nil-pointer panic", &tilestest.Fetcher{TileName: "products", FetchFn: func(context.Context, tiles.Request) (tiles.Outcome, error) {
			var m map[string]int
			m["x"]++ // panics
			return tiles.Outcome{}, nil
		}}, "error", "products: internal error", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := threeOK()
			fs[1] = tt.products
			s := newServer(t, opts{}, fetchers(fs...)...)
			rec := s.do(http.MethodGet, "/home")
			checkStatus(t, rec, http.StatusOK) // a failed tile never fails the page
			var page pageJSON
			decodeJSON(t, rec, &page)
			if got := page.Tiles["products"]; got.Status != tt.status || !strings.Contains(got.Error, tt.errorHas) {
				t.Errorf("products = %q, %q; want %q, containing %q", got.Status, got.Error, tt.status, tt.errorHas)
			}
			if got := page.Tiles["products"].Data; len(got) != 0 {
				t.Errorf("products.data = %s; want none", got)
			}
			for _, name := range []string{"banners", "recommendations"} {
				if got := page.Tiles[name].Status; got != "ok" {
					t.Errorf("%s.status = %q; want ok", name, got)
				}
			}
			if page.Complete == nil || *page.Complete {
				t.Errorf("complete = %v; want false", page.Complete)
			}
			st := serverTiming(t, rec.Header().Get("Server-Timing"))
			if got := st["products"].desc; got != tt.timingHas {
				t.Errorf("Server-Timing products desc = %q; want %q", got, tt.timingHas)
			}
			if _, ok := st["total"]; !ok {
				t.Errorf("Server-Timing has no total")
			}

			// The process survives: the next page is fine.
			rec = s.do(http.MethodGet, "/healthz")
			checkStatus(t, rec, http.StatusOK)
		})
	}
}

// TestHomePageOrder: a page whose order is not alphabetical keeps it in
// every form: the JSON tiles object and Server-Timing in page order, the
// NDJSON lines in completion order.
func TestHomePageOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := time.Millisecond
		pageOrder := []string{"weather", "banners", "products"}
		s := newServer(t, opts{}, fetchers(
			tilestest.After("weather", 30*ms, tilestest.String("sunny")),
			tilestest.After("banners", 20*ms, tilestest.String("sale")),
			tilestest.After("products", 10*ms, tilestest.String("mugs")),
		)...)

		rec := s.do(http.MethodGet, "/home")
		checkStatus(t, rec, http.StatusOK)
		if got := tilesOrder(t, rec.Body.Bytes()); !slices.Equal(got, pageOrder) {
			t.Errorf("JSON tiles = %v; want page order %v", got, pageOrder)
		}
		var timed []string
		for entry := range strings.SplitSeq(rec.Header().Get("Server-Timing"), ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(entry), ";")
			timed = append(timed, name)
		}
		if want := append(slices.Clone(pageOrder), "total"); !slices.Equal(timed, want) {
			t.Errorf("Server-Timing names = %v; want %v", timed, want)
		}

		rec = s.do(http.MethodGet, "/home", "Accept: application/x-ndjson")
		checkStatus(t, rec, http.StatusOK)
		var lines []string
		for line := range strings.Lines(rec.Body.String()) {
			var tile tileJSON
			if err := json.Unmarshal([]byte(line), &tile); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			lines = append(lines, tile.Name)
		}
		if want := []string{"products", "banners", "weather", ""}; !slices.Equal(lines, want) {
			t.Errorf("NDJSON lines = %q; want completion order %q, then the summary", lines, want)
		}
	})
}

// TestHomeTiming runs /home through the handler on a fake clock: the page
// takes as long as its slowest tile, not the sum, and a tile past its
// timeout is reported as timed out without holding the page.
func TestHomeTiming(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name        string
		latency     [3]time.Duration // banners, products, recommendations
		timeout     time.Duration
		wantElapsed time.Duration
		wantStatus  [3]string
		complete    bool
	}{
		{"max not sum", [3]time.Duration{40 * ms, 80 * ms, 120 * ms}, 500 * ms, 120 * ms,
			[3]string{"ok", "ok", "ok"}, true},
		{"slowest first", [3]time.Duration{120 * ms, 80 * ms, 40 * ms}, 500 * ms, 120 * ms,
			[3]string{"ok", "ok", "ok"}, true},
		{"all equal", [3]time.Duration{100 * ms, 100 * ms, 100 * ms}, 500 * ms, 100 * ms,
			[3]string{"ok", "ok", "ok"}, true},
		{"one over its timeout", [3]time.Duration{40 * ms, 80 * ms, 5 * time.Second}, 300 * ms, 300 * ms,
			[3]string{"ok", "ok", "timeout"}, false},
		{"two over their timeout", [3]time.Duration{time.Hour, 80 * ms, 5 * time.Second}, 300 * ms, 300 * ms,
			[3]string{"timeout", "ok", "timeout"}, false},
		{"just under the timeout", [3]time.Duration{40 * ms, 80 * ms, 299 * ms}, 300 * ms, 299 * ms,
			[3]string{"ok", "ok", "ok"}, true},
		{"just over the timeout", [3]time.Duration{40 * ms, 80 * ms, 300*ms + time.Microsecond}, 300 * ms, 300 * ms,
			[3]string{"ok", "ok", "timeout"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var fs []*tilestest.Fetcher
				for i, name := range tileNames {
					fs = append(fs, tilestest.After(name, tt.latency[i], tilestest.String(name)))
				}
				s := newServer(t, opts{TileTimeout: tt.timeout}, fetchers(fs...)...)
				start := time.Now()
				rec := s.do(http.MethodGet, "/home")
				if got := time.Since(start); got != tt.wantElapsed {
					t.Errorf("/home took %v; want %v", got, tt.wantElapsed)
				}
				checkStatus(t, rec, http.StatusOK)
				var page pageJSON
				decodeJSON(t, rec, &page)
				if got, want := *page.ElapsedMS, float64(tt.wantElapsed/ms); got != want {
					t.Errorf("elapsed_ms = %v; want %v", got, want)
				}
				if got := *page.Complete; got != tt.complete {
					t.Errorf("complete = %v; want %v", got, tt.complete)
				}
				st := serverTiming(t, rec.Header().Get("Server-Timing"))
				if got, want := st["total"].dur, float64(tt.wantElapsed/ms); got != want {
					t.Errorf("Server-Timing total = %v; want %v", got, want)
				}
				for i, name := range tileNames {
					tile := page.Tiles[name]
					if tile.Status != tt.wantStatus[i] {
						t.Errorf("%s.status = %q; want %q (error %q)", name, tile.Status, tt.wantStatus[i], tile.Error)
					}
					wantMS := float64(min(tt.latency[i], tt.timeout) / ms)
					if got := *tile.ElapsedMS; got != wantMS {
						t.Errorf("%s.elapsed_ms = %v; want %v", name, got, wantMS)
					}
					if got := *tile.StartMS; got != 0 {
						t.Errorf("%s.start_ms = %v; want 0 (every tile starts at once)", name, got)
					}
					if got := st[name].dur; got != wantMS {
						t.Errorf("Server-Timing %s = %v; want %v", name, got, wantMS)
					}
					if tt.wantStatus[i] == "timeout" {
						if want := name + ": no answer within " + tt.timeout.String(); tile.Error != want {
							t.Errorf("%s.error = %q; want %q", name, tile.Error, want)
						}
						if got := st[name].desc; got != "timeout" {
							t.Errorf("Server-Timing %s desc = %q; want timeout", name, got)
						}
					}
				}
			})
		})
	}
}

func TestTileList(t *testing.T) {
	// Real tiles describe their simulated latency and failure rate.
	cat := catalogue.Default()
	var fs []tiles.Fetcher
	for _, d := range sim.Builtins() {
		s, err := sim.New(d, cat, sim.Backend{Latency: d.Latency, Fail: 0.25})
		if err != nil {
			t.Fatalf("sim.New(%s): %v", d.Name, err)
		}
		fs = append(fs, s)
	}
	s := newServer(t, opts{TileTimeout: 250 * time.Millisecond}, fs...)

	rec := s.do(http.MethodGet, "/tiles")
	checkStatus(t, rec, http.StatusOK)
	var list []map[string]any
	decodeJSON(t, rec, &list)
	want := []struct {
		name    string
		latency float64
	}{{"banners", 40}, {"products", 80}, {"recommendations", 120}}
	if len(list) != len(want) {
		t.Fatalf("GET /tiles listed %d tiles; want %d: %s", len(list), len(want), rec.Body)
	}
	for i, w := range want {
		t.Run(w.name, func(t *testing.T) {
			got := list[i]
			if got["name"] != w.name {
				t.Errorf("[%d].name = %v; want %q", i, got["name"], w.name)
			}
			if got["latency_ms"] != w.latency {
				t.Errorf("latency_ms = %v; want %v", got["latency_ms"], w.latency)
			}
			if got["timeout_ms"] != 250.0 {
				t.Errorf("timeout_ms = %v; want 250", got["timeout_ms"])
			}
			if got["fail_rate"] != 0.25 {
				t.Errorf("fail_rate = %v; want 0.25", got["fail_rate"])
			}
			if want := "/tiles/" + w.name; got["url"] != want {
				t.Errorf("url = %v; want %q", got["url"], want)
			}
		})
	}
}

func TestTileListFakes(t *testing.T) {
	s := newServer(t, opts{}, fetchers(threeOK()...)...)
	rec := s.do(http.MethodGet, "/tiles")
	checkStatus(t, rec, http.StatusOK)
	var list []struct {
		Name string `json:"name"`
	}
	decodeJSON(t, rec, &list)
	var names []string
	for _, l := range list {
		names = append(names, l.Name)
	}
	if !slices.Equal(names, tileNames) {
		t.Errorf("GET /tiles names = %v; want %v in page order", names, tileNames)
	}
}

// TestTileListViewAndPrimary: GET /tiles says how each tile is drawn and
// which one is the primary.
func TestTileListViewAndPrimary(t *testing.T) {
	fs := append(threeOK(), tilestest.After("weather", 0, json.RawMessage(`{}`)), tilestest.After("promo", 0, json.RawMessage(`""`)))
	s := newServer(t, opts{Primary: "products", Views: map[string]string{"banners": "json", "promo": "html"}}, fetchers(fs...)...)
	rec := s.do(http.MethodGet, "/tiles")
	checkStatus(t, rec, http.StatusOK)
	var list []struct {
		Name    string `json:"name"`
		View    string `json:"view"`
		Primary bool   `json:"primary"`
	}
	decodeJSON(t, rec, &list)
	want := map[string]string{"banners": "json", "products": "products", "recommendations": "recommendations", "weather": "json", "promo": "html"}
	if len(list) != len(want) {
		t.Fatalf("listed %d tiles; want %d", len(list), len(want))
	}
	for _, l := range list {
		if l.View != want[l.Name] {
			t.Errorf("%s: view = %q; want %q", l.Name, l.View, want[l.Name])
		}
		if l.Primary != (l.Name == "products") {
			t.Errorf("%s: primary = %v; want %v", l.Name, l.Primary, l.Name == "products")
		}
	}
}

func TestTile(t *testing.T) {
	tests := []struct {
		name       string
		fetcher    *tilestest.Fetcher
		timeout    time.Duration
		wantCode   int
		wantStatus string
		wantError  string
		wantData   string
		wantAgeMS  float64 // -1: no age_ms
	}{
		{"ok", tilestest.After("products", 80*time.Millisecond, json.RawMessage(`[1,2]`)), 0, http.StatusOK, "ok", "", "[1,2]", -1},
		{"timeout", tilestest.After("products", 5*time.Second, json.RawMessage(`[1]`)), 300 * time.Millisecond,
			http.StatusGatewayTimeout, "timeout", "products: no answer within 300ms", "", -1},
		{"error", tilestest.Failing("products", errors.New("backend unavailable")), 0,
			http.StatusBadGateway, "error", "products: backend unavailable", "", -1},
		{"panic", tilestest.Panicking("products", "boom"), 0,
			http.StatusBadGateway, "error", "products: internal error (panic)", "", -1},
		{"stale", tilestest.Serving("products", tiles.Outcome{Data: tilestest.String("old"), Status: tiles.StatusStale, Age: 1500 * time.Millisecond}),
			0, http.StatusOK, "stale", "", `"old"`, 1500},
		{"fallback", tilestest.Serving("products", tiles.Outcome{Data: tilestest.String("default"), Status: tiles.StatusFallback, Cause: errors.New("down")}),
			0, http.StatusOK, "fallback", "products: down", `"default"`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fs := threeOK()
				fs[1] = tt.fetcher
				s := newServer(t, opts{TileTimeout: tt.timeout}, fetchers(fs...)...)
				rec := s.do(http.MethodGet, "/tiles/products")
				checkStatus(t, rec, tt.wantCode)
				var tile tileJSON
				decodeJSON(t, rec, &tile)
				if tile.Name != "products" {
					t.Errorf("name = %q; want products", tile.Name)
				}
				if tile.Status != tt.wantStatus {
					t.Errorf("status = %q; want %q", tile.Status, tt.wantStatus)
				}
				if tile.Error != tt.wantError {
					t.Errorf("error = %q; want %q", tile.Error, tt.wantError)
				}
				if string(tile.Data) != tt.wantData {
					t.Errorf("data = %s; want %s", tile.Data, tt.wantData)
				}
				if tile.ElapsedMS == nil {
					t.Errorf("elapsed_ms is missing")
				}
				switch {
				case tt.wantAgeMS < 0 && tile.AgeMS != nil:
					t.Errorf("age_ms = %v; want none", *tile.AgeMS)
				case tt.wantAgeMS >= 0 && (tile.AgeMS == nil || *tile.AgeMS != tt.wantAgeMS):
					t.Errorf("age_ms = %v; want %v", tile.AgeMS, tt.wantAgeMS)
				}
				st := serverTiming(t, rec.Header().Get("Server-Timing"))
				if got, want := keys(st), []string{"products", "total"}; !slices.Equal(got, want) {
					t.Errorf("Server-Timing names = %v; want %v", got, want)
				}
				for _, other := range []*tilestest.Fetcher{fs[0], fs[2]} {
					if got := other.Calls(); got != 0 {
						t.Errorf("%s was fetched %d times; want 0", other.TileName, got)
					}
				}
			})
		})
	}
}

// TestUser checks that user reaches the tiles that depend on it, on the
// real built-in tiles, and that equal requests give equal data.
func TestUser(t *testing.T) {
	s := newServer(t, opts{}, builtins(t, 0)...)
	home := func(t *testing.T, query string) map[string]json.RawMessage {
		t.Helper()
		rec := s.do(http.MethodGet, "/home"+query)
		checkStatus(t, rec, http.StatusOK)
		var page pageJSON
		decodeJSON(t, rec, &page)
		data := map[string]json.RawMessage{}
		for name, tile := range page.Tiles {
			if tile.Status != "ok" {
				t.Fatalf("%s.status = %q; want ok (error %q)", name, tile.Status, tile.Error)
			}
			data[name] = tile.Data
		}
		return data
	}
	anon := home(t, "")
	alice := home(t, "?user=alice")
	bob := home(t, "?user=bob")

	t.Run("recommendations differ between users", func(t *testing.T) {
		if bytes.Equal(alice["recommendations"], bob["recommendations"]) {
			t.Errorf("alice and bob got the same recommendations: %s", alice["recommendations"])
		}
		if bytes.Equal(alice["recommendations"], anon["recommendations"]) {
			t.Errorf("alice got the anonymous recommendations: %s", alice["recommendations"])
		}
		var rec struct {
			User string `json:"user"`
		}
		if err := json.Unmarshal(alice["recommendations"], &rec); err != nil || rec.User != "alice" {
			t.Errorf("recommendations.user = %q (%v); want alice", rec.User, err)
		}
	})
	t.Run("impersonal tiles do not depend on user", func(t *testing.T) {
		for _, name := range []string{"banners", "products"} {
			if !bytes.Equal(alice[name], bob[name]) || !bytes.Equal(alice[name], anon[name]) {
				t.Errorf("%s differs between users", name)
			}
		}
	})
	t.Run("equal requests give equal data", func(t *testing.T) {
		again := home(t, "?user=alice")
		for _, name := range tileNames {
			if !bytes.Equal(alice[name], again[name]) {
				t.Errorf("%s differs between two equal requests:\n%s\n%s", name, alice[name], again[name])
			}
		}
	})
	t.Run("empty user is anonymous", func(t *testing.T) {
		empty := home(t, "?user=")
		if !bytes.Equal(empty["recommendations"], anon["recommendations"]) {
			t.Errorf("?user= got %s; want the anonymous %s", empty["recommendations"], anon["recommendations"])
		}
	})
	t.Run("GET /tiles/recommendations", func(t *testing.T) {
		rec := s.do(http.MethodGet, "/tiles/recommendations?user=bob")
		checkStatus(t, rec, http.StatusOK)
		var tile tileJSON
		decodeJSON(t, rec, &tile)
		if !bytes.Equal(tile.Data, bob["recommendations"]) {
			t.Errorf("/tiles/recommendations?user=bob = %s; want %s as in /home", tile.Data, bob["recommendations"])
		}
	})
}

// TestUserReachesFetcher checks the Request each fetcher is given.
func TestUserReachesFetcher(t *testing.T) {
	tests := []struct{ target, want string }{
		{"/home?user=carol", "carol"},
		{"/home?user=Dave_9-x", "Dave_9-x"},
		{"/home", ""},
		{"/home?user=", ""},
		{"/tiles/recommendations?user=erin", "erin"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			s := newServer(t, opts{}, fetchers(echoUser("banners"), echoUser("recommendations"))...)
			rec := s.do(http.MethodGet, tt.target)
			checkStatus(t, rec, http.StatusOK)
			var data json.RawMessage
			if strings.HasPrefix(tt.target, "/home") {
				var page pageJSON
				decodeJSON(t, rec, &page)
				data = page.Tiles["recommendations"].Data
			} else {
				var tile tileJSON
				decodeJSON(t, rec, &tile)
				data = tile.Data
			}
			if want := `{"user":"` + tt.want + `"}`; string(data) != want {
				t.Errorf("recommendations.data = %s; want %s", data, want)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	s := newServer(t, opts{}, fetchers(threeOK()...)...)
	rec := s.do(http.MethodGet, "/healthz")
	checkStatus(t, rec, http.StatusOK)
	var body map[string]string
	decodeJSON(t, rec, &body)
	if want := map[string]string{"status": "ok"}; !mapsEqual(body, want) {
		t.Errorf("body = %v; want %v", body, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestTestEndpoint checks GET /test on a fake clock: it answers after the
// delay, many waits overlap, and a client that leaves ends its wait.
func TestTestEndpoint(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
	}{
		{"default 5s", 5 * time.Second},
		{"300ms", 300 * time.Millisecond},
		{"zero", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newServer(t, opts{TestDelay: tt.delay}, fetchers(threeOK()...)...)
				start := time.Now()
				rec := s.do(http.MethodGet, "/test")
				if got := time.Since(start); got != tt.delay {
					t.Errorf("GET /test took %v; want %v", got, tt.delay)
				}
				checkStatus(t, rec, http.StatusOK)
				var body map[string]int
				decodeJSON(t, rec, &body)
				if len(body) != 1 || body["result"] != 1 {
					t.Errorf("body = %s; want {\"result\":1}", rec.Body)
				}
			})
		})
	}
}

func TestTestEndpointConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 2000
		s := newServer(t, opts{TestDelay: 5 * time.Second}, fetchers(threeOK()...)...)
		start := time.Now()
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Go(func() { codes[i] = s.do(http.MethodGet, "/test").Code })
		}
		wg.Wait()
		if got, want := time.Since(start), 5*time.Second; got != want {
			t.Errorf("%d concurrent GET /test took %v; want %v", n, got, want)
		}
		for i, c := range codes {
			if c != http.StatusOK {
				t.Fatalf("request %d: status = %d; want 200", i, c)
			}
		}
	})
}

func TestTestEndpointClientLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, opts{TestDelay: 5 * time.Second}, fetchers(threeOK()...)...)
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		done := make(chan *http.Request, 1)
		rec := httptest.NewRecorder()
		go func() {
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/test", nil)
			s.e.ServeHTTP(rec, req)
			done <- req
		}()
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case <-done:
			t.Fatalf("GET /test returned after 1s; want it still waiting")
		default:
		}
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatalf("GET /test still waiting after its client left; want it to end at once")
		}
		if got, want := time.Since(start), time.Second; got != want {
			t.Errorf("GET /test ended after %v; want %v (when the client left)", got, want)
		}
		if strings.Contains(rec.Body.String(), "result") {
			t.Errorf("body = %q; want no answer to a client that left", rec.Body)
		}
	})
}
