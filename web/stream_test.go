package web

// Tests of the streamed forms of GET /home (HTML and NDJSON): the shell is
// flushed before any tile, each tile is flushed the moment it finishes, in
// completion order, a client that leaves cancels the rest. Timing tests run
// in a testing/synctest bubble, where the clock is virtual: a tile that
// takes 120ms is flushed at exactly 120ms, and a 5s tile against a 500ms
// budget costs no real time. Tests that need a real socket (trailers, gzip
// through a real client, a real disconnect) use httptest.Server outside any
// bubble.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/goleak"
	"golang.org/x/net/html"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// tileSpec says how one built-in tile behaves in a test: it answers its
// real content after latency, or fails with a backend error after latency.
type tileSpec struct {
	name    string
	latency time.Duration
	fail    bool
}

// specTiles returns one simulated backend per spec, in the order given (the
// page order), serving the built-in tile's real content over cat.
func specTiles(t testing.TB, cat *catalogue.Catalogue, specs []tileSpec) []tiles.Fetcher {
	t.Helper()
	fs := make([]tiles.Fetcher, len(specs))
	for i, s := range specs {
		b := sim.Backend{Latency: s.latency}
		if s.fail {
			b.Fail = 1
		}
		f, err := sim.New(tilestest.Builtin(t, s.name), cat, b)
		if err != nil {
			t.Fatalf("sim.New(%s): %v", s.name, err)
		}
		fs[i] = f
	}
	return fs
}

// arrival is a tile as the page should receive it.
type arrival struct {
	name   string
	status string
	at     time.Duration
}

// arrivals says in which order, when and with which status the tiles of
// specs should arrive under the tile timeout: completion order.
func arrivals(specs []tileSpec, timeout time.Duration) []arrival {
	out := make([]arrival, len(specs))
	for i, s := range specs {
		a := arrival{name: s.name, status: "ok", at: s.latency}
		switch {
		case s.latency >= timeout:
			a.status, a.at = "timeout", timeout
		case s.fail:
			a.status = "error"
		}
		out[i] = a
	}
	slices.SortStableFunc(out, func(a, b arrival) int { return int(a.at - b.at) })
	return out
}

// newTestServer builds Vitrine's handler over fs the way main does.
func newTestServer(t testing.TB, timeout time.Duration, cat *catalogue.Catalogue, fs ...tiles.Fetcher) *echo.Echo {
	t.Helper()
	agg, err := aggregator.New(fs, aggregator.Options{TileTimeout: timeout})
	if err != nil {
		t.Fatalf("aggregator.New: %v", err)
	}
	return NewServer(slog.New(slog.DiscardHandler), agg, Options{TestDelay: time.Second, Catalogue: cat})
}

// clockRecorder is an http.ResponseWriter and http.Flusher that records the
// time (virtual, inside a synctest bubble) of every Write and every Flush,
// and how much of the body had been written at each.
type clockRecorder struct {
	mu      sync.Mutex
	start   time.Time
	header  http.Header
	sent    http.Header // the header as it was when WriteHeader ran
	code    int
	body    bytes.Buffer
	writes  []stamp
	flushes []stamp
	// onFlush, if set, is called after the nth flush (counting from 1).
	onFlush func(n int)
}

// stamp is a moment of the response: when, and the body length by then.
type stamp struct {
	at  time.Duration
	end int
}

func newClockRecorder() *clockRecorder {
	return &clockRecorder{start: time.Now(), header: http.Header{}}
}

func (r *clockRecorder) Header() http.Header { return r.header }

func (r *clockRecorder) WriteHeader(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.code == 0 {
		r.code = code
		r.sent = r.header.Clone()
	}
}

func (r *clockRecorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.body.Write(b)
	r.writes = append(r.writes, stamp{time.Since(r.start), r.body.Len()})
	return n, err
}

func (r *clockRecorder) Flush() {
	r.WriteHeader(http.StatusOK)
	r.mu.Lock()
	r.flushes = append(r.flushes, stamp{time.Since(r.start), r.body.Len()})
	n, hook := len(r.flushes), r.onFlush
	r.mu.Unlock()
	if hook != nil {
		hook(n)
	}
}

// chunk is a piece of the body between two flushes, with the time of the
// flush that sent it.
type chunk struct {
	at   time.Duration
	body []byte
}

// chunks splits the body at its flushes. Anything written after the last
// flush is the last chunk, stamped with the time of its last write.
func (r *clockRecorder) chunks() []chunk {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.body.Bytes()
	var out []chunk
	from := 0
	for _, f := range r.flushes {
		if f.end == from {
			continue // a flush with nothing new, such as the header alone
		}
		out = append(out, chunk{f.at, b[from:f.end]})
		from = f.end
	}
	if from < len(b) {
		out = append(out, chunk{r.writes[len(r.writes)-1].at, b[from:]})
	}
	return out
}

// writesBetween returns the times of the writes that put body bytes
// (from, to] in place.
func (r *clockRecorder) writesBetween(from, to int) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	prev := 0
	for _, w := range r.writes {
		if w.end > from && prev < to {
			out = append(out, w.at)
		}
		prev = w.end
	}
	return out
}

// serveAt serves one request at target in the bubble and returns the
// recorder and how long the handler took (virtual time).
func serveAt(ctx context.Context, e http.Handler, target string, header ...string) (*clockRecorder, time.Duration) {
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	for _, h := range header {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	rec := newClockRecorder()
	e.ServeHTTP(rec, req)
	return rec, time.Since(rec.start)
}

// streamedTiles returns the elements of a piece of HTML that carry
// data-status: the tiles as the server sent them.
func streamedTiles(t testing.TB, s string) []*html.Node {
	t.Helper()
	return findAll(parseHTML(t, s), func(n *html.Node) bool {
		_, ok := attr(n, "data-status")
		return n.Type == html.ElementNode && ok
	})
}

func msString(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64)
}

var latencySets = []struct {
	name    string
	timeout time.Duration
	specs   []tileSpec
}{
	{"page order (defaults)", 500 * time.Millisecond, []tileSpec{
		{name: "banners", latency: 40 * time.Millisecond},
		{name: "products", latency: 80 * time.Millisecond},
		{name: "recommendations", latency: 120 * time.Millisecond},
	}},
	{"reverse order", 500 * time.Millisecond, []tileSpec{
		{name: "banners", latency: 120 * time.Millisecond},
		{name: "products", latency: 80 * time.Millisecond},
		{name: "recommendations", latency: 40 * time.Millisecond},
	}},
	{"middle first", 500 * time.Millisecond, []tileSpec{
		{name: "banners", latency: 300 * time.Millisecond},
		{name: "products", latency: 10 * time.Millisecond},
		{name: "recommendations", latency: 600 * time.Millisecond},
	}},
	{"slow tile times out", 500 * time.Millisecond, []tileSpec{
		{name: "banners", latency: 5 * time.Second},
		{name: "products", latency: 100 * time.Millisecond},
		{name: "recommendations", latency: 20 * time.Millisecond},
	}},
	{"one fails at once", 500 * time.Millisecond, []tileSpec{
		{name: "banners", latency: 60 * time.Millisecond},
		{name: "products", latency: 0, fail: true},
		{name: "recommendations", latency: 30 * time.Millisecond},
	}},
}

func TestStreamHTMLShellFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cat := catalogue.Default()
		specs := latencySets[0].specs
		e := newTestServer(t, 500*time.Millisecond, cat, specTiles(t, cat, specs)...)
		rec, _ := serveAt(t.Context(), e, "/home?user=alice", "Accept: text/html")

		if got, want := rec.code, http.StatusOK; got != want {
			t.Fatalf("status = %d; want %d", got, want)
		}
		cs := rec.chunks()
		if len(cs) == 0 {
			t.Fatalf("nothing flushed")
		}
		shell := string(cs[0].body)
		if got, want := cs[0].at, time.Duration(0); got != want {
			t.Errorf("shell flushed at %v; want %v (before the first tile, at %v)", got, want, specs[0].latency)
		}
		lines := strings.Split(strings.TrimRight(shell, "\n"), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, `<div id="stream"`) {
			t.Errorf("shell ends with %q; want the <div id=\"stream\" line", last)
		}
		for _, want := range []string{"<!doctype html>", `<main id="main"`, `aria-live="polite"`, "Hello, alice"} {
			if !strings.Contains(shell, want) {
				t.Errorf("shell has no %q", want)
			}
		}
		if strings.Contains(shell, "data-status") {
			t.Errorf("shell has a data-status before any tile finished")
		}
		doc := parseHTML(t, shell)
		var got []string
		for _, n := range findAll(doc, hasAttr("data-tile")) {
			name, _ := attr(n, "data-tile")
			got = append(got, name)
			if busy, _ := attr(n, "aria-busy"); busy != "true" {
				t.Errorf("placeholder %s: aria-busy = %q; want true", name, busy)
			}
			if slot, _ := attr(n, "data-slot"); slot != name {
				t.Errorf("placeholder %s: data-slot = %q; want %[1]q (what vitrine.js finds it by)", name, slot)
			}
			if len(findAll(n, hasClass("skeleton"))) != 1 {
				t.Errorf("placeholder %s has no skeleton", name)
			}
		}
		if want := []string{"banners", "products", "recommendations"}; !slices.Equal(got, want) {
			t.Errorf("placeholders = %v; want one per tile in page order %v", got, want)
		}
		// The shell's bytes were written at 0, not held back.
		for _, at := range rec.writesBetween(0, len(cs[0].body)) {
			if at != 0 {
				t.Errorf("a write of the shell happened at %v; want 0", at)
			}
		}
	})
}

func TestStreamHTMLCompletionOrder(t *testing.T) {
	for _, tt := range latencySets {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cat := catalogue.Default()
				e := newTestServer(t, tt.timeout, cat, specTiles(t, cat, tt.specs)...)
				rec, took := serveAt(t.Context(), e, "/home", "Accept: text/html")
				want := arrivals(tt.specs, tt.timeout)

				// Shell, one chunk per tile, then the timing panel and the end.
				cs := rec.chunks()
				if got, want := len(cs), 1+len(want)+1; got != want {
					t.Fatalf("got %d chunks; want %d (shell, one per tile, end)", got, want)
				}
				offset := len(cs[0].body)
				for i, w := range want {
					c := cs[1+i]
					if c.at != w.at {
						t.Errorf("tile %d (%s) flushed at %v; want %v", i, w.name, c.at, w.at)
					}
					for _, at := range rec.writesBetween(offset, offset+len(c.body)) {
						if at != w.at {
							t.Errorf("tile %d (%s): a write at %v; want all at %v", i, w.name, at, w.at)
						}
					}
					offset += len(c.body)
					got := streamedTiles(t, string(c.body))
					if len(got) != 1 {
						t.Fatalf("chunk %d has %d tiles; want 1:\n%s", 1+i, len(got), c.body)
					}
					name, _ := attr(got[0], "data-tile")
					status, _ := attr(got[0], "data-status")
					if name != w.name || status != w.status {
						t.Errorf("tile %d = %s (%s); want %s (%s)", i, name, status, w.name, w.status)
					}
					if el, _ := attr(got[0], "data-elapsed-ms"); el != msString(w.at) {
						t.Errorf("tile %s: data-elapsed-ms = %q; want %s", w.name, el, msString(w.at))
					}
					if busy, _ := attr(got[0], "aria-busy"); busy != "false" {
						t.Errorf("tile %s: aria-busy = %q; want false", w.name, busy)
					}
					if place := `vitrine.place("` + w.name + `")`; !strings.Contains(string(c.body), place) {
						t.Errorf("tile %s is not followed by %s", w.name, place)
					}
				}
				last := want[len(want)-1].at
				end := cs[len(cs)-1]
				if end.at != last {
					t.Errorf("end of page at %v; want %v (with the last tile)", end.at, last)
				}
				if took != last {
					t.Errorf("handler took %v; want %v (the slowest tile, not the sum)", took, last)
				}
				if !strings.Contains(string(end.body), `id="timing"`) || !strings.HasSuffix(strings.TrimSpace(string(end.body)), "</html>") {
					t.Errorf("last chunk = %q; want the timing panel and the end of the page", end.body)
				}
			})
		})
	}
}

func TestStreamHTMLFallback(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		fail       bool
		wantStatus string
		wantAt     time.Duration
		wantRetry  string
		wantText   string
	}{
		{"timeout with user", "/home?user=alice", false, "timeout", 500 * time.Millisecond,
			"/tiles/recommendations?format=html&user=alice", "taking longer than usual"},
		{"timeout without user", "/home", false, "timeout", 500 * time.Millisecond,
			"/tiles/recommendations?format=html", "taking longer than usual"},
		{"error with user", "/home?user=bob_2", true, "error", 5 * time.Second,
			"/tiles/recommendations?format=html&user=bob_2", "could not be loaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cat := catalogue.Default()
				timeout := 500 * time.Millisecond
				specs := []tileSpec{
					{name: "banners", latency: 40 * time.Millisecond},
					{name: "products", latency: 80 * time.Millisecond},
					{name: "recommendations", latency: 5 * time.Second, fail: tt.fail},
				}
				if tt.fail {
					specs[2].latency, timeout = 200*time.Millisecond, 10*time.Second
					tt.wantAt = 200 * time.Millisecond
				}
				e := newTestServer(t, timeout, cat, specTiles(t, cat, specs)...)
				rec, took := serveAt(t.Context(), e, tt.target, "Accept: text/html")
				if took != tt.wantAt {
					t.Errorf("page took %v; want %v", took, tt.wantAt)
				}
				cs := rec.chunks()
				if len(cs) != 5 {
					t.Fatalf("got %d chunks; want 5", len(cs))
				}
				c := cs[3]
				if c.at != tt.wantAt {
					t.Errorf("fallback flushed at %v; want %v", c.at, tt.wantAt)
				}
				got := streamedTiles(t, string(c.body))
				if len(got) != 1 {
					t.Fatalf("got %d tiles in the last chunk; want 1", len(got))
				}
				tile := got[0]
				if name, _ := attr(tile, "data-tile"); name != "recommendations" {
					t.Errorf("data-tile = %q; want recommendations", name)
				}
				if status, _ := attr(tile, "data-status"); status != tt.wantStatus {
					t.Errorf("data-status = %q; want %s", status, tt.wantStatus)
				}
				if fb := findAll(tile, hasClass("fallback")); len(fb) != 1 || !strings.Contains(textContent(fb[0]), tt.wantText) {
					t.Errorf("no fallback saying %q in %s", tt.wantText, c.body)
				}
				links := findAll(tile, hasAttr("data-retry"))
				if len(links) != 1 {
					t.Fatalf("got %d retry links; want 1", len(links))
				}
				if href, _ := attr(links[0], "href"); href != tt.wantRetry {
					t.Errorf("retry href = %q; want %q", href, tt.wantRetry)
				}
				if r, _ := attr(links[0], "data-retry"); r != "recommendations" {
					t.Errorf("data-retry = %q; want recommendations", r)
				}
			})
		})
	}
}

// ndjsonTile is a tile line of the NDJSON stream.
type ndjsonTile struct {
	Name      string   `json:"name"`
	Status    string   `json:"status"`
	ElapsedMS *float64 `json:"elapsed_ms"`
}

func TestStreamNDJSON(t *testing.T) {
	for _, tt := range latencySets {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cat := catalogue.Default()
				e := newTestServer(t, tt.timeout, cat, specTiles(t, cat, tt.specs)...)
				rec, took := serveAt(t.Context(), e, "/home", "Accept: application/x-ndjson")
				want := arrivals(tt.specs, tt.timeout)
				last := want[len(want)-1].at

				if got, want := rec.sent.Get(echo.HeaderContentType), "application/x-ndjson"; got != want {
					t.Errorf("Content-Type = %q; want %q", got, want)
				}
				if took != last {
					t.Errorf("handler took %v; want %v", took, last)
				}
				if f := rec.flushes[0]; f.at != 0 || f.end != 0 {
					t.Errorf("first flush at %v with %d bytes; want the header alone at 0", f.at, f.end)
				}
				cs := rec.chunks()
				if got, want := len(cs), len(want)+1; got != want {
					t.Fatalf("got %d chunks; want %d (one per tile, then the summary)", got, want)
				}
				for i, w := range want {
					c := cs[i]
					if c.at != w.at {
						t.Errorf("line %d (%s) flushed at %v; want %v", i, w.name, c.at, w.at)
					}
					if n := bytes.Count(c.body, []byte("\n")); n != 1 || !bytes.HasSuffix(c.body, []byte("\n")) {
						t.Errorf("chunk %d = %q; want exactly one line", i, c.body)
					}
					var tile ndjsonTile
					if err := json.Unmarshal(c.body, &tile); err != nil {
						t.Fatalf("line %d = %q: %v; want JSON", i, c.body, err)
					}
					if tile.Name != w.name || tile.Status != w.status {
						t.Errorf("line %d = %s (%s); want %s (%s)", i, tile.Name, tile.Status, w.name, w.status)
					}
					if tile.ElapsedMS == nil || msString(w.at) != strconv.FormatFloat(*tile.ElapsedMS, 'f', -1, 64) {
						t.Errorf("line %d (%s): elapsed_ms = %v; want %s", i, w.name, tile.ElapsedMS, msString(w.at))
					}
				}
				end := cs[len(cs)-1]
				if end.at != last {
					t.Errorf("summary at %v; want %v", end.at, last)
				}
				var sum map[string]any
				if err := json.Unmarshal(end.body, &sum); err != nil {
					t.Fatalf("summary %q: %v; want JSON", end.body, err)
				}
				if got, want := slices.Sorted(mapKeys(sum)), []string{"complete", "elapsed_ms"}; !slices.Equal(got, want) {
					t.Errorf("summary keys = %v; want %v", got, want)
				}
				complete := true
				for _, w := range want {
					complete = complete && w.status == "ok"
				}
				if got := sum["complete"]; got != complete {
					t.Errorf("complete = %v; want %v", got, complete)
				}
				if got, want := sum["elapsed_ms"], float64(last)/float64(time.Millisecond); got != want {
					t.Errorf("elapsed_ms = %v; want %v", got, want)
				}
			})
		})
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestStreamGzip proves that a gzip'd page still streams per tile: at every
// flush, the compressed bytes sent so far decompress to the shell and every
// tile finished by then.
func TestStreamGzip(t *testing.T) {
	for _, tt := range []struct {
		name, accept string
		marker       string // what each tile chunk holds once decompressed
	}{
		{"HTML", "text/html", "data-status="},
		{"NDJSON", "application/x-ndjson", `"status":`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cat := catalogue.Default()
				specs := latencySets[1].specs // recommendations 40, products 80, banners 120
				e := newTestServer(t, 500*time.Millisecond, cat, specTiles(t, cat, specs)...)
				rec, _ := serveAt(t.Context(), e, "/home", "Accept: "+tt.accept, "Accept-Encoding: gzip")
				if got := rec.header.Get(echo.HeaderContentEncoding); got != "gzip" {
					t.Fatalf("Content-Encoding = %q; want gzip", got)
				}
				want := arrivals(specs, 500*time.Millisecond)
				body := rec.body.Bytes()
				var tileFlushes int
				for _, f := range rec.flushes {
					plain := gunzipPrefix(t, body[:f.end])
					n := strings.Count(plain, tt.marker)
					if n == 0 {
						continue // the shell
					}
					tileFlushes++
					if n != tileFlushes {
						t.Errorf("flush at %v: %d tiles readable; want %d", f.at, n, tileFlushes)
					}
					if w := want[n-1]; f.at != w.at || !strings.Contains(plain, w.name) {
						t.Errorf("flush at %v: want %s readable at %v", f.at, w.name, w.at)
					}
				}
				if tileFlushes != len(want) {
					t.Errorf("got %d flushes with a new tile; want %d", tileFlushes, len(want))
				}
				if tt.accept == "text/html" {
					shell := gunzipPrefix(t, body[:rec.flushes[0].end])
					if at := rec.flushes[0].at; at != 0 || !strings.Contains(shell, `<main id="main"`) {
						t.Errorf("first flush at %v holds %q; want the shell at 0", at, shell)
					}
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("gzip: %v", err)
				}
				if _, err := io.ReadAll(zr); err != nil {
					t.Errorf("whole body does not decompress: %v", err)
				}
			})
		})
	}
}

// gunzipPrefix decompresses what a gzip stream cut at a flush holds.
func gunzipPrefix(t testing.TB, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip header: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("gzip: %v", err)
	}
	return string(out)
}

// realServer serves Vitrine over a real socket; its client asks for no
// compression unless the test sets Accept-Encoding itself.
func realServer(t testing.TB, timeout time.Duration, fs ...tiles.Fetcher) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(newTestServer(t, timeout, catalogue.Default(), fs...))
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).DisableCompression = true
	return srv, client
}

func TestStreamTrailer(t *testing.T) {
	tests := []struct {
		name   string
		header []string
	}{
		{"HTML", []string{"Accept: text/html"}},
		{"HTML gzip", []string{"Accept: text/html", "Accept-Encoding: gzip"}},
		{"NDJSON", []string{"Accept: application/x-ndjson"}},
		{"NDJSON gzip", []string{"Accept: application/x-ndjson", "Accept-Encoding: gzip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := catalogue.Default()
			srv, client := realServer(t, 500*time.Millisecond, specTiles(t, cat, []tileSpec{
				{name: "banners", latency: 5 * time.Millisecond},
				{name: "products", latency: 10 * time.Millisecond},
				{name: "recommendations", latency: 15 * time.Millisecond},
			})...)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/home", nil)
			for _, h := range tt.header {
				k, v, _ := strings.Cut(h, ":")
				req.Header.Set(k, strings.TrimSpace(v))
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get("Server-Timing"); got != "" {
				t.Errorf("Server-Timing header = %q; want it only as a trailer", got)
			}
			if _, declared := resp.Trailer["Server-Timing"]; !declared {
				t.Errorf("Trailer = %v; want Server-Timing declared", resp.Trailer)
			}
			if got := resp.Trailer.Get("Server-Timing"); got != "" {
				t.Errorf("trailer before the body = %q; want empty", got)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatal(err)
			}
			st := resp.Trailer.Get("Server-Timing")
			for _, name := range []string{"banners", "products", "recommendations", "total"} {
				if !strings.Contains(st, name+";dur=") {
					t.Errorf("Server-Timing trailer = %q; want %s;dur=", st, name)
				}
			}
		})
	}
}

// TestStreamGzipRealServer reads a gzip'd page through a real socket as it
// arrives: the fast tile is readable before the slow one can have finished.
func TestStreamGzipRealServer(t *testing.T) {
	for _, tt := range []struct{ name, accept, marker string }{
		{"HTML", "text/html", "data-status="},
		{"NDJSON", "application/x-ndjson", `"status":`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const slow = 600 * time.Millisecond
			cat := catalogue.Default()
			srv, client := realServer(t, 2*time.Second, specTiles(t, cat, []tileSpec{
				{name: "banners", latency: 10 * time.Millisecond},
				{name: "products", latency: slow},
				{name: "recommendations", latency: slow},
			})...)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/home", nil)
			req.Header.Set("Accept", tt.accept)
			req.Header.Set("Accept-Encoding", "gzip")
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get("Content-Encoding"); got != "gzip" {
				t.Fatalf("Content-Encoding = %q; want gzip", got)
			}
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			var seen []time.Duration
			var plain []byte
			buf := make([]byte, 4096)
			for {
				n, err := zr.Read(buf)
				plain = append(plain, buf[:n]...)
				for len(seen) < bytes.Count(plain, []byte(tt.marker)) {
					seen = append(seen, time.Since(start))
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(seen) != 3 {
				t.Fatalf("saw %d tiles; want 3", len(seen))
			}
			if seen[0] >= slow {
				t.Errorf("first tile read after %v; want it before the slow tiles could finish (%v)", seen[0], slow)
			}
			if seen[2] < slow {
				t.Errorf("last tile read after %v; want at least %v", seen[2], slow)
			}
		})
	}
}

func TestStreamHeaders(t *testing.T) {
	tests := []struct {
		name, accept, wantType string
		html                   bool
	}{
		{"HTML", "text/html", "text/html; charset=UTF-8", true},
		{"NDJSON", "application/x-ndjson", "application/x-ndjson", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cat := catalogue.Default()
				e := newTestServer(t, 500*time.Millisecond, cat, specTiles(t, cat, latencySets[0].specs)...)
				rec, _ := serveAt(t.Context(), e, "/home", "Accept: "+tt.accept)
				h := rec.sent // as sent, before any tile
				for _, c := range []struct{ key, want string }{
					{"Content-Type", tt.wantType},
					{"X-Content-Type-Options", "nosniff"},
					{"X-Accel-Buffering", "no"},
					{"Trailer", "Server-Timing"},
				} {
					if got := h.Get(c.key); got != c.want {
						t.Errorf("%s = %q; want %q", c.key, got, c.want)
					}
				}
				if vary := headerTokens(h, "Vary"); !slices.Contains(vary, "Accept") {
					t.Errorf("Vary = %v; want Accept in it", vary)
				}
				if cc := h.Get("Cache-Control"); !strings.Contains(cc, "no-cache") && !strings.Contains(cc, "no-store") {
					t.Errorf("Cache-Control = %q; want no-cache or no-store", cc)
				}
				if !tt.html {
					return
				}
				checkCSP(t, h.Get("Content-Security-Policy"), rec.body.String())
			})
		})
	}
}

// headerTokens returns the comma-separated tokens of every value of key.
func headerTokens(h http.Header, key string) []string {
	var out []string
	for _, v := range h.Values(key) {
		for tok := range strings.SplitSeq(v, ",") {
			out = append(out, strings.TrimSpace(tok))
		}
	}
	return out
}

// checkCSP checks that csp allows scripts only from self or with a nonce,
// that every script of page carries that nonce, and that the page has no
// inline event handler or inline style that the policy would block.
func checkCSP(t *testing.T, csp, page string) {
	t.Helper()
	directives := map[string][]string{}
	for d := range strings.SplitSeq(csp, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			directives[f[0]] = f[1:]
		}
	}
	script, ok := directives["script-src"]
	if !ok {
		t.Fatalf("CSP %q has no script-src", csp)
	}
	var nonce string
	for _, s := range script {
		if strings.Contains(s, "unsafe-inline") || strings.Contains(s, "unsafe-eval") {
			t.Errorf("script-src has %s; want none", s)
		}
		if v, ok := strings.CutPrefix(s, "'nonce-"); ok {
			nonce = strings.TrimSuffix(v, "'")
		}
	}
	if len(nonce) < 16 {
		t.Fatalf("CSP %q: nonce %q; want one of at least 128 bits", csp, nonce)
	}
	if got := directives["object-src"]; !slices.Equal(got, []string{"'none'"}) {
		t.Errorf("object-src = %v; want 'none'", got)
	}
	doc := parseHTML(t, page)
	scripts := findAll(doc, isElement("script"))
	inline := 0
	for _, s := range scripts {
		got, ok := attr(s, "nonce")
		if !ok || got != nonce {
			t.Errorf("script %q: nonce = %q; want %q", textContent(s), got, nonce)
		}
		if _, src := attr(s, "src"); !src {
			inline++
		}
	}
	if inline == 0 {
		t.Errorf("found no inline script; want the place() calls")
	}
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
				t.Errorf("<%s %s=%q>: the CSP blocks inline handlers and styles", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "style" {
			t.Errorf("a <style> element: the CSP blocks inline styles")
		}
	}
}

func TestStreamNonceIsFresh(t *testing.T) {
	cat := catalogue.Default()
	e := newTestServer(t, time.Second, cat, specTiles(t, cat, []tileSpec{{name: "banners"}})...)
	seen := map[string]bool{}
	for range 5 {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/home?format=html", nil))
		csp := rec.Header().Get("Content-Security-Policy")
		if seen[csp] {
			t.Fatalf("CSP %q given twice; want a fresh nonce per page", csp)
		}
		seen[csp] = true
	}
}

// TestStreamClientGone cancels the request after the first tile: the slow
// tiles see their context end at that moment, the handler returns at once,
// and nothing more is sent.
func TestStreamClientGone(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, tt := range []struct{ name, accept string }{
		{"HTML", "text/html"},
		{"NDJSON", "application/x-ndjson"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const first = 40 * time.Millisecond
				var mu sync.Mutex
				ended := map[string]time.Duration{}
				start := time.Now()
				slow := func(name string) *tilestest.Fetcher {
					return &tilestest.Fetcher{TileName: name, FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
						select {
						case <-ctx.Done():
							mu.Lock()
							ended[name] = time.Since(start)
							mu.Unlock()
							return tiles.Outcome{}, fmt.Errorf("%s: %w", name, ctx.Err())
						case <-time.After(time.Hour):
							return tiles.Fresh(tilestest.String("too late")), nil
						}
					}}
				}
				fast := tilestest.After("banners", first, json.RawMessage(`{"hello":"world"}`))
				e := newTestServer(t, 2*time.Hour, nil, fast, slow("products"), slow("recommendations"))

				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/home", nil)
				req.Header.Set("Accept", tt.accept)
				rec := newClockRecorder()
				var cut int
				rec.onFlush = func(n int) {
					if n == 2 { // the first tile, after the shell or the header

						cut = rec.body.Len()
						cancel() // the client goes away
					}
				}
				e.ServeHTTP(rec, req)

				if took := time.Since(start); took != first {
					t.Errorf("handler returned after %v; want %v, when the client left", took, first)
				}
				for _, name := range []string{"products", "recommendations"} {
					if at, ok := ended[name]; !ok || at != first {
						t.Errorf("%s saw its context end at %v (%v); want %v", name, at, ok, first)
					}
				}
				if rest := rec.body.Bytes()[cut:]; len(rest) > 0 {
					t.Errorf("sent %q after the client left; want nothing", rest)
				}
			})
		})
	}
}

// TestStreamClientGoneRealServer closes a real connection after the first
// tile: the server cancels the tiles still running.
func TestStreamClientGoneRealServer(t *testing.T) {
	for _, tt := range []struct{ name, accept, marker string }{
		{"HTML", "text/html", "data-status="},
		{"NDJSON", "application/x-ndjson", `"status":`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cancelled := make(chan string, 2)
			slow := func(name string) *tilestest.Fetcher {
				return &tilestest.Fetcher{TileName: name, FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
					select {
					case <-ctx.Done():
						cancelled <- name
						return tiles.Outcome{}, ctx.Err()
					case <-time.After(30 * time.Second):
						return tiles.Fresh(tilestest.String("too late")), nil
					}
				}}
			}
			fast := tilestest.After("banners", 10*time.Millisecond, json.RawMessage(`{"hello":"world"}`))
			srv, client := realServer(t, time.Minute, fast, slow("products"), slow("recommendations"))

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/home", nil)
			req.Header.Set("Accept", tt.accept)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(resp.Body)
			var read []byte
			for !bytes.Contains(read, []byte(tt.marker)) {
				line, err := br.ReadBytes('\n')
				if err != nil {
					t.Fatalf("reading the first tile: %v", err)
				}
				read = append(read, line...)
			}
			cancel() // the client goes away
			resp.Body.Close()

			timeout := time.After(5 * time.Second)
			var got []string
			for len(got) < 2 {
				select {
				case name := <-cancelled:
					got = append(got, name)
				case <-timeout:
					t.Fatalf("tiles cancelled: %v; want products and recommendations", got)
				}
			}
		})
	}
}
