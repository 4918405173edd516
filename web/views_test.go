package web

// Tests of how the HTML page draws a tile that has no view of its own: the
// generic view of its JSON (escaped, nested, bounded) and the html view of
// a backend's fragment (sanitised, inserted as markup, kept inside its
// slot, the page's CSP still in force).

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// textLeaves returns the trimmed, non-empty text nodes under n, in order.
func textLeaves(n *html.Node) []string {
	var out []string
	if n.Type == html.TextNode {
		if s := strings.TrimSpace(n.Data); s != "" {
			out = append(out, s)
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, textLeaves(c)...)
	}
	return out
}

// renderOne renders one ok tile with the given views and returns its
// element, failing unless there is exactly one.
func renderOne(t *testing.T, views map[string]string, name string, data json.RawMessage) (*html.Node, string) {
	t.Helper()
	b, err := newRenderer(views).tile(aggregator.Result{Name: name, Outcome: tiles.Fresh(data)}, tiles.Request{})
	if err != nil {
		t.Fatalf("tile: %v", err)
	}
	got := streamedTiles(t, string(b))
	if len(got) != 1 {
		t.Fatalf("got %d tiles; want 1 in %s", len(got), b)
	}
	return got[0], string(b)
}

func TestGenericView(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 50) + `1` + strings.Repeat(`}`, 50)
	long := make([]string, 3000)
	for i := range long {
		long[i] = fmt.Sprint(i)
	}
	tests := []struct {
		name   string
		data   string
		leaves []string // the texts shown, in order (the first few if more)
		links  []string // hrefs of the links
		more   bool     // "More not shown."
		deep   bool     // "(nested deeper than shown)"
	}{
		{"scalars", `"<script>alert(1)</script>"`, []string{"<script>alert(1)</script>"}, nil, false, false},
		{"nested values, keys in order",
			`{"zeta":{"city":"Köln","temps":[21,-3.5e2,true,null]},"alpha":[],"b":{},"<i>k</i>":"<b>v</b>"}`,
			[]string{"zeta", "city", "Köln", "temps", "21", "-3.5e2", "true", "null", "alpha", "(empty)", "b", "(empty)", "<i>k</i>", "<b>v</b>"}, nil, false, false},
		{"http(s) URLs are links, others text",
			`["https://example.com/a?b=1&c=2","http://shop.test/","javascript:alert(1)","https://","ftp://x/"]`,
			[]string{"https://example.com/a?b=1&c=2", "http://shop.test/", "javascript:alert(1)", "https://", "ftp://x/"},
			[]string{"https://example.com/a?b=1&c=2", "http://shop.test/"}, false, false},
		{"a long string is clipped", `"` + strings.Repeat("x", 5000) + `"`,
			[]string{strings.Repeat("x", viewMaxText) + "..."}, nil, false, false},
		{"a huge array is cut", "[" + strings.Join(long, ",") + "]", []string{"0", "1", "2"}, nil, true, false},
		{"deep nesting is cut", deep, []string{"a", "a", "a", "a", "a", "a", "(nested deeper than shown)"}, nil, false, true},
		{"not JSON shows as text", `{"a":`, []string{`{"a":`}, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tile, page := renderOne(t, nil, "weather", json.RawMessage(tt.data))
			checkInert(t, tile)
			if h := findAll(tile, isElement("h2")); len(h) != 1 || textContent(h[0]) != "weather" {
				t.Errorf("heading = %q; want the tile's name", textContentOf(h))
			}
			views := findAll(tile, hasClass("generic"))
			if len(views) != 1 {
				t.Fatalf("got %d generic views; want 1 in %s", len(views), page)
			}
			got := textLeaves(views[0])
			if tt.more {
				if len(got) > viewMaxNodes+1 || got[len(got)-1] != "More not shown." {
					t.Errorf("got %d texts ending %q; want at most %d and More not shown.", len(got), got[len(got)-1], viewMaxNodes)
				}
				got = got[:len(tt.leaves)]
			}
			if !slices.Equal(got, tt.leaves) {
				t.Errorf("texts = %q; want %q", got, tt.leaves)
			}
			var links []string
			for _, a := range findAll(views[0], isElement("a")) {
				href, _ := attr(a, "href")
				links = append(links, href)
				if rel, _ := attr(a, "rel"); rel != "noopener nofollow" {
					t.Errorf("link %s: rel = %q; want noopener nofollow", href, rel)
				}
			}
			if !slices.Equal(links, tt.links) {
				t.Errorf("links = %q; want %q", links, tt.links)
			}
			if got := len(findAll(views[0], hasClass("json-deep"))) > 0; got != tt.deep {
				t.Errorf("cut for depth = %v; want %v", got, tt.deep)
			}
			if depth := len(findAll(views[0], isElement("dl"))); depth > viewMaxDepth {
				t.Errorf("%d nested lists; want at most %d", depth, viewMaxDepth)
			}
		})
	}
}

func TestHTMLView(t *testing.T) {
	tests := []struct {
		name  string
		data  json.RawMessage
		want  string   // the fragment's markup as inserted
		texts []string // if set, the texts of the generic view instead
	}{
		{"markup verbatim, script gone", tilestest.String(`<p class="deal">Save <em>20%</em> <a href="/sale">now</a></p><script>alert(1)</script>`),
			`<p class="deal">Save <em>20%</em> <a href="/sale">now</a></p>`, nil},
		{"unclosed elements are closed in the slot", tilestest.String(`<div><b>open`), `<div><b>open</b></div>`, nil},
		{"a stray end tag cannot close the slot", tilestest.String(`</section></div><p>in`), `<p>in</p>`, nil},
		{"a dangling attribute cannot swallow what follows", tilestest.String(`<p>a</p><img src="/x.png" alt="`), `<p>a</p>`, nil},
		{"plaintext cannot take the page", tilestest.String(`<p>a</p><plaintext><p>b`), `<p>a</p>&lt;p&gt;b`, nil},
		{"data that is not a string draws generically", json.RawMessage(`{"a":"<b>"}`), "", []string{"a", "<b>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tile, page := renderOne(t, map[string]string{"promo": ViewHTML}, "promo", tt.data)
			if v, _ := attr(tile, "data-status"); v != "ok" {
				t.Errorf("data-status = %q; want ok", v)
			}
			if tt.texts != nil {
				views := findAll(tile, hasClass("generic"))
				if len(views) != 1 || !slices.Equal(textLeaves(views[0]), tt.texts) {
					t.Errorf("want the generic view of %q in %s", tt.texts, page)
				}
				return
			}
			before, after, ok := strings.Cut(page, `<div class="fragment">`)
			if !ok || !strings.Contains(before, `data-tile="promo"`) {
				t.Fatalf("no fragment in the tile: %s", page)
			}
			if want := tt.want + "</div>\n</section>\n"; after != want {
				t.Errorf("tile ends %q; want %q", after, want)
			}
		})
	}
}

// TestHTMLViewPageCSP: on the page, a fragment's script and event
// attributes are gone, and behind the sanitiser the policy still allows no
// inline script but those with the page's nonce.
func TestHTMLViewPageCSP(t *testing.T) {
	promo := tilestest.Serving("promo", tiles.Fresh(tilestest.String(`<p>Hi</p><script>alert(1)</script><img src=x onerror="alert(2)">`)))
	agg, err := aggregator.New([]tiles.Fetcher{promo}, aggregator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := NewServer(slog.New(slog.DiscardHandler), agg, Options{Views: map[string]string{"promo": ViewHTML}})
	rec, _ := serveAt(t.Context(), e, "/home", "Accept: text/html")
	if rec.code != http.StatusOK {
		t.Fatalf("status = %d; want 200", rec.code)
	}
	page := rec.body.String()
	if !strings.Contains(page, `<div class="fragment"><p>Hi</p><img src="x"/></div>`) {
		t.Fatalf("the sanitised fragment is not on the page: %s", page)
	}
	csp := rec.sent.Get("Content-Security-Policy")
	for d := range strings.SplitSeq(csp, ";") {
		f := strings.Fields(d)
		if len(f) == 0 || (f[0] != "script-src" && f[0] != "default-src") {
			continue
		}
		for _, src := range f[1:] {
			if src != "'self'" && !strings.HasPrefix(src, "'nonce-") {
				t.Errorf("%s allows %s; want only 'self' and the page's nonce", f[0], src)
			}
		}
	}
	nonce := ""
	for _, s := range findAll(parseHTML(t, page), isElement("script")) {
		n, _ := attr(s, "nonce")
		if n == "" {
			t.Errorf("a script without the page's nonce: %q", textContent(s))
		}
		if nonce == "" {
			nonce = n
		}
	}
	if nonce == "" || !strings.Contains(csp, "'nonce-"+nonce+"'") {
		t.Errorf("CSP %q does not hold the page's nonce %q", csp, nonce)
	}
}

func TestViewOf(t *testing.T) {
	views := map[string]string{"deals": ViewProducts, "banners": ViewJSON, "promo": ViewHTML, "odd": "nonsense"}
	for _, tt := range []struct{ name, want string }{
		{"deals", ViewProducts},
		{"banners", ViewJSON},
		{"promo", ViewHTML},
		{"products", ViewProducts},
		{"recommendations", ViewRecommendations},
		{"weather", ViewJSON},
		{"odd", ViewJSON},
	} {
		if got := viewOf(views, tt.name); got != tt.want {
			t.Errorf("viewOf(%q) = %q; want %q", tt.name, got, tt.want)
		}
	}
}

// TestBuiltinViewOnAnotherTile: a tile drawn with a built-in view that is
// not its own name's is labelled by its own heading and sized as that view.
func TestBuiltinViewOnAnotherTile(t *testing.T) {
	tile, page := renderOne(t, map[string]string{"deals": ViewBanners}, "deals",
		json.RawMessage(`{"items":[{"headline":"Sale","text":"now","link":"/sale","theme":"sun"}]}`))
	h := findAll(tile, isElement("h2"))
	if got, _ := attr(tile, "aria-labelledby"); len(h) != 1 || got != "h-deals" {
		t.Fatalf("aria-labelledby = %q with %d headings; want h-deals", got, len(h))
	}
	if id, _ := attr(h[0], "id"); id != "h-deals" {
		t.Errorf("heading id = %q; want h-deals", id)
	}
	if textContent(h[0]) != "Offers" || len(findAll(tile, hasClass("banners"))) != 1 {
		t.Errorf("want the banners view: %s", page)
	}
	if class, _ := attr(tile, "class"); !strings.Contains(class, "view-banners") {
		t.Errorf("class = %q; want view-banners", class)
	}
}

func TestOptionsCheck(t *testing.T) {
	names := []string{"banners", "weather"}
	for _, tt := range []struct {
		name string
		o    Options
		want string // "" for no error
	}{
		{"none", Options{}, ""},
		{"fit", Options{Primary: "weather", Views: map[string]string{"weather": ViewHTML}}, ""},
		{"unknown primary", Options{Primary: "news"}, `primary tile "news"`},
		{"view for an unknown tile", Options{Views: map[string]string{"news": ViewJSON}}, `view for "news"`},
		{"unknown view", Options{Views: map[string]string{"weather": "xml"}}, `no view "xml"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Check(names)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Check = %v; want %q", err, tt.want)
			}
		})
	}
}
