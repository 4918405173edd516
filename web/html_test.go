package web

// Tests of what the HTML forms contain: content negotiation, escaping of
// hostile catalogue content, the one-tile fragment behind the retry link,
// prices, the timing waterfall, product pictures and static files.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/html"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// parseHTML parses a page or a fragment of one.
func parseHTML(t testing.TB, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// findAll returns the nodes under n (n included) that match, in document
// order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if match(d) {
			out = append(out, d)
		}
	}
	if match(n) {
		out = append([]*html.Node{n}, out...)
	}
	return out
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasAttr(key string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		_, ok := attr(n, key)
		return n.Type == html.ElementNode && ok
	}
}

func hasClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		v, _ := attr(n, "class")
		return n.Type == html.ElementNode && slices.Contains(strings.Fields(v), class)
	}
}

func isElement(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag }
}

// textContent is the text of n and its descendants, as a browser shows it.
func textContent(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// countingTiles returns the three built-in tiles, instant, counting the
// fetches that reach them.
func countingTiles(t testing.TB, calls *atomic.Int64) []tiles.Fetcher {
	t.Helper()
	var fs []tiles.Fetcher
	for _, f := range specTiles(t, catalogue.Default(), []tileSpec{{name: "banners"}, {name: "products"}, {name: "recommendations"}}) {
		fs = append(fs, &tilestest.Fetcher{TileName: f.Name(), FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
			calls.Add(1)
			return f.Fetch(ctx, req)
		}})
	}
	return fs
}

const (
	chromeAccept  = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	firefoxAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
)

func TestHomeFormat(t *testing.T) {
	tests := []struct {
		name, target, accept, want string
	}{
		{"format=json beats Accept text/html", "/home?format=json", "text/html", "application/json"},
		{"format=html beats Accept application/json", "/home?format=html", "application/json", "text/html"},
		{"format=ndjson", "/home?format=ndjson", "", "application/x-ndjson"},
		{"format=ndjson beats a browser", "/home?format=ndjson", chromeAccept, "application/x-ndjson"},
		{"format=html beats */*", "/home?format=html&user=alice", "*/*", "text/html"},
		{"Chrome's Accept", "/home", chromeAccept, "text/html"},
		{"Firefox's Accept", "/home", firefoxAccept, "text/html"},
		{"curl's */*", "/home", "*/*", "application/json"},
		{"no Accept", "/home", "", "application/json"},
		{"Accept ndjson", "/home", "application/x-ndjson", "application/x-ndjson"},
		{"Accept text/*", "/home", "text/*", "text/html"},
		{"html preferred by q", "/home", "application/json;q=0.5, text/html", "text/html"},
		{"json preferred by q", "/home", "text/html;q=0.5, application/json", "application/json"},
		{"html refused with q=0", "/home", "text/html;q=0, */*", "application/json"},
		{"fragment: format=html", "/tiles/banners?format=html", "application/json", "text/html"},
		{"fragment: Accept text/html (the retry fetch)", "/tiles/banners", "text/html", "text/html"},
		{"fragment: format=json", "/tiles/banners?format=json", chromeAccept, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			e := newTestServer(t, time.Second, nil, countingTiles(t, &calls)...)
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d; want 200 (body %s)", rec.Code, rec.Body)
			}
			ct := rec.Header().Get("Content-Type")
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != tt.want {
				t.Fatalf("Content-Type = %q; want %s", ct, tt.want)
			}
			if vary := headerTokens(rec.Header(), "Vary"); !slices.Contains(vary, "Accept") {
				t.Errorf("Vary = %v; want Accept in it", vary)
			}
			body := rec.Body.String()
			switch {
			case mt == "application/json":
				var v map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
					t.Errorf("body %.80q: %v; want JSON", body, err)
				}
			case mt == "application/x-ndjson":
				lines := strings.Split(strings.TrimSpace(body), "\n")
				if len(lines) != 4 || !strings.HasPrefix(lines[3], `{"elapsed_ms":`) {
					t.Errorf("body = %q; want 3 tile lines and the summary", body)
				}
			case strings.HasPrefix(tt.target, "/home"):
				if !strings.HasPrefix(body, "<!doctype html>") || len(streamedTiles(t, body)) != 3 {
					t.Errorf("body = %.80q...; want the page with 3 tiles", body)
				}
			default:
				if strings.Contains(body, "<html") || len(streamedTiles(t, body)) != 1 {
					t.Errorf("body = %.80q...; want a fragment of one tile", body)
				}
			}
		})
	}
}

func TestHomeBadFormat(t *testing.T) {
	for _, target := range []string{
		"/home?format=xml",
		"/home?format=",
		"/home?format=HTML",
		"/home?format=json&format=html",
		"/home?format=%3Cscript%3E",
		"/tiles/banners?format=xml",
	} {
		t.Run(target, func(t *testing.T) {
			var calls atomic.Int64
			e := newTestServer(t, time.Second, nil, countingTiles(t, &calls)...)
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("Accept", "text/html")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status = %d; want 400", rec.Code)
			}
			var body struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, "format") {
				t.Errorf("body = %s; want a JSON error naming format", rec.Body)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("%d fetches; want none for a bad request", n)
			}
		})
	}
}

// hostileCatalogue has content that would run script if it were not
// escaped.
func hostileCatalogue() *catalogue.Catalogue {
	return &catalogue.Catalogue{
		Banners: []catalogue.Banner{{
			ID:       "b1",
			Headline: `"><img src=x onerror=alert(1)>`,
			Text:     `</span><script>alert(2)</script>`,
			Link:     "javascript:alert(3)",
			Theme:    `x" onmouseover="alert(4)`,
		}},
		Products: []catalogue.Product{{
			ID: "p01", Name: "<script>alert(1)</script>", Category: `<b onclick=alert(5)>kitchen</b>`,
			PriceMinor: 4990, Currency: `EUR<i>`, Rating: 4.8, Image: "javascript:alert(6)",
		}, {
			ID: "p02", Name: "Plain Mug", Category: "kitchen",
			PriceMinor: 1200, Currency: "EUR", Rating: 4.1, Image: "/img/products/p02.svg",
		}},
	}
}

// vitrineScripts matches the page's own inline scripts: the stub that
// queues place() calls until vitrine.js has loaded, and the calls.
var vitrineScripts = regexp.MustCompile(`^(vitrine\.place\("[a-z]+"\)|window\.vitrine=\{q:\[\],place:function\(n\)\{this\.q\.push\(n\)\}\})$`)

// checkInert fails if doc holds any script, handler or URL that the hostile
// catalogue could have smuggled in.
func checkInert(t *testing.T, doc *html.Node) {
	t.Helper()
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
		switch n.Data {
		case "script":
			src, _ := attr(n, "src")
			if src != "/static/vitrine.js" && !vitrineScripts.MatchString(textContent(n)) {
				t.Errorf("a script %q (src %q); want only Vitrine's own", textContent(n), src)
			}
		case "img":
			if src, _ := attr(n, "src"); src == "x" {
				t.Errorf("an injected <img src=x>")
			}
		case "b", "i":
			t.Errorf("an injected <%s>", n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q>: an injected handler", n.Data, a.Key, a.Val)
			}
			if (a.Key == "href" || a.Key == "src") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
				t.Errorf("<%s %s=%q>: a script URL", n.Data, a.Key, a.Val)
			}
		}
	}
}

// hasText says whether some element of doc matching match has exactly the
// text want.
func hasText(doc *html.Node, match func(*html.Node) bool, want string) bool {
	for _, n := range findAll(doc, match) {
		if textContent(n) == want {
			return true
		}
	}
	return false
}

func TestHTMLEscaping(t *testing.T) {
	cat := hostileCatalogue()
	tests := []struct {
		target  string
		page    bool
		product bool // holds the hostile product's name
		banner  bool // holds the hostile banner's headline
	}{
		{"/home?format=html", true, true, true},
		{"/home?format=html&user=alice", true, true, true},
		{"/tiles/products?format=html", false, true, false},
		{"/tiles/recommendations?format=html", false, true, false},
		{"/tiles/banners?format=html", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			fs := specTiles(t, cat, []tileSpec{{name: "banners"}, {name: "products"}, {name: "recommendations"}})
			e := newTestServer(t, time.Second, cat, fs...)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d; want 200", rec.Code)
			}
			body := rec.Body.String()
			for _, raw := range []string{"<script>alert", "<img src=x", "<b onclick", "javascript:"} {
				if strings.Contains(body, raw) {
					t.Errorf("body holds %q unescaped", raw)
				}
			}
			doc := parseHTML(t, body)
			checkInert(t, doc)
			if tt.product && !hasText(doc, isElement("h3"), "<script>alert(1)</script>") {
				t.Errorf("no <h3> showing the product name <script>alert(1)</script> as text")
			}
			if tt.banner && !hasText(doc, isElement("strong"), `"><img src=x onerror=alert(1)>`) {
				t.Errorf("no <strong> showing the banner headline as text")
			}
			if tt.page {
				checkCSP(t, rec.Header().Get("Content-Security-Policy"), body)
			}
		})
	}
}

func TestProductImageEscaping(t *testing.T) {
	e := newTestServer(t, time.Second, hostileCatalogue())
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/img/products/p01.svg", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; want 200", rec.Code)
	}
	d := xml.NewDecoder(rec.Body)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "script" {
				t.Errorf("SVG holds a <script>")
			}
			for _, a := range se.Attr {
				if a.Name.Local == "aria-label" && a.Value != "<script>alert(1)</script>" {
					t.Errorf("aria-label = %q; want the name as text", a.Value)
				}
				if strings.HasPrefix(a.Name.Local, "on") {
					t.Errorf("SVG has handler %s", a.Name.Local)
				}
			}
		}
	}
}

// TestTileViews renders single tiles: a tile with a view of its own decodes
// its data for it, and one whose data its view cannot decode, or with no
// view, shows the data in the generic view; stale and fallback tiles say so.
func TestTileViews(t *testing.T) {
	cat := catalogue.Default()
	content := func(name, user string) json.RawMessage {
		t.Helper()
		data, err := tilestest.Builtin(t, name).Content(cat, tiles.Request{User: user})
		if err != nil {
			t.Fatalf("%s content: %v", name, err)
		}
		return data
	}
	banners, products, bestsellers := content("banners", ""), content("products", ""), content("recommendations", "")
	tests := []struct {
		name    string
		result  aggregator.Result
		view    string // the class of the view's list, or "generic"
		heading string
		generic string // the text of the generic view
		note    string // the text of the note, if any
	}{
		{"banners", aggregator.Result{Name: "banners", Outcome: tiles.Fresh(banners)},
			"banners", "Offers", "", ""},
		{"products", aggregator.Result{Name: "products", Outcome: tiles.Fresh(products)},
			"grid", "Featured", "", ""},
		{"recommendations for a user", aggregator.Result{Name: "recommendations", Outcome: tiles.Fresh(content("recommendations", "alice"))},
			"row", "Picked for alice", "", ""},
		{"banners data not banners", aggregator.Result{Name: "banners", Outcome: tiles.Fresh(tilestest.String("<b>hi</b>"))},
			"generic", "banners", `<b>hi</b>`, ""},
		{"products data of the wrong shape", aggregator.Result{Name: "products", Outcome: tiles.Fresh(json.RawMessage(`{"title":5}`))},
			"generic", "products", "title 5", ""},
		{"a tile with no view", aggregator.Result{Name: "weather", Outcome: tiles.Fresh(json.RawMessage(`{"temp":[21,"<hot>"]}`))},
			"generic", "weather", "temp 21 <hot>", ""},
		{"an ok tile with no data", aggregator.Result{Name: "weather", Outcome: tiles.Outcome{Status: tiles.StatusOK}},
			"generic", "weather", "null", ""},
		{"stale", aggregator.Result{Name: "banners", Outcome: tiles.Outcome{Data: banners, Status: tiles.StatusStale, Age: 1500 * time.Millisecond}},
			"banners", "Offers", "", "Last updated 1.5 s ago."},
		{"stale of unknown age", aggregator.Result{Name: "banners", Outcome: tiles.Outcome{Data: banners, Status: tiles.StatusStale}},
			"banners", "Offers", "", "Last updated a moment ago."},
		{"stale with no view", aggregator.Result{Name: "weather", Outcome: tiles.Outcome{Data: json.RawMessage(`1`), Status: tiles.StatusStale, Age: 40 * time.Millisecond}},
			"generic", "weather", "1", "Last updated 40.0 ms ago."},
		{"fallback recommendations", aggregator.Result{Name: "recommendations", Outcome: tiles.Outcome{Data: bestsellers, Status: tiles.StatusFallback, Cause: errors.New("down")}},
			"row", "Recommended for you", "", "Our popular picks while your personal ones load."},
		{"fallback products", aggregator.Result{Name: "products", Outcome: tiles.Outcome{Data: products, Status: tiles.StatusFallback}},
			"grid", "Featured", "", "Our standard selection: this part of the page could not be refreshed just now."},
	}
	rend := newRenderer(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := rend.tile(tt.result, tiles.Request{User: "alice"})
			if err != nil {
				t.Fatalf("tile: %v", err)
			}
			doc := parseHTML(t, string(b))
			got := streamedTiles(t, string(b))
			if len(got) != 1 {
				t.Fatalf("got %d tiles; want 1 in %s", len(got), b)
			}
			if v, _ := attr(got[0], "data-status"); v != string(tt.result.Status) {
				t.Errorf("data-status = %q; want %q", v, tt.result.Status)
			}
			h2 := findAll(doc, isElement("h2"))
			if len(h2) != 1 || !strings.HasPrefix(textContent(h2[0]), tt.heading) {
				t.Errorf("heading = %q; want it to start with %q", textContent(h2[0]), tt.heading)
			}
			pre := findAll(doc, hasClass("generic"))
			if tt.view == "generic" {
				if len(pre) != 1 || strings.Join(strings.Fields(textContent(pre[0])), " ") != tt.generic {
					t.Errorf("generic view = %q; want %q", textContentOf(pre), tt.generic)
				}
			} else {
				if len(pre) != 0 {
					t.Errorf("generic view %q; want the tile's own view", textContentOf(pre))
				}
				if lists := findAll(doc, hasClass(tt.view)); len(lists) != 1 || len(findAll(lists[0], isElement("li"))) == 0 {
					t.Errorf("no <ul class=%q> with items in %s", tt.view, b)
				}
			}
			notes := findAll(doc, hasClass("note"))
			switch {
			case tt.note == "" && len(notes) != 0:
				t.Errorf("note %q; want none", textContent(notes[0]))
			case tt.note != "" && (len(notes) != 1 || textContent(notes[0]) != tt.note):
				t.Errorf("note = %q; want %q", textContentOf(notes), tt.note)
			}
		})
	}
}

// textContentOf is the text of the first node of ns, or "" if there is none.
func textContentOf(ns []*html.Node) string {
	if len(ns) == 0 {
		return ""
	}
	return textContent(ns[0])
}

func TestTileFragment(t *testing.T) {
	tests := []struct {
		name, target string
		wantCode     int
		wantStatus   string
		wantAt       time.Duration
		wantRetry    string
	}{
		{"ok", "/tiles/banners?format=html", http.StatusOK, "ok", 40 * time.Millisecond, ""},
		{"ok for a user", "/tiles/recommendations?format=html&user=alice", http.StatusOK, "ok", 80 * time.Millisecond, ""},
		{"timeout", "/tiles/products?format=html&user=alice", http.StatusGatewayTimeout, "timeout", 500 * time.Millisecond,
			"/tiles/products?format=html&user=alice"},
		{"error", "/tiles/failing?format=html", http.StatusBadGateway, "error", 10 * time.Millisecond,
			"/tiles/failing?format=html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cat := catalogue.Default()
				fs := specTiles(t, cat, []tileSpec{
					{name: "banners", latency: 40 * time.Millisecond},
					{name: "products", latency: 5 * time.Second},
					{name: "recommendations", latency: 80 * time.Millisecond},
				})
				fs = append(fs, &tilestest.Fetcher{TileName: "failing", FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
					if err := tiles.Wait(ctx, 10*time.Millisecond); err != nil {
						return tiles.Outcome{}, err
					}
					return tiles.Outcome{}, sim.ErrSimulated
				}})
				e := newTestServer(t, 500*time.Millisecond, cat, fs...)
				rec, took := serveAt(t.Context(), e, tt.target)
				if rec.code != tt.wantCode {
					t.Errorf("status = %d; want %d", rec.code, tt.wantCode)
				}
				if took != tt.wantAt {
					t.Errorf("took %v; want %v", took, tt.wantAt)
				}
				h := rec.header
				if got, want := h.Get("Content-Type"), "text/html; charset=UTF-8"; got != want {
					t.Errorf("Content-Type = %q; want %q", got, want)
				}
				if got := h.Get("Server-Timing"); !strings.Contains(got, "total;dur=") {
					t.Errorf("Server-Timing = %q; want a total", got)
				}
				if got := h.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") {
					t.Errorf("Content-Security-Policy = %q; want script-src 'self'", got)
				}
				body := rec.body.String()
				if strings.Contains(body, "<html") || strings.Contains(body, "<script") {
					t.Errorf("body = %q; want a bare fragment with no script", body)
				}
				got := streamedTiles(t, body)
				if len(got) != 1 {
					t.Fatalf("got %d tiles; want 1 in %q", len(got), body)
				}
				name := strings.TrimPrefix(strings.Split(tt.target, "?")[0], "/tiles/")
				if v, _ := attr(got[0], "data-tile"); v != name {
					t.Errorf("data-tile = %q; want %q", v, name)
				}
				if v, _ := attr(got[0], "data-status"); v != tt.wantStatus {
					t.Errorf("data-status = %q; want %q", v, tt.wantStatus)
				}
				links := findAll(got[0], hasAttr("data-retry"))
				switch {
				case tt.wantRetry == "" && len(links) != 0:
					t.Errorf("an ok tile has a retry link")
				case tt.wantRetry != "" && len(links) != 1:
					t.Errorf("got %d retry links; want 1", len(links))
				case tt.wantRetry != "":
					if href, _ := attr(links[0], "href"); href != tt.wantRetry {
						t.Errorf("retry href = %q; want %q", href, tt.wantRetry)
					}
				}
			})
		})
	}
}

func TestFormatPrice(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{4990, "EUR", "€49.90"},
		{5, "EUR", "€0.05"},
		{0, "EUR", "€0.00"},
		{123456, "GBP", "£1,234.56"},
		{100, "USD", "$1.00"},
		{100000000, "USD", "$1,000,000.00"},
		{8800, "JPY", "¥8,800"},
		{1234567, "JPY", "¥1,234,567"},
		{999, "JPY", "¥999"},
		{1250, "CHF", "CHF 12.50"},
		{123456, "XYZ", "XYZ 1,234.56"},
		{-4990, "EUR", "-€49.90"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := formatPrice(tt.minor, tt.currency); got != tt.want {
				t.Errorf("formatPrice(%d, %q) = %q; want %q", tt.minor, tt.currency, got, tt.want)
			}
		})
	}
}

func TestFormatMS(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want string
	}{
		{0, "0.0 ms"}, {40, "40.0 ms"}, {120.46, "120.5 ms"}, {999.9, "999.9 ms"}, {1000, "1 s"}, {1250, "1.25 s"}, {1111.6, "1.11 s"}, {2999.9, "3 s"},
	} {
		if got := formatMS(tt.in); got != tt.want {
			t.Errorf("formatMS(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// timed is a tile's result with only what the waterfall draws.
func timed(name string, status tiles.Status, start, elapsed time.Duration) aggregator.Result {
	return aggregator.Result{Name: name, Outcome: tiles.Outcome{Status: status}, Start: start, Elapsed: elapsed}
}

// msOf is d in milliseconds, unrounded.
func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func TestTimingView(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		results []aggregator.Result
		total   time.Duration
	}{
		{"defaults", []aggregator.Result{
			timed("banners", tiles.StatusOK, 0, 40*ms),
			timed("products", tiles.StatusOK, 0, 80*ms),
			timed("recommendations", tiles.StatusOK, 0, 120*ms),
		}, 120400 * time.Microsecond},
		{"a timeout", []aggregator.Result{
			timed("banners", tiles.StatusOK, 0, 10*ms),
			timed("products", tiles.StatusError, 0, 250*ms),
			timed("recommendations", tiles.StatusTimeout, 0, 500*ms),
		}, 500700 * time.Microsecond},
		{"late starts", []aggregator.Result{
			timed("banners", tiles.StatusOK, 2*ms, 40*ms),
			timed("products", tiles.StatusOK, 5*ms, 300*ms),
		}, 305500 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTimingView(tt.results, tt.total)
			totalMS := msOf(tt.total)
			if got, want := len(v.Bars), len(tt.results)+1; got != want {
				t.Fatalf("got %d bars; want %d (one per tile and the total)", got, want)
			}
			total := v.Bars[len(v.Bars)-1]
			if total.Label != "page total" || total.Status != "total" || total.ElapsedMS != totalMS {
				t.Errorf("last bar = %+v; want the page total, %v ms", total, totalMS)
			}
			var sum, slowest float64
			for i, r := range tt.results {
				b := v.Bars[i]
				elapsedMS, startMS := msOf(r.Elapsed), msOf(r.Start)
				if b.Label != r.Name || b.Status != string(r.Status) || b.ElapsedMS != elapsedMS {
					t.Errorf("bar %d = %s %s %v; want %s %s %v", i, b.Label, b.Status, b.ElapsedMS, r.Name, r.Status, elapsedMS)
				}
				// Width and start are proportional to time, on one axis.
				if got, want := b.W/total.W, elapsedMS/totalMS; !near(got, want, 0.002) {
					t.Errorf("bar %s: width %v is %.4f of the total's %v; want %.4f", r.Name, b.W, got, total.W, want)
				}
				if got, want := (b.X-total.X)/total.W, startMS/totalMS; !near(got, want, 0.002) {
					t.Errorf("bar %s starts at %v; want %.4f of the axis", r.Name, b.X, want)
				}
				if i > 0 && b.Y <= v.Bars[i-1].Y {
					t.Errorf("bar %s is not below bar %s", r.Name, v.Bars[i-1].Label)
				}
				sum += elapsedMS
				slowest = max(slowest, elapsedMS)
			}
			if v.SumMS != sum || v.SlowestMS != slowest {
				t.Errorf("sum, slowest = %v, %v; want %v, %v", v.SumMS, v.SlowestMS, sum, slowest)
			}
			if !near(v.AxisX, total.X+total.W, 0.11) {
				t.Errorf("axis at %v; want at the end of the total bar, %v", v.AxisX, total.X+total.W)
			}
			if right := max(total.X+total.W, v.Bars[0].LabelX); right > v.Width {
				t.Errorf("drawing reaches %v; want it within %v", right, v.Width)
			}
		})
	}
	t.Run("a 0 ms tile still shows", func(t *testing.T) {
		v := newTimingView([]aggregator.Result{timed("banners", tiles.StatusOK, 0, 0)}, 0)
		if w := v.Bars[0].W; w <= 0 {
			t.Errorf("width = %v; want more than 0", w)
		}
	})
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }

// TestTimingPanel reads the waterfall of a streamed page: one bar per tile
// in page order and the total, each as wide as its time.
func TestTimingPanel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cat := catalogue.Default()
		specs := []tileSpec{
			{name: "banners", latency: 120 * time.Millisecond},
			{name: "products", latency: 40 * time.Millisecond},
			{name: "recommendations", latency: 5 * time.Second},
		}
		e := newTestServer(t, 500*time.Millisecond, cat, specTiles(t, cat, specs)...)
		rec, _ := serveAt(t.Context(), e, "/home?format=html")
		doc := parseHTML(t, rec.body.String())
		panels := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == "timing" })
		if len(panels) != 1 {
			t.Fatalf("got %d timing panels; want 1", len(panels))
		}
		panel := panels[0]
		if got, want := textContent(findAll(panel, isElement("p"))[0]),
			"Page ready in 500.0 ms; slowest tile 500.0 ms; the tiles one after another would have taken 660.0 ms."; got != want {
			t.Errorf("summary = %q; want %q", got, want)
		}
		type bar struct {
			label, status string
			width         float64
		}
		var bars []bar
		for _, g := range findAll(panel, hasClass("bar")) {
			rect := findAll(g, isElement("rect"))
			label := findAll(g, isElement("text"))
			if len(rect) != 1 || len(label) == 0 {
				t.Fatalf("bar without a rect or a label")
			}
			w, _ := attr(rect[0], "width")
			width, err := strconv.ParseFloat(w, 64)
			if err != nil {
				t.Fatalf("rect width %q: %v", w, err)
			}
			class, _ := attr(g, "class")
			bars = append(bars, bar{textContent(label[0]), strings.TrimPrefix(strings.Fields(class)[1], "status-"), width})
		}
		want := []struct {
			label, status string
			ms            float64
		}{
			{"banners", "ok", 120}, {"products", "ok", 40}, {"recommendations", "timeout", 500}, {"page total", "total", 500},
		}
		if len(bars) != len(want) {
			t.Fatalf("got %d bars; want %d", len(bars), len(want))
		}
		for i, w := range want {
			b := bars[i]
			if b.label != w.label || b.status != w.status {
				t.Errorf("bar %d = %s (%s); want %s (%s)", i, b.label, b.status, w.label, w.status)
			}
			if got, want := b.width/bars[3].width, w.ms/500; !near(got, want, 0.002) {
				t.Errorf("bar %s is %.4f of the total's width; want %.4f", w.label, got, want)
			}
		}
	})
}

func TestProductImage(t *testing.T) {
	tests := []struct {
		target   string
		wantCode int
		wantType string
		wantIn   string
	}{
		{"/img/products/p01.svg", http.StatusOK, "image/svg+xml", `aria-label="Cast-Iron Skillet 28 cm"`},
		{"/img/products/p28.svg", http.StatusOK, "image/svg+xml", "<svg"},
		{"/img/products/p99.svg", http.StatusNotFound, "application/json", "p99.svg"},
		{"/img/products/nope", http.StatusNotFound, "application/json", "nope"},
		{"/img/products/%3Cscript%3E.svg", http.StatusNotFound, "application/json", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			e := newTestServer(t, time.Second, catalogue.Default())
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))
			if rec.Code != tt.wantCode {
				t.Errorf("status = %d; want %d", rec.Code, tt.wantCode)
			}
			if mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt != tt.wantType {
				t.Errorf("Content-Type = %q; want %s", rec.Header().Get("Content-Type"), tt.wantType)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q; want nosniff", got)
			}
			if !strings.Contains(rec.Body.String(), tt.wantIn) {
				t.Errorf("body = %q; want %q in it", rec.Body, tt.wantIn)
			}
			if tt.wantCode == http.StatusOK {
				if err := xml.Unmarshal(rec.Body.Bytes(), new(struct {
					XMLName xml.Name `xml:"http://www.w3.org/2000/svg svg"`
				})); err != nil {
					t.Errorf("body is not an SVG document: %v", err)
				}
			} else {
				var body struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
					t.Errorf("body = %s; want {\"error\": ...}", rec.Body)
				}
			}
		})
	}
}

func TestStaticFiles(t *testing.T) {
	tests := []struct {
		target, file, wantType string
	}{
		{"/static/vitrine.css", "static/vitrine.css", "text/css; charset=utf-8"},
		{"/static/noscript.css", "static/noscript.css", "text/css; charset=utf-8"},
		{"/static/vitrine.js", "static/vitrine.js", "text/javascript; charset=utf-8"},
		{"/static/favicon.svg", "static/favicon.svg", "image/svg+xml"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			e := newTestServer(t, time.Second, nil)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d; want 200", rec.Code)
			}
			for key, want := range map[string]string{
				"Content-Type":           tt.wantType,
				"X-Content-Type-Options": "nosniff",
			} {
				if got := rec.Header().Get(key); got != want {
					t.Errorf("%s = %q; want %q", key, got, want)
				}
			}
			if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "max-age=") {
				t.Errorf("Cache-Control = %q; want a max-age", got)
			}
			want, err := staticFS.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec.Body.Bytes(), want) {
				t.Errorf("body differs from the embedded %s", tt.file)
			}
		})
	}
	for _, target := range []string{"/static/nope.css", "/static/", "/static/../templates/page.html"} {
		t.Run(target, func(t *testing.T) {
			e := newTestServer(t, time.Second, nil)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
			if rec.Code != http.StatusNotFound {
				t.Errorf("status = %d; want 404 (body %q)", rec.Code, rec.Body)
			}
			var body struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
				t.Errorf("body = %q; want {\"error\": ...}", rec.Body)
			}
		})
	}
}
