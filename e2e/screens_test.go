package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// vitalsJS runs in every new document, like recorderJS, and measures two
// Core Web Vitals with PerformanceObserver: the cumulative layout shift
// (every layout-shift entry without recent input, summed) and the first
// contentful paint. It also sums every shift, input or not (allShifts), and
// keeps each shift with the elements that moved. When the test has exposed
// window.__vitrineShown, it tells the test at once about the first
// contentful paint.
const vitalsJS = `(() => {
  const v = { cls: 0, allShifts: 0, shifts: [], fcp: null };
  window.__vitals = v;
  const describe = (n) => {
    if (!n || n.nodeType !== 1) return n ? n.nodeName : "?";
    let s = n.tagName.toLowerCase() + (n.id ? "#" + n.id : "");
    if (typeof n.className === "string" && n.className.trim()) s += "." + n.className.trim().split(/\s+/).join(".");
    return s;
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      v.allShifts += e.value;
      if (!e.hadRecentInput) v.cls += e.value;
      v.shifts.push({ value: e.value, at: e.startTime, input: e.hadRecentInput, sources: (e.sources || []).map((s) => describe(s.node)) });
    }
  }).observe({ type: "layout-shift", buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntriesByName("first-contentful-paint")) {
      v.fcp = e.startTime;
      if (typeof window.__vitrineShown === "function") window.__vitrineShown("first-contentful-paint");
    }
  }).observe({ type: "paint", buffered: true });
})();`

// vitals is window.__vitals.
type vitals struct {
	CLS       float64  `json:"cls"`       // as the web measures it: shifts without recent input
	AllShifts float64  `json:"allShifts"` // every shift
	Shifts    []shift  `json:"shifts"`
	FCP       *float64 `json:"fcp"` // ms since navigation; nil before the first contentful paint
}

// shift is one layout-shift entry: its score, when, and what moved.
type shift struct {
	Value   float64  `json:"value"`
	At      float64  `json:"at"`
	Input   bool     `json:"input"` // hadRecentInput
	Sources []string `json:"sources"`
}

// screen is a viewport the homepage must fit.
type screen struct {
	width, height int64
	scale         float64 // device pixels per CSS pixel
	phone         bool    // mobile emulation: the meta viewport applies, touch, a phone's user agent
}

func (s screen) String() string {
	kind := "desktop"
	switch {
	case s.phone:
		kind = "phone"
	case s.width < 1024:
		kind = "tablet"
	}
	return fmt.Sprintf("%d px %s", s.width, kind)
}

// screens are the widths the page is checked at: common phones, a tablet
// in portrait and a laptop.
var screens = []screen{
	{320, 568, 2, true},   // iPhone SE (first generation)
	{375, 667, 2, true},   // iPhone SE, 6 to 8
	{390, 844, 3, true},   // iPhone 12 to 15
	{414, 896, 2, true},   // iPhone 11, XR
	{768, 1024, 2, false}, // iPad in portrait
	{1280, 900, 1, false}, // laptop
}

// phoneUA is a phone browser's user agent, sent with mobile emulation.
const phoneUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36"

// openScreen opens a tab with the recorder and the Web Vitals observers
// installed, laid out as s, with the given CSS media features emulated
// (prefers-color-scheme: dark, prefers-reduced-motion: reduce).
func openScreen(t *testing.T, browser context.Context, s screen, media ...*emulation.MediaFeature) *tab {
	t.Helper()
	tb := openTab(t, browser)
	if _, err := chromedp.Call(tb.ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: vitalsJS}); err != nil {
		t.Fatalf("installing the Web Vitals observers: %v", err)
	}
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(s.scale), chromedp.EmulatePortrait}
	if s.phone {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		if _, err := chromedp.Call(tb.ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: phoneUA}); err != nil {
			t.Fatalf("setting a phone's user agent: %v", err)
		}
	}
	tb.do(t, "emulating a "+s.String(), chromedp.EmulateViewport(s.width, s.height, opts...))
	if len(media) > 0 {
		if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: media}); err != nil {
			t.Fatalf("emulating %v: %v", media, err)
		}
	}
	return tb
}

var (
	darkMode      = &emulation.MediaFeature{Name: "prefers-color-scheme", Value: "dark"}
	reducedMotion = &emulation.MediaFeature{Name: "prefers-reduced-motion", Value: "reduce"}
)

// layoutJS measures what the layout checks assert, once the page is
// complete.
const layoutJS = `(() => {
  const de = document.documentElement;
  const describe = (n) => {
    let s = n.tagName.toLowerCase() + (n.id ? "#" + n.id : "");
    if (typeof n.className === "string" && n.className.trim()) s += "." + n.className.trim().split(/\s+/).join(".");
    return s;
  };
  // An element inside a box that clips or scrolls sideways cannot widen
  // the page; everything else must lie within the viewport.
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const outside = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".skip, .visually-hidden") || clipped(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -0.5 || r.right > de.clientWidth + 0.5) outside.push(describe(el) + " [" + Math.round(r.left) + ", " + Math.round(r.right) + "]");
  }
  const cards = Array.from(document.querySelectorAll("#tile-products .grid > li"), (li) => li.getBoundingClientRect());
  const row = document.querySelector("#tile-recommendations .row");
  const messages = Array.from(document.querySelectorAll("main#main .fallback p, main#main .note"), (p) => {
    const r = p.getBoundingClientRect(), tile = p.closest("[data-tile]").getBoundingClientRect();
    return {
      tile: p.closest("[data-tile]").dataset.tile, text: p.textContent.trim(),
      scroll: p.scrollWidth, client: p.clientWidth,
      lines: Math.round(r.height / parseFloat(getComputedStyle(p).lineHeight)),
      inside: r.left >= tile.left - 0.5 && r.right <= tile.right + 0.5,
    };
  });
  return {
    innerWidth: window.innerWidth, clientWidth: de.clientWidth, scrollWidth: de.scrollWidth, bodyScrollWidth: document.body.scrollWidth,
    outside: outside.slice(0, 10),
    cards: cards.length,
    columns: cards.filter((r) => Math.abs(r.top - cards[0].top) < 1).length,
    row: row ? { scroll: row.scrollWidth, client: row.clientWidth, overflowX: getComputedStyle(row).overflowX } : null,
    messages,
  };
})()`

// layout is what layoutJS measures.
type layout struct {
	InnerWidth      int64     `json:"innerWidth"`
	ClientWidth     int64     `json:"clientWidth"`
	ScrollWidth     int64     `json:"scrollWidth"`
	BodyScrollWidth int64     `json:"bodyScrollWidth"`
	Outside         []string  `json:"outside"` // elements beyond the viewport's sides
	Cards           int       `json:"cards"`   // products in the grid
	Columns         int       `json:"columns"` // products in the grid's first row
	Row             *scroller `json:"row"`     // the recommendations row
	Messages        []message `json:"messages"`
}

type scroller struct {
	Scroll    int64  `json:"scroll"`
	Client    int64  `json:"client"`
	OverflowX string `json:"overflowX"`
}

// message is a failed tile's message or a fallback tile's note.
type message struct {
	Tile   string `json:"tile"`
	Text   string `json:"text"`
	Scroll int64  `json:"scroll"`
	Client int64  `json:"client"`
	Lines  int    `json:"lines"`
	Inside bool   `json:"inside"` // within its tile's box
}

// checkLayout asserts that the complete page fits s: nothing wider than
// the viewport, two product columns on a phone (more on wider screens), the
// recommendations row scrolling inside its own box, and messages that wrap.
func checkLayout(t *testing.T, tb *tab, s screen) layout {
	t.Helper()
	l := eval[layout](t, tb, layoutJS)
	if l.ScrollWidth != s.width || l.ClientWidth != s.width || l.InnerWidth != s.width || l.BodyScrollWidth > s.width {
		t.Errorf("document scrollWidth %d, clientWidth %d, innerWidth %d, body scrollWidth %d; want all %d (no horizontal overflow, no zooming out)",
			l.ScrollWidth, l.ClientWidth, l.InnerWidth, l.BodyScrollWidth, s.width)
	}
	if len(l.Outside) > 0 {
		t.Errorf("elements beyond the %d px viewport: %v", s.width, l.Outside)
	}
	if l.Cards > 0 {
		if s.phone && l.Columns != 2 {
			t.Errorf("product grid has %d columns; want 2 on a phone", l.Columns)
		}
		if !s.phone && l.Columns < 3 {
			t.Errorf("product grid has %d columns; want 3 or more at %d px", l.Columns, s.width)
		}
	}
	if l.Row != nil {
		if l.Row.OverflowX != "auto" {
			t.Errorf("recommendations row overflow-x = %q; want auto", l.Row.OverflowX)
		}
		if l.Row.Client > s.width {
			t.Errorf("recommendations row is %d px wide; want at most the %d px viewport", l.Row.Client, s.width)
		}
		if s.phone && l.Row.Scroll <= l.Row.Client {
			t.Errorf("recommendations row scrollWidth %d, clientWidth %d; want it to scroll inside its box on a phone", l.Row.Scroll, l.Row.Client)
		}
	}
	for _, m := range l.Messages {
		if m.Scroll > m.Client || !m.Inside {
			t.Errorf("%s's message %q is %d px wide in a %d px box (inside its tile: %v); want it to wrap", m.Tile, m.Text, m.Scroll, m.Client, m.Inside)
		}
		if s.phone && len(m.Text) > 60 && m.Lines < 2 {
			t.Errorf("%s's message %q takes %d line on a %d px phone; want it wrapped", m.Tile, m.Text, m.Lines, s.width)
		}
	}
	return l
}

// shadesJS measures the page's colours: the relative luminance of the
// page's background and of a tile's, and the contrast of body text and of
// muted text on them.
const shadesJS = `(() => {
  const rgb = (c) => { const m = c.match(/[\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 }; };
  const bg = (el) => {
    for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.a > 0) return c; }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const contrast = (el) => {
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  };
  const tile = document.querySelector("main#main > .tile");
  const muted = document.querySelector("main#main .category");
  return {
    page: lum(bg(document.body)), tile: lum(bg(tile)),
    text: contrast(document.body), tileText: contrast(tile.querySelector("h2, p")), muted: muted ? contrast(muted) : 0,
  };
})()`

// shades is what shadesJS measures.
type shades struct {
	Page     float64 `json:"page"` // relative luminance, 0 black to 1 white
	Tile     float64 `json:"tile"`
	Text     float64 `json:"text"` // contrast ratios
	TileText float64 `json:"tileText"`
	Muted    float64 `json:"muted"`
}

// checkShades asserts a dark page with light text in dark mode, a light
// page with dark text otherwise, and text contrast of at least 4.5:1.
func checkShades(t *testing.T, tb *tab, dark bool) {
	t.Helper()
	sh := eval[shades](t, tb, shadesJS)
	if dark && (sh.Page > 0.05 || sh.Tile > 0.05) {
		t.Errorf("dark mode: page background luminance %.3f, tile %.3f; want both dark (at most 0.05)", sh.Page, sh.Tile)
	}
	if !dark && (sh.Page < 0.8 || sh.Tile < 0.8) {
		t.Errorf("light mode: page background luminance %.3f, tile %.3f; want both light (at least 0.8)", sh.Page, sh.Tile)
	}
	for what, c := range map[string]float64{"body text": sh.Text, "tile text": sh.TileText, "muted text": sh.Muted} {
		if c < 4.5 {
			t.Errorf("dark %v: %s contrast %.2f:1; want at least 4.5:1", dark, what, c)
		}
	}
}

// tileTimes are when the first and the last tile appeared in the page (ms
// since navigation, as the recorder saw them).
func tileTimes(rec recording) (first, last float64) {
	for i, e := range rec.first() {
		if i == 0 || e.At < first {
			first = e.At
		}
		last = max(last, e.At)
	}
	return first, last
}

// checkVitals logs the page's Web Vitals in one greppable line ("vitals:
// width=... state=... cls=... fcp_ms=..."), and checks that tiles
// streaming into their slots barely shift the layout. It holds every shift
// to the 0.1 budget, not only those without recent input: the test gives
// the page no input, yet under mobile emulation Chromium flags the shifts
// of the first half second or so after the first layout as following
// input (the viewport settling counts as input), which would hide exactly
// the shift of the first tile on a phone.
func checkVitals(t *testing.T, tb *tab, s screen, state string, rec recording) vitals {
	t.Helper()
	tb.waitFor(t, `window.__vitals.fcp !== null`, 5*time.Second) // observers report late on a busy machine
	v := eval[vitals](t, tb, `window.__vitals`)
	firstTile, slowest := tileTimes(rec)
	fcp, shell := -1.0, -1.0
	if v.FCP != nil {
		fcp = *v.FCP
	}
	if rec.Shell != nil {
		shell = *rec.Shell
	}
	t.Logf("vitals: width=%d state=%s cls=%.4f all_shifts=%.4f fcp_ms=%.0f shell_ms=%.0f first_tile_ms=%.0f slowest_tile_ms=%.0f",
		s.width, state, v.CLS, v.AllShifts, fcp, shell, firstTile, slowest)
	if v.AllShifts > 0.1 {
		t.Errorf("layout shifts sum to %.4f (%.4f without recent input); want at most 0.1: each slot should reserve its tile's space; shifts: %+v",
			v.AllShifts, v.CLS, v.Shifts)
	} else if v.AllShifts > 0 {
		t.Logf("layout shifts: %+v", v.Shifts)
	}
	return v
}

// skeletonAnimationJS is the animation a loading skeleton would have now.
const skeletonAnimationJS = `(() => {
  const d = document.createElement("div");
  d.className = "skeleton";
  d.append(document.createElement("span"));
  document.body.append(d);
  const name = getComputedStyle(d.firstChild).animationName;
  d.remove();
  return name;
})()`

// spaced are tile latencies far apart, in an order (banners,
// recommendations, products) that differs from the page's.
var spaced = map[string]time.Duration{
	"banners": 250 * time.Millisecond, "recommendations": 550 * time.Millisecond, "products": 850 * time.Millisecond,
}

// spacedHTTP are spaced with the fourth tile, notice, arriving between
// recommendations and products.
var spacedHTTP = map[string]time.Duration{
	"banners": 250 * time.Millisecond, "recommendations": 550 * time.Millisecond, "notice": 700 * time.Millisecond, "products": 850 * time.Millisecond,
}

// failed is f's tile failing: after f's answer (its latency), an error.
func failed(f tiles.Fetcher) *tilestest.Fetcher {
	return &tilestest.Fetcher{TileName: f.Name(), FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		if _, err := f.Fetch(ctx, req); err != nil {
			return tiles.Outcome{}, err
		}
		return tiles.Outcome{}, fmt.Errorf("%s: the backend answered 502", f.Name())
	}}
}

// fallback is f's tile serving its data as the tile's standard selection,
// as resilience does when the backend is down.
func fallback(f tiles.Fetcher) *tilestest.Fetcher {
	return &tilestest.Fetcher{TileName: f.Name(), FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		out, err := f.Fetch(ctx, req)
		if err != nil {
			return out, err
		}
		out.Status, out.Cause = tiles.StatusFallback, fmt.Errorf("%s: the backend is down", f.Name())
		return out, nil
	}}
}

func TestScreens(t *testing.T) {
	browser := startBrowser(t)

	// The pages checked at every width: every tile ok, a failed banners
	// tile above a fallback products tile, and every tile over HTTP with a
	// fourth in the generic view (serveAnyTile). Their tiles are far
	// apart (spaced), and each also waits, after its latency, until the
	// browser has had its first contentful paint, as TestBrowser's tiles
	// wait for the part of the page before them: every tile then lands on
	// a painted page, so each shift it causes counts, and on a loaded
	// machine the page stretches instead of the test flipping. A page that
	// paints nothing before its tiles makes them time out.
	const tileTimeout = 10 * time.Second
	pages := []struct {
		name, state string // state names the page in the vitals line
		wrap        func(tiles.Fetcher) tiles.Fetcher
		want        []string
		overHTTP    bool // the page of serveAnyTile: every tile over HTTP, and a fourth
	}{
		{"every tile ok", "ok", func(f tiles.Fetcher) tiles.Fetcher { return f },
			[]string{"banners:ok", "products:ok", "recommendations:ok"}, false},
		{"a fallback tile and an error tile", "fallback+error", func(f tiles.Fetcher) tiles.Fetcher {
			switch f.Name() {
			case "banners":
				return failed(f)
			case "products":
				return fallback(f)
			}
			return f
		}, []string{"banners:error", "products:fallback", "recommendations:ok"}, false},
		{"a fourth tile over HTTP", "fourth-tile", func(f tiles.Fetcher) tiles.Fetcher { return f },
			[]string{"banners:ok", "products:ok", "recommendations:ok", "notice:ok"}, true},
	}

	for _, s := range screens {
		t.Run(s.String(), func(t *testing.T) {
			for _, pg := range pages {
				t.Run(pg.name, func(t *testing.T) {
					seen := newSightings("first-contentful-paint")
					held := func(f tiles.Fetcher) tiles.Fetcher {
						return pg.wrap(heldUntil(f, seen.of("first-contentful-paint")))
					}
					var url string
					if pg.overHTTP {
						url, _ = serveAnyTile(t, spacedHTTP, tileTimeout, held)
					} else {
						url = serve(t, spaced, tileTimeout, held)
					}
					tb := openScreen(t, browser, s)
					tb.do(t, "exposing __vitrineShown", chromedp.ExposeFunc("__vitrineShown", seen.see))
					rec := tb.open(t, url+"/home")
					if got := eval[[]string](t, tb, tileDOM); !slices.Equal(got, pg.want) {
						t.Fatalf("tiles in main#main = %v; want %v (each tile waited for the first contentful paint, up to the %v tile timeout)",
							got, pg.want, tileTimeout)
					}
					v := checkVitals(t, tb, s, pg.state, rec)
					// The shell paints at once: before the first tile arrives,
					// and so long before the slowest.
					if first, _ := tileTimes(rec); v.FCP == nil || *v.FCP >= first {
						t.Errorf("first contentful paint at %v ms, first tile at %.0f ms; want the shell painted before any tile", v.FCP, first)
					}
					l := checkLayout(t, tb, s)
					if pg.overHTTP {
						checkNotice(t, tb)
					}
					if pg.state == "fallback+error" && len(l.Messages) < 3 {
						t.Errorf("messages %+v; want the error tile's two and the fallback tile's note", l.Messages)
					}
					checkShades(t, tb, false)
					if got := eval[string](t, tb, skeletonAnimationJS); got != "shimmer" {
						t.Errorf("skeleton animation %q; want shimmer", got)
					}
					tb.waitImages(t) // every picture loaded: the layout holds
					checkLayout(t, tb, s)
					tb.checkClean(t)
				})
			}

			t.Run("dark, with reduced motion", func(t *testing.T) {
				url := serve(t, nil, aggregator.DefaultTileTimeout, nil)
				tb := openScreen(t, browser, s, darkMode, reducedMotion)
				rec := tb.open(t, url+"/home?user=alice")
				if got, want := eval[[]string](t, tb, tileDOM), []string{"banners:ok", "products:ok", "recommendations:ok"}; !slices.Equal(got, want) {
					t.Errorf("tiles in main#main = %v; want %v", got, want)
				}
				checkVitals(t, tb, s, "dark", rec)
				checkShades(t, tb, true)
				if got := eval[string](t, tb, skeletonAnimationJS); got != "none" {
					t.Errorf("with prefers-reduced-motion the skeleton animation is %q; want none", got)
				}
				tb.waitImages(t)
				checkLayout(t, tb, s)
				tb.checkClean(t)
			})
		})
	}

	t.Run("the homepage on a phone as a visitor sees it", func(t *testing.T) {
		s := screen{390, 844, 2, true}                           // two device pixels per CSS pixel keep the PNG small
		url := serve(t, nil, aggregator.DefaultTileTimeout, nil) // 40, 80 and 120 ms, as TestBrowser's
		tb := openScreen(t, browser, s)
		tb.open(t, url+"/home?user=alice")
		if got, want := eval[[]string](t, tb, tileDOM), []string{"banners:ok", "products:ok", "recommendations:ok"}; !slices.Equal(got, want) {
			t.Errorf("tiles in main#main = %v; want %v", got, want)
		}
		tb.waitImages(t)
		checkLayout(t, tb, s)
		tb.checkClean(t)
		tb.screenshot(t, "homepage-phone.png", os.Getenv("VITRINE_SCREENSHOT_PHONE"))
	})
}
