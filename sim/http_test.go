package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
)

// builtinSims returns the built-in tiles' simulated backends, each with b.
func builtinSims(t *testing.T, cat *catalogue.Catalogue, b sim.Backend) []*sim.Simulated {
	t.Helper()
	var sims []*sim.Simulated
	for _, def := range sim.Builtins() {
		sims = append(sims, newSim(t, def, cat, b))
	}
	return sims
}

// serve runs one request through h; header holds name: value pairs.
func serve(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var etagPattern = regexp.MustCompile(`^"[0-9a-f]{16}"$`)

// TestHandlerTiles: each route answers its tile's content for the user it
// is asked for, as JSON with a strong ETag and no Cache-Control.
func TestHandlerTiles(t *testing.T) {
	cat := catalogue.Default()
	h := sim.Handler(builtinSims(t, cat, sim.Backend{}), nil)
	tests := []struct {
		target string
		tile   string
		user   string // the user the content is for
	}{
		{"/banners", "banners", ""},
		{"/products", "products", ""},
		{"/recommendations", "recommendations", ""},
		{"/recommendations?user=alice", "recommendations", "alice"},
		{"/recommendations?user=bob", "recommendations", "bob"},
		{"/recommendations?user=", "recommendations", ""},
		{"/banners?user=alice", "banners", ""}, // not personalised
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			def := tilesByName(t)[tt.tile]
			want := wantContent(t, def, cat, tiles.Request{User: tt.user})
			w := serve(h, http.MethodGet, tt.target)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d; want 200 (body %s)", w.Code, w.Body)
			}
			if got := w.Body.String(); got != string(want) {
				t.Errorf("body = %s;\nwant %s", got, want)
			}
			checkHeader(t, w, "Content-Type", "application/json")
			checkHeader(t, w, "Cache-Control", "")
			if tag := w.Header().Get("ETag"); !etagPattern.MatchString(tag) {
				t.Errorf("ETag = %q; want a strong tag of 16 hex digits", tag)
			}

			head := serve(h, http.MethodHead, tt.target)
			if head.Code != http.StatusOK || head.Body.Len() != 0 {
				t.Errorf("HEAD: status %d, %d bytes of body; want 200 and none", head.Code, head.Body.Len())
			}
			checkHeader(t, head, "ETag", w.Header().Get("ETag"))
			checkHeader(t, head, "Content-Length", fmt.Sprint(len(want)))
		})
	}
}

func tilesByName(t *testing.T) map[string]sim.Def {
	t.Helper()
	m := map[string]sim.Def{}
	for _, d := range sim.Builtins() {
		m[d.Name] = d
	}
	return m
}

func checkHeader(t *testing.T, w *httptest.ResponseRecorder, name, want string) {
	t.Helper()
	if got := w.Header().Get(name); got != want {
		t.Errorf("%s = %q; want %q", name, got, want)
	}
}

// TestHandlerETag: If-None-Match naming the content's tag gets a 304
// without a body; any other tag gets the content. Two handlers (two
// replicas) give equal content equal tags.
func TestHandlerETag(t *testing.T) {
	cat := catalogue.Default()
	h := sim.Handler(builtinSims(t, cat, sim.Backend{}), nil)
	replica := sim.Handler(builtinSims(t, cat, sim.Backend{}), nil)
	alice := serve(h, http.MethodGet, "/recommendations?user=alice").Header().Get("ETag")
	bob := serve(h, http.MethodGet, "/recommendations?user=bob").Header().Get("ETag")
	if alice == bob {
		t.Fatalf("alice's and bob's recommendations have the same ETag %s; want different ones", alice)
	}
	if got := serve(replica, http.MethodGet, "/recommendations?user=alice").Header().Get("ETag"); got != alice {
		t.Errorf("another handler's ETag = %s; want %s", got, alice)
	}
	tests := []struct {
		name        string
		ifNoneMatch []string
		want        int
	}{
		{"same tag", []string{alice}, http.StatusNotModified},
		{"weak form", []string{"W/" + alice}, http.StatusNotModified},
		{"in a list", []string{`"0000000000000000", ` + alice}, http.StatusNotModified},
		{"in a second header", []string{`"0000000000000000"`, alice}, http.StatusNotModified},
		{"any", []string{"*"}, http.StatusNotModified},
		{"another user's tag", []string{bob}, http.StatusOK},
		{"unquoted", []string{strings.Trim(alice, `"`)}, http.StatusOK},
		{"none", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			for _, v := range tt.ifNoneMatch {
				header = append(header, "If-None-Match", v)
			}
			w := serve(h, http.MethodGet, "/recommendations?user=alice", header...)
			if w.Code != tt.want {
				t.Fatalf("status = %d; want %d", w.Code, tt.want)
			}
			checkHeader(t, w, "ETag", alice)
			if tt.want == http.StatusNotModified && w.Body.Len() != 0 {
				t.Errorf("304 body = %q; want none", w.Body)
			}
			if tt.want == http.StatusOK && w.Body.Len() == 0 {
				t.Errorf("200 with no body; want the content")
			}
		})
	}
}

// TestHandlerErrors: failures and bad requests are JSON errors with the
// right status, and a bad request never reaches a tile.
func TestHandlerErrors(t *testing.T) {
	cat := catalogue.Default()
	failing := newSim(t, tilesByName(t)["products"], cat, sim.Backend{Fail: 1, Rand: func() float64 { return 0 }})
	h := sim.Handler([]*sim.Simulated{newSim(t, tilesByName(t)["banners"], cat, sim.Backend{}), failing}, nil)
	tests := []struct {
		name, method, target string
		want                 int
		says                 []string
		allow                string
	}{
		{"simulated failure", http.MethodGet, "/products", http.StatusServiceUnavailable, []string{"products", "simulated failure"}, ""},
		{"bad user", http.MethodGet, "/banners?user=a%20b", http.StatusBadRequest, []string{"user", "a space at byte 2"}, ""},
		{"long user", http.MethodGet, "/banners?user=" + strings.Repeat("x", 65), http.StatusBadRequest, []string{"user", "1 to 64"}, ""},
		{"POST", http.MethodPost, "/banners", http.StatusMethodNotAllowed, []string{"POST", "GET or HEAD"}, "GET, HEAD"},
		{"DELETE stats", http.MethodDelete, "/stats", http.StatusMethodNotAllowed, []string{"DELETE"}, "GET, HEAD"},
		{"unknown path", http.MethodGet, "/weather", http.StatusNotFound, []string{`"/weather"`, "/banners, /products, /healthz, /stats"}, ""},
		{"trailing slash", http.MethodGet, "/banners/", http.StatusNotFound, []string{`"/banners/"`}, ""},
		{"root", http.MethodGet, "/", http.StatusNotFound, []string{"/banners"}, ""},
		{"unknown path, wrong method", http.MethodPut, "/nope", http.StatusNotFound, []string{`"/nope"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h, tt.method, tt.target)
			if w.Code != tt.want {
				t.Fatalf("status = %d; want %d (body %s)", w.Code, tt.want, w.Body)
			}
			checkHeader(t, w, "Content-Type", "application/json")
			checkHeader(t, w, "Allow", tt.allow)
			var body struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" {
				t.Fatalf("body = %s (%v); want {\"error\": ...}", w.Body, err)
			}
			for _, s := range tt.says {
				if !strings.Contains(body.Error, s) {
					t.Errorf("error = %q; want it to contain %q", body.Error, s)
				}
			}
		})
	}
	// Only the simulated failure reached a tile.
	want := map[string]map[string]int64{"banners": {}, "products": {"": 1}}
	if got := getStats(t, h); !statsEqual(got, want) {
		t.Errorf("stats = %v; want %v", got, want)
	}
}

func TestHandlerHealthz(t *testing.T) {
	h := sim.Handler(nil, nil)
	w := serve(h, http.MethodGet, "/healthz")
	if w.Code != http.StatusOK || w.Body.String() != `{"status":"ok"}` {
		t.Errorf("GET /healthz = %d %s; want 200 {\"status\":\"ok\"}", w.Code, w.Body)
	}
	checkHeader(t, w, "Content-Type", "application/json")
}

func getStats(t *testing.T, h http.Handler) map[string]map[string]int64 {
	t.Helper()
	w := serve(h, http.MethodGet, "/stats")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /stats status = %d; want 200", w.Code)
	}
	checkHeader(t, w, "Content-Type", "application/json")
	var got map[string]map[string]int64
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("GET /stats body %s: %v", w.Body, err)
	}
	return got
}

func statsEqual(a, b map[string]map[string]int64) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]int64) bool { return maps.Equal(x, y) })
}

// TestHandlerStats: /stats counts, per tile and user, every request that
// reached the tile (HEAD, 304 and failures included) and none that did not.
func TestHandlerStats(t *testing.T) {
	cat := catalogue.Default()
	sims := builtinSims(t, cat, sim.Backend{})
	sims[1] = newSim(t, tilesByName(t)["products"], cat, sim.Backend{Fail: 1, Rand: func() float64 { return 0 }})
	h := sim.Handler(sims, nil)
	if got, want := getStats(t, h), map[string]map[string]int64{"banners": {}, "products": {}, "recommendations": {}}; !statsEqual(got, want) {
		t.Errorf("stats before any request = %v; want %v", got, want)
	}
	tag := serve(h, http.MethodGet, "/recommendations?user=alice").Header().Get("ETag")
	for _, r := range []struct{ method, target string }{
		{"GET", "/banners"}, {"HEAD", "/banners"}, {"GET", "/banners?user=alice"},
		{"GET", "/products"}, // fails
		{"GET", "/recommendations"}, {"GET", "/recommendations?user=bob"},
		{"POST", "/banners"}, {"GET", "/banners?user=%21"}, {"GET", "/healthz"}, // do not reach a tile
	} {
		serve(h, r.method, r.target)
	}
	if w := serve(h, http.MethodGet, "/recommendations?user=alice", "If-None-Match", tag); w.Code != http.StatusNotModified {
		t.Fatalf("revalidation status = %d; want 304", w.Code)
	}
	want := map[string]map[string]int64{
		"banners":         {"": 2, "alice": 1},
		"products":        {"": 1},
		"recommendations": {"": 1, "alice": 2, "bob": 1},
	}
	if got := getStats(t, h); !statsEqual(got, want) {
		t.Errorf("stats = %v; want %v", got, want)
	}
}

// TestHandlerStatsBounded: past a bound on distinct users, new ones are
// counted together under "*", so that /stats cannot grow without end.
func TestHandlerStatsBounded(t *testing.T) {
	h := sim.Handler([]*sim.Simulated{newSim(t, tilesByName(t)["banners"], catalogue.Default(), sim.Backend{})}, nil)
	const users = 10_050
	for i := range users {
		serve(h, http.MethodGet, fmt.Sprintf("/banners?user=u%d", i))
	}
	serve(h, http.MethodGet, "/banners?user=u0") // seen before the bound: still its own
	got := getStats(t, h)["banners"]
	if n := len(got); n > 10_001 {
		t.Errorf("stats hold %d users; want at most 10000 and *", n)
	}
	if got["u0"] != 2 {
		t.Errorf("u0 counted %d; want 2", got["u0"])
	}
	var sum int64
	for _, n := range got {
		sum += n
	}
	if sum != users+1 || got["*"] == 0 {
		t.Errorf("stats sum to %d with * = %d; want %d, some under *", sum, got["*"], users+1)
	}
}

// TestHandlerLatency: a tile answers after its simulated latency, and a
// request cancelled before that ends the handler at once, with a 503.
func TestHandlerLatency(t *testing.T) {
	tests := []struct {
		name     string
		cancelIn time.Duration // 0: never
		after    time.Duration
		want     int
	}{
		{"answers after the latency", 0, 5 * time.Second, http.StatusOK},
		{"cancelled", 10 * time.Millisecond, 10 * time.Millisecond, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSim(t, tilesByName(t)["products"], catalogue.Default(), sim.Backend{Latency: 5 * time.Second})
				h := sim.Handler([]*sim.Simulated{s}, nil)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancelIn > 0 {
					time.AfterFunc(tt.cancelIn, cancel)
				}
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodGet, "/products", nil))
				if got := time.Since(start); got != tt.after {
					t.Errorf("handler returned after %v; want %v", got, tt.after)
				}
				if w.Code != tt.want {
					t.Errorf("status = %d; want %d", w.Code, tt.want)
				}
			})
		})
	}
}

// TestHandlerLogsRequestID: the request's X-Request-Id is in its log line.
func TestHandlerLogsRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := sim.Handler(builtinSims(t, catalogue.Default(), sim.Backend{}), logger)
	serve(h, http.MethodGet, "/recommendations?user=alice", "X-Request-Id", "req-42")
	serve(h, http.MethodGet, "/banners?user=%21", "X-Request-Id", "req-43")
	for _, want := range []string{
		"tile=recommendations user=alice request_id=req-42 status=200",
		"tile=banners user=\"\" request_id=req-43 status=400",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log = %q; want a line with %q", buf.String(), want)
		}
	}
}

// TestHandlerDuplicateName: two backends of one name are a programming
// error, as for http.ServeMux.
func TestHandlerDuplicateName(t *testing.T) {
	s := newSim(t, tilesByName(t)["banners"], catalogue.Default(), sim.Backend{})
	defer func() {
		if recover() == nil {
			t.Errorf("Handler with two banners did not panic; want a panic")
		}
	}()
	sim.Handler([]*sim.Simulated{s, s}, nil)
}
