package e2e

// A shop of several pages (issue 25), as a browser sees it: the pages of
// examples/shop.yaml over the simulated backends, each laid out as the
// file's layout says. A visitor clicks from the homepage to a category; an
// unknown category is a 404 drawn whole; every page fits every screen and
// streams its tiles in without moving what is already shown.

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
	"vitrine/upstream"
	"vitrine/web"
)

// serveShop serves the pages of examples/shop.yaml as `vitrine -config
// examples/shop.yaml` does, with the simulated backends (startBackends, at
// latency) in place of localhost:9000, each tile wrapped by wrap when not
// nil, and returns Vitrine's URL.
func serveShop(t *testing.T, latency map[string]time.Duration, timeout time.Duration, wrap func(tiles.Fetcher) tiles.Fetcher) string {
	t.Helper()
	cfg, err := config.Parse([]string{"-config", "../examples/shop.yaml"}, func(string) string { return "" })
	if err != nil {
		t.Fatalf("examples/shop.yaml: %v", err)
	}
	b := startBackends(t, latency)
	opts := web.Options{Views: map[string]string{}, TileParams: map[string][]string{}}
	byName := map[string]tiles.Fetcher{}
	var all []tiles.Fetcher
	for _, tc := range cfg.Tiles {
		url := strings.Replace(tc.URL, "http://localhost:9000", b.url, 1)
		var f tiles.Fetcher = httpTile(t, upstream.Options{Name: tc.Name, URL: url, Personalised: tc.Personalised})
		if wrap != nil {
			f = wrap(f)
		}
		byName[tc.Name], all = f, append(all, f)
		opts.Views[tc.Name], opts.TileParams[tc.Name] = tc.View, tc.Params
	}
	for _, pc := range cfg.Pages {
		p, names := pc.Web()
		var fs []tiles.Fetcher
		for _, name := range names {
			fs = append(fs, byName[name])
		}
		p.Agg = newAggregator(t, fs, timeout)
		opts.Pages = append(opts.Pages, p)
	}
	return serveTiles(t, all, timeout, opts)
}

// shopSpaced are the shop's tile latencies far apart, in an order that
// differs from every page's, as spaced are the homepage's. Each page's
// primary tile comes first: the page's header, and so its shell, waits
// for it (its status is the page's).
var shopSpaced = map[string]time.Duration{
	"products": 100 * time.Millisecond, "sale": 100 * time.Millisecond, "category": 100 * time.Millisecond,
	"banners": 250 * time.Millisecond, "categories": 400 * time.Millisecond, "recommendations": 550 * time.Millisecond,
	"notice": 700 * time.Millisecond,
}

// shopPrimaries are the tiles that are some page's primary.
var shopPrimaries = []string{"products", "sale", "category"}

// shopPages are the pages of examples/shop.yaml the screen tests open,
// with their tiles as tileDOM reads them once complete.
var shopPages = []struct{ path, state string }{
	{"/home", "shop-home"},
	{"/sale", "shop-sale"},
	{"/c/outdoor", "shop-category"},
}

var shopTiles = map[string][]string{
	"/home":      {"banners:ok", "categories:ok", "products:ok", "recommendations:ok"},
	"/sale":      {"banners:ok", "sale:ok", "notice:ok", "recommendations:ok"},
	"/c/outdoor": {"banners:ok", "category:ok", "recommendations:ok", "categories:ok"},
	"/c/kitchen": {"banners:ok", "category:ok", "recommendations:ok", "categories:ok"},
}

// halvesJS measures the page's half-width tiles: where each sits, and the
// layout's width.
const halvesJS = `(() => {
  const main = document.querySelector("main#main").getBoundingClientRect();
  return {
    main: main.width,
    tiles: Array.from(document.querySelectorAll("main#main > .width-half"), (el) => {
      const r = el.getBoundingClientRect();
      return { name: el.dataset.tile, left: r.left, top: r.top, width: r.width, bottom: r.bottom };
    }),
  };
})()`

type halves struct {
	Main  float64 `json:"main"`
	Tiles []struct {
		Name                     string
		Left, Top, Width, Bottom float64
	} `json:"tiles"`
}

// checkHalves asserts that a page's two half-width tiles sit side by side,
// each about half the layout, where the screen is wider than 40rem, and
// one above the other, each the whole width, on a phone.
func checkHalves(t *testing.T, tb *tab, s screen) {
	t.Helper()
	h := eval[halves](t, tb, halvesJS)
	if len(h.Tiles) != 2 {
		t.Fatalf("%d half-width tiles; want 2", len(h.Tiles))
	}
	a, b := h.Tiles[0], h.Tiles[1]
	side := s.width > 640
	switch {
	case side && (a.Top != b.Top || b.Left <= a.Left || a.Width > h.Main*0.55 || a.Width < h.Main*0.4):
		t.Errorf("at %d px %s and %s are at %+v and %+v in a %.0f px layout; want them side by side, each about half", s.width, a.Name, b.Name, a, b, h.Main)
	case !side && (b.Top < a.Bottom || a.Width < h.Main-40):
		t.Errorf("at %d px %s and %s are at %+v and %+v in a %.0f px layout; want one above the other, each the whole width", s.width, a.Name, b.Name, a, b, h.Main)
	}
}

// navStatusJS is the HTTP status of the document.
const navStatusJS = `performance.getEntriesByType("navigation")[0].responseStatus`

func TestShop(t *testing.T) {
	browser := startBrowser(t)

	t.Run("clicking a category on the homepage lands on its page", func(t *testing.T) {
		url := serveShop(t, a11yLatency, 2*time.Second, nil)
		tb := openTab(t, browser)
		tb.open(t, url+"/home")
		if got := eval[[]string](t, tb, tileDOM); !slices.Equal(got, shopTiles["/home"]) {
			t.Fatalf("tiles in main#main = %v; want %v", got, shopTiles["/home"])
		}
		links := eval[[]string](t, tb, `Array.from(document.querySelectorAll("main#main > [data-tile=categories] nav a"), (a) => a.getAttribute("href"))`)
		if want := []string{"/c/kitchen", "/c/outdoor", "/c/books", "/c/home", "/c/audio"}; !slices.Equal(links, want) {
			t.Fatalf("the homepage links to %v; want %v", links, want)
		}
		ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
		defer cancel()
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`main#main > [data-tile=categories] a[href="/c/kitchen"]`)))
		if err != nil || resp.URL != url+"/c/kitchen" || resp.Status != 200 {
			t.Fatalf("clicking Kitchen: %v; want a navigation to %s/c/kitchen answered 200", err, url)
		}
		tb.waitFor(t, `document.querySelector("main#main > #timing")`, 10*time.Second)
		if got := eval[[]string](t, tb, tileDOM); !slices.Equal(got, shopTiles["/c/kitchen"]) {
			t.Fatalf("tiles in main#main = %v; want %v", got, shopTiles["/c/kitchen"])
		}
		if got, want := eval[string](t, tb, `document.querySelector("#h-category").textContent`), "Kitchen"; got != want {
			t.Errorf("the category's heading is %q; want %q", got, want)
		}
		cats := eval[[]string](t, tb, `Array.from(document.querySelectorAll("#tile-category .product .category"), (p) => p.textContent)`)
		if len(cats) != 6 || slices.ContainsFunc(cats, func(c string) bool { return c != "kitchen" }) {
			t.Errorf("the category page shows products of %v; want 6 of kitchen", cats)
		}
		current := eval[[]string](t, tb, `Array.from(document.querySelectorAll("main#main [aria-current=page]"), (a) => a.getAttribute("href"))`)
		if !slices.Equal(current, []string{"/c/kitchen"}) {
			t.Errorf("links marked as the current page: %v; want the kitchen's alone", current)
		}
		if got, want := eval[string](t, tb, `document.title`), "Category: Vitrine"; got != want {
			t.Errorf("document.title = %q; want %q", got, want)
		}
		tb.waitImages(t)
		tb.checkClean(t)
		tb.screenshot(t, "category.png", os.Getenv("VITRINE_SCREENSHOT_CATEGORY"))
	})

	t.Run("an unknown category is a 404 drawn whole", func(t *testing.T) {
		url := serveShop(t, a11yLatency, 2*time.Second, nil)
		tb := openTab(t, browser)
		tb.expect404(url + "/c/nothing-here")
		tb.open(t, url+"/c/nothing-here")
		if got := eval[int](t, tb, navStatusJS); got != 404 {
			t.Errorf("the document's status is %d; want 404", got)
		}
		want := []string{"banners:ok", "category:error", "recommendations:ok", "categories:ok"}
		if got := eval[[]string](t, tb, tileDOM); !slices.Equal(got, want) {
			t.Fatalf("tiles in main#main = %v; want %v", got, want)
		}
		if got := eval[string](t, tb, `document.querySelector("#tile-category .fallback").textContent`); !strings.Contains(got, "this category does not exist") ||
			strings.Contains(got, "Try again") {
			t.Errorf("the category tile says %q; want it to say that the category does not exist, and no retry", got)
		}
		tb.checkClean(t)
	})

	// Every page of the shop at every width, its tiles far apart and each
	// held until the first contentful paint (as TestScreens does), and
	// the category page in dark mode too.
	for _, s := range screens {
		t.Run(s.String(), func(t *testing.T) {
			for _, pg := range shopPages {
				t.Run(pg.path, func(t *testing.T) {
					seen := newSightings("first-contentful-paint")
					url := serveShop(t, shopSpaced, 10*time.Second, func(f tiles.Fetcher) tiles.Fetcher {
						if slices.Contains(shopPrimaries, f.Name()) {
							return f
						}
						return heldUntil(f, seen.of("first-contentful-paint"))
					})
					tb := openScreen(t, browser, s)
					tb.do(t, "exposing __vitrineShown", chromedp.ExposeFunc("__vitrineShown", seen.see))
					rec := tb.open(t, url+pg.path)
					if got := eval[[]string](t, tb, tileDOM); !slices.Equal(got, shopTiles[pg.path]) {
						t.Fatalf("tiles in main#main = %v; want %v", got, shopTiles[pg.path])
					}
					checkVitals(t, tb, s, pg.state, rec)
					checkLayout(t, tb, s)
					if pg.path != "/home" {
						checkHalves(t, tb, s)
					}
					checkShades(t, tb, false)
					tb.waitImages(t)
					checkLayout(t, tb, s)
					tb.checkClean(t)
				})
			}
			if s.width != 390 && s.width != 1280 {
				return
			}
			t.Run("the category page, dark", func(t *testing.T) {
				url := serveShop(t, nil, 2*time.Second, nil)
				tb := openScreen(t, browser, s, darkMode)
				rec := tb.open(t, url+"/c/outdoor?user=alice")
				if got := eval[[]string](t, tb, tileDOM); !slices.Equal(got, shopTiles["/c/outdoor"]) {
					t.Fatalf("tiles in main#main = %v; want %v", got, shopTiles["/c/outdoor"])
				}
				checkVitals(t, tb, s, "shop-category-dark", rec)
				checkShades(t, tb, true)
				tb.waitImages(t)
				checkLayout(t, tb, s)
				checkHalves(t, tb, s)
				tb.checkClean(t)
			})
		})
	}
}

// slotFitJS measures, for every tile of the page, its own height (each
// tile set to the top of its grid row, so a taller neighbour does not
// stretch it) and the height of an empty slot of its view and width in
// its place: what the slot reserves before the tile arrives.
const slotFitJS = `(() => {
  const out = [];
  for (const tile of document.querySelectorAll("main#main > [data-tile]")) {
    tile.style.alignSelf = "start";
    const h = tile.getBoundingClientRect().height;
    const slot = document.createElement("section");
    slot.className = tile.className.replace(/ status-\S+/, "") + " placeholder";
    slot.innerHTML = '<div class="skeleton"><span></span><span></span><span></span></div>';
    slot.style.alignSelf = "start";
    tile.replaceWith(slot);
    const s = slot.getBoundingClientRect().height;
    slot.replaceWith(tile);
    out.push({ tile: tile.dataset.tile, tileHeight: Math.round(h), slotHeight: Math.round(s) });
  }
  return out;
})()`

type slotFit struct {
	Tile       string `json:"tile"`
	TileHeight int    `json:"tileHeight"`
	SlotHeight int    `json:"slotHeight"`
}

// fittedViews are the views whose height the CSS knows for the shop's
// catalogue, with the data their tile shows: each is checked at every width.
var fittedViews = map[string]string{
	web.ViewBanners: "banners", web.ViewProducts: "products", web.ViewRecommendations: "recommendations",
	web.ViewLinks: "category",
}

// TestSlotsFitTheirTiles: at every screen width, the empty slot of each
// built-in view at each layout width reserves its tile's height (within
// 2rem or a tenth of it), with the catalogue's content: the banners, the
// twelve featured products, six recommendations, the category index.
// This is what keeps a page's layout still as its tiles stream in,
// whatever layout a file gives.
func TestSlotsFitTheirTiles(t *testing.T) {
	browser := startBrowser(t)
	cat := catalogue.Default()
	page := web.Page{Path: "/fit", Views: map[string]string{}, Widths: map[string]string{}}
	var fs []tiles.Fetcher
	for _, view := range slices.Sorted(maps.Keys(fittedViews)) {
		i := slices.IndexFunc(append(sim.Builtins(), sim.Extra()...), func(d sim.Def) bool { return d.Name == fittedViews[view] })
		data, err := append(sim.Builtins(), sim.Extra()...)[i].Content(cat, tiles.Request{})
		if err != nil {
			t.Fatal(err)
		}
		for _, width := range web.Widths() {
			name := view + "-" + width
			fs = append(fs, tilestest.After(name, 0, data))
			page.Views[name], page.Widths[name] = view, width
		}
	}
	page.Agg = newAggregator(t, fs, 2*time.Second)
	url := serveTiles(t, fs, 2*time.Second, web.Options{Pages: []web.Page{page}})
	for _, s := range screens {
		t.Run(s.String(), func(t *testing.T) {
			tb := openScreen(t, browser, s)
			tb.open(t, url+"/fit") // pictures are sized by their attributes before they load: no need to wait for them
			for _, f := range eval[[]slotFit](t, tb, slotFitJS) {
				off := f.SlotHeight - f.TileHeight
				if tol := max(32, f.TileHeight/10); off > tol || off < -tol {
					t.Errorf("%s at %d px: the slot is %d px, the tile %d px (%+d); want them within %d px", f.Tile, s.width, f.SlotHeight, f.TileHeight, off, tol)
				} else {
					t.Logf("%s at %d px: slot %d px, tile %d px (%+d)", f.Tile, s.width, f.SlotHeight, f.TileHeight, off)
				}
			}
			tb.checkClean(t)
		})
	}
}
