package e2e

// The page with real HTTP backends (issue 11), as a browser sees it: the
// three built-in tiles and a fourth, notice, that Vitrine knows nothing
// about, all fetched by upstream fetchers from the simulated backends that
// `vitrine backends` serves (sim.Handler); and a tile drawn from a
// backend's HTML fragment, whose script never reaches the page.

import (
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/upstream"
	"vitrine/web"
)

// backends is an httptest server running sim.Handler, as `vitrine
// backends` does: the built-in tiles and sim.Extra's, each answering after
// its latency in latency (its default when not named) and never failing.
type backends struct{ url string }

func startBackends(t *testing.T, latency map[string]time.Duration) backends {
	t.Helper()
	cat := catalogue.Default()
	var sims []*sim.Simulated
	for _, d := range append(sim.Builtins(), sim.Extra()...) {
		l, ok := latency[d.Name]
		if !ok {
			l = d.Latency
		}
		sims = append(sims, simulate(t, d, cat, l))
	}
	srv := httptest.NewServer(sim.Handler(sims, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return backends{srv.URL}
}

// stats is the backends' GET /stats: the requests that reached each tile,
// by user ("" for anonymous).
func (b backends) stats(t *testing.T) map[string]map[string]int64 {
	t.Helper()
	resp, err := http.Get(b.url + "/stats")
	if err != nil {
		t.Fatalf("backends' stats: %v", err)
	}
	defer resp.Body.Close()
	var st map[string]map[string]int64
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("backends' stats: %v", err)
	}
	return st
}

// httpTile is the upstream fetcher of o (its Client one of the test's
// own, closed with it).
func httpTile(t *testing.T, o upstream.Options) *upstream.Fetcher {
	t.Helper()
	if o.Client == nil {
		o.Client = upstream.NewClient()
		t.Cleanup(o.Client.CloseIdleConnections)
	}
	f, err := upstream.New(o)
	if err != nil {
		t.Fatalf("upstream.New(%s): %v", o.Name, err)
	}
	return f
}

// anyTiles is the fourth-tile page's tiles, in page order.
var anyTiles = []string{"banners", "products", "recommendations", "notice"}

// serveAnyTile starts simulated backends over HTTP and Vitrine over them,
// with the page of anyTiles (recommendations personalised, notice drawn by
// the generic view), and returns Vitrine's URL and the backends. wrap, if
// not nil, may replace a tile's fetcher.
func serveAnyTile(t *testing.T, latency map[string]time.Duration, timeout time.Duration, wrap func(tiles.Fetcher) tiles.Fetcher) (string, backends) {
	t.Helper()
	b := startBackends(t, latency)
	var fs []tiles.Fetcher
	for _, name := range anyTiles {
		var f tiles.Fetcher = httpTile(t, upstream.Options{Name: name, URL: b.url + "/" + name, Personalised: name == "recommendations"})
		if wrap != nil {
			f = wrap(f)
		}
		fs = append(fs, f)
	}
	return serveTiles(t, fs, timeout, web.Options{Views: map[string]string{"notice": web.ViewJSON}}), b
}

// builtinsJS is the markup of the built-in tiles in <main>, without the
// times each took to fetch and to place (data-elapsed-ms, data-placed-ms),
// which differ from page to page.
const builtinsJS = `Array.from(document.querySelectorAll("main#main > [data-tile=banners], main#main > [data-tile=products], main#main > [data-tile=recommendations]"), (e) => {
  const c = e.cloneNode(true);
  c.removeAttribute("data-elapsed-ms");
  c.removeAttribute("data-placed-ms");
  return c.outerHTML;
})`

// noticeJS is what the notice tile shows: its heading, each key of its
// data with the text shown beside it, its terms' list items, and whether
// anything in it is wider than the tile.
const noticeJS = `(() => {
  const tile = document.querySelector("main#main > [data-tile=notice]");
  if (!tile) return null;
  const fields = {};
  for (const dt of tile.querySelectorAll(".generic > .json-object > dt")) fields[dt.textContent] = dt.nextElementSibling.innerText.trim();
  const r = tile.getBoundingClientRect();
  return {
    status: tile.dataset.status,
    heading: tile.querySelector("h2").textContent,
    labelledBy: document.getElementById(tile.getAttribute("aria-labelledby")) === tile.querySelector("h2"),
    fields: fields,
    terms: Array.from(tile.querySelectorAll(".json-array > li"), (li) => li.textContent.trim()),
    shown: r.width > 0 && r.height > 0 && getComputedStyle(tile).visibility === "visible",
    overflows: tile.scrollWidth > tile.clientWidth,
  };
})()`

// noticeView is what noticeJS reads.
type noticeView struct {
	Status     string            `json:"status"`
	Heading    string            `json:"heading"`
	LabelledBy bool              `json:"labelledBy"`
	Fields     map[string]string `json:"fields"`
	Terms      []string          `json:"terms"`
	Shown      bool              `json:"shown"`
	Overflows  bool              `json:"overflows"`
}

// wantNotice is how the page draws sim.Extra's notice with the generic
// view: every key beside its value, the terms as a list.
var wantNotice = noticeView{
	Status: "ok", Heading: "notice", LabelledBy: true,
	Fields: map[string]string{
		"title": "Free delivery this week",
		"text":  "Every order ships free until Sunday.",
		"until": "2026-12-06",
		"terms": "Mainland addresses\nNo minimum basket",
	},
	Terms: []string{"Mainland addresses", "No minimum basket"},
	Shown: true,
}

// checkNotice asserts that the page shows the notice tile as wantNotice.
func checkNotice(t *testing.T, tb *tab) {
	t.Helper()
	got := eval[*noticeView](t, tb, noticeJS)
	switch {
	case got == nil:
		t.Errorf("no notice tile in main#main")
	case got.Status != wantNotice.Status || got.Heading != wantNotice.Heading || !got.LabelledBy ||
		!maps.Equal(got.Fields, wantNotice.Fields) || !slices.Equal(got.Terms, wantNotice.Terms) ||
		got.Shown != wantNotice.Shown || got.Overflows != wantNotice.Overflows:
		t.Errorf("the notice tile shows %+v; want %+v", *got, wantNotice)
	}
}

// fragmentTile is the HTML a backend gives the page: markup, and a script
// that must not reach it.
const fragmentTile = `<p class="x">Hello <b>fragment</b></p><script>document.title="pwned"</script>`

// serveFragment starts a backend answering fragmentTile as text/html and
// Vitrine over it (the tile "fragment", drawn with the html view) and
// banners from the simulated backends, and returns Vitrine's URL.
func serveFragment(t *testing.T) string {
	t.Helper()
	b := startBackends(t, a11yLatency)
	fs := []tiles.Fetcher{
		httpTile(t, upstream.Options{Name: "banners", URL: b.url + "/banners"}),
		httpTile(t, upstream.Options{Name: "fragment", URL: htmlBackend(t, fragmentTile) + "/fragment", HTML: true}),
	}
	return serveTiles(t, fs, 2*time.Second, web.Options{Views: map[string]string{"fragment": web.ViewHTML}})
}

func TestAnyTile(t *testing.T) {
	browser := startBrowser(t)

	t.Run("a fourth tile over HTTP shows beside the built-in ones", func(t *testing.T) {
		url, b := serveAnyTile(t, nil, 2*time.Second, nil) // the default latencies
		tb := openTab(t, browser)
		tb.open(t, url+"/home?user=alice")
		if got, want := eval[[]string](t, tb, tileDOM), []string{"banners:ok", "products:ok", "recommendations:ok", "notice:ok"}; !slices.Equal(got, want) {
			t.Fatalf("tiles in main#main = %v; want %v", got, want)
		}
		checkNotice(t, tb)
		if n := eval[int](t, tb, `document.querySelectorAll("#stream [data-tile], .placeholder, [aria-busy=true]").length`); n != 0 {
			t.Errorf("%d tiles left outside their slots or still busy; want 0", n)
		}
		if n := eval[int](t, tb, `document.querySelectorAll("#announcer p").length`); n != 4 {
			t.Errorf("the live region announced %d tiles; want 4", n)
		}
		if n := eval[int](t, tb, `document.querySelectorAll("#timing .bar").length`); n != 5 {
			t.Errorf("the waterfall has %d bars; want 5 (four tiles and the total)", n)
		}
		tb.waitImages(t)
		tb.checkClean(t)
		tb.screenshot(t, "fourth-tile.png", os.Getenv("VITRINE_SCREENSHOT_FOURTH"))
		overHTTP := eval[[]string](t, tb, builtinsJS)

		// Every tile reached its backend once, the user only the
		// personalised one.
		want := map[string]map[string]int64{
			"banners": {"": 1}, "products": {"": 1}, "recommendations": {"alice": 1}, "notice": {"": 1},
			"category": {}, // served, not on this page
		}
		if got := b.stats(t); !maps.EqualFunc(got, want, maps.Equal) {
			t.Errorf("the backends were asked %v; want %v", got, want)
		}

		// The built-in tiles are drawn over HTTP just as from the
		// in-process simulator.
		tb.open(t, serve(t, nil, 2*time.Second, nil)+"/home?user=alice")
		inProcess := eval[[]string](t, tb, builtinsJS)
		if len(inProcess) != 3 {
			t.Fatalf("the in-process page has %d built-in tiles; want 3", len(inProcess))
		}
		for i := range inProcess {
			if i >= len(overHTTP) || overHTTP[i] != inProcess[i] {
				t.Errorf("built-in tile %d over HTTP:\n%s\nwant, as from the simulator in process:\n%s", i, at(overHTTP, i), inProcess[i])
			}
		}
		tb.checkClean(t)
	})

	t.Run("an HTML fragment shows its markup and not its script", func(t *testing.T) {
		tb := openTab(t, browser)
		tb.open(t, serveFragment(t)+"/home")
		if got, want := eval[[]string](t, tb, tileDOM), []string{"banners:ok", "fragment:ok"}; !slices.Equal(got, want) {
			t.Fatalf("tiles in main#main = %v; want %v", got, want)
		}
		if got, want := eval[string](t, tb, `document.querySelector("main#main > #tile-fragment .fragment > p.x")?.innerHTML ?? "(no p.x in the slot)"`),
			"Hello <b>fragment</b>"; got != want {
			t.Errorf("the fragment's paragraph holds %q; want %q (the backend's markup, not escaped)", got, want)
		}
		// The sanitiser took the script out: it is not in the page, did not
		// run, and the CSP had nothing to refuse (checkClean).
		if n := eval[int](t, tb, `document.querySelectorAll("main#main > #tile-fragment .fragment script").length`); n != 0 {
			t.Errorf("%d scripts in the fragment's slot; want 0", n)
		}
		if got, want := eval[string](t, tb, `document.title`), "Vitrine: the shop window"; got != want {
			t.Errorf("document.title = %q; want %q: the fragment's script ran", got, want)
		}
		tb.checkClean(t)
	})
}

// at is s[i], or "(none)".
func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}
