package web

// Tests of a page's layout in the HTML: each tile's width in its slot and
// in the tile that replaces it, the retry link and /tiles/NAME keeping the
// tile's look, the links view, and a primary tile whose content does not
// exist.

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// layoutServer serves one page at /p over fs, laid out with views and
// widths, beside the tiles' own routes.
func layoutServer(t *testing.T, views, widths map[string]string, fs ...tiles.Fetcher) http.Handler {
	t.Helper()
	agg, err := aggregator.New(fs, aggregator.Options{})
	if err != nil {
		t.Fatalf("aggregator.New: %v", err)
	}
	page := Page{Path: "/p", Title: "P", Agg: agg, Views: views, Widths: widths}
	return NewServer(slog.New(slog.DiscardHandler), agg, Options{Pages: []Page{page}})
}

// classes returns the class attribute of each element with data-tile (or,
// with slots, data-slot) in body, by tile name.
func classes(t *testing.T, body, key string) map[string]string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if name, ok := attr(n, key); ok {
			out[name], _ = attr(n, "class")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func TestLayoutWidths(t *testing.T) {
	broken := tilestest.Failing("deals", errors.New("deals: backend down"))
	h := layoutServer(t, map[string]string{"deals": ViewProducts},
		map[string]string{"banners": "full", "deals": "half", "notice": "third"},
		tilestest.After("banners", 0, json.RawMessage(`{"items":[]}`)), broken,
		tilestest.After("notice", 0, json.RawMessage(`{"a":1}`)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/p?format=html", nil).WithContext(t.Context()))
	body := rec.Body.String()
	want := map[string]string{
		"banners": "tile tile-banners view-banners width-full",
		"deals":   "tile tile-deals view-products width-half",
		"notice":  "tile tile-notice view-json width-third",
	}
	slots, drawn := classes(t, body, "data-slot"), classes(t, body, "data-tile")
	for name, w := range want {
		if got := slots[name]; got != w+" placeholder" {
			t.Errorf("%s's slot has class %q; want %q", name, got, w+" placeholder")
		}
		if got := drawn[name]; !strings.HasPrefix(got, w+" status-") {
			t.Errorf("%s's tile has class %q; want %q and its status", name, got, w)
		}
	}

	// The failed tile's retry link loads it with the look it has here.
	const retry = `/tiles/deals?format=html&amp;view=products&amp;width=half`
	if !strings.Contains(body, `href="`+retry+`"`) {
		t.Fatalf("no retry link %s in %s", retry, body)
	}
	for _, tt := range []struct {
		target, class string
		code          int
	}{
		{"/tiles/deals?format=html&view=products&width=half", "tile tile-deals view-products width-half status-error", 502},
		{"/tiles/deals?format=html", "tile tile-deals view-json status-error", 502}, // the tile's own look
		{"/tiles/deals?format=html&width=wide", "", 400},
		{"/tiles/deals?format=html&view=carousel", "", 400},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil).WithContext(t.Context()))
		if rec.Code != tt.code {
			t.Errorf("GET %s: %d; want %d (%s)", tt.target, rec.Code, tt.code, rec.Body)
			continue
		}
		if got := classes(t, rec.Body.String(), "data-tile")["deals"]; tt.class != "" && got != tt.class {
			t.Errorf("GET %s draws class %q; want %q", tt.target, got, tt.class)
		}
	}

	// The homepage's tiles have no width: its markup is as it was.
	agg, _ := aggregator.New([]tiles.Fetcher{tilestest.After("banners", 0, json.RawMessage(`{"items":[]}`))}, aggregator.Options{})
	rec = httptest.NewRecorder()
	NewServer(slog.New(slog.DiscardHandler), agg, Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/home?format=html", nil).WithContext(t.Context()))
	if got := classes(t, rec.Body.String(), "data-slot")["banners"]; got != "tile tile-banners view-banners placeholder" {
		t.Errorf("/home's banners slot has class %q; want no width", got)
	}
}

func TestLinksView(t *testing.T) {
	tests := []struct {
		name, data string
		heading    string   // "" when the generic view draws it
		hrefs      []string // the nav's links
	}{
		{"the category index",
			`{"title":"Shop by category","items":[{"slug":"kitchen","title":"Kitchen","count":6,"link":"/c/kitchen"},{"title":"Audio","link":"/c/audio"}]}`,
			"Shop by category", []string{"/c/kitchen", "/c/audio"}},
		{"no title: the tile's name", `{"items":[{"title":"A","link":"https://a.test/x"}]}`, "index", []string{"https://a.test/x"}},
		{"a script URL is neutralised", `{"items":[{"title":"A","link":"javascript:alert(1)"}]}`, "index", []string{"#ZgotmplZ"}},
		{"an item without a link: generic", `{"items":[{"title":"A"}]}`, "", nil},
		{"no items: generic", `{"items":[]}`, "", nil},
		{"not a list: generic", `[1,2]`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, raw := renderOne(t, map[string]string{"index": ViewLinks}, "index", json.RawMessage(tt.data))
			cls, _ := attr(n, "class")
			if tt.heading == "" {
				if strings.Contains(raw, "<nav") || !strings.Contains(raw, `class="generic"`) {
					t.Errorf("drawn as %q; want the generic view:\n%s", cls, raw)
				}
				return
			}
			if !strings.Contains(cls, "view-links") || !strings.Contains(raw, `<nav aria-labelledby="h-index">`) {
				t.Errorf("drawn as %q; want the links view in a nav named by its heading:\n%s", cls, raw)
			}
			if !strings.Contains(raw, `<h2 id="h-index"`) || !strings.Contains(raw, ">"+tt.heading+"</h2>") {
				t.Errorf("heading is not %q:\n%s", tt.heading, raw)
			}
			for _, href := range tt.hrefs {
				if !strings.Contains(raw, `<a href="`+href+`">`) {
					t.Errorf("no link to %s:\n%s", href, raw)
				}
			}
		})
	}
}

func TestGoneTileOffersNoRetry(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cause error
		gone  bool
	}{
		{"404", &tiles.BackendError{Tile: "category", Code: 404}, true},
		{"410", &tiles.BackendError{Tile: "category", Code: 410}, true},
		{"502", &tiles.BackendError{Tile: "category", Code: 502}, false},
		{"down", errors.New("category: connection refused"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := aggregator.Result{Name: "category", Outcome: tiles.Outcome{Status: tiles.StatusError, Cause: tt.cause}}
			b, err := newRenderer(nil).tile(res, tiles.Request{})
			if err != nil {
				t.Fatal(err)
			}
			says, retry := strings.Contains(string(b), "this category does not exist"), strings.Contains(string(b), "data-retry")
			if says != tt.gone || retry == tt.gone {
				t.Errorf("says it does not exist %v, offers a retry %v; want %v, %v:\n%s", says, retry, tt.gone, !tt.gone, b)
			}
		})
	}
}
