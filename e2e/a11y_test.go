package e2e

// Accessibility of the finished page, in every state a shopper can meet it
// (every tile ok; a fallback tile beside an error tile with its retry
// link; a fourth tile over HTTP, in the generic view), at a desktop and a
// phone width, in light and dark mode: audited by axe-core, and walked
// through with the Tab key.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// a11yState is a page the accessibility tests open: its tiles' backends
// and what the finished page holds.
type a11yState struct {
	name     string
	wrap     func(tiles.Fetcher) tiles.Fetcher // nil: the real tiles
	page     func(t *testing.T) string         // nil: serve the built-in tiles, wrapped; else starts the page, returns its URL
	path     string                            // the page's path; "": /home
	notFound bool                              // the page is a 404 (its primary tile's content does not exist)
	tiles    []string                          // tileDOM of the finished page
	cards    int                               // product cards
	retry    []string                          // data-retry of the retry links
	trace    bool                              // the waterfall shows a trace id
}

var a11yStates = []a11yState{
	{
		name:  "every tile ok",
		tiles: []string{"banners:ok", "products:ok", "recommendations:ok"},
		cards: 12 + 6,
	},
	{
		name: "a fallback tile and an error tile",
		wrap: func(f tiles.Fetcher) tiles.Fetcher {
			switch f.Name() {
			case "products":
				return servingFallback(f)
			case "recommendations":
				return tilestest.Failing(f.Name(), errors.New("recommendations: backend down"))
			}
			return f
		},
		tiles: []string{"banners:ok", "products:fallback", "recommendations:error"},
		cards: 12,
		retry: []string{"recommendations"},
	},
	{
		// With tracing, the timing waterfall adds the page's trace id.
		name: "a traced page",
		page: func(t *testing.T) string {
			tp := sdktrace.NewTracerProvider() // samples every trace, exports nowhere
			t.Cleanup(func() { tp.Shutdown(context.Background()) })
			return serveTraced(t, tp)
		},
		tiles: []string{"banners:ok", "products:ok", "recommendations:ok"},
		cards: 12 + 6,
		trace: true,
	},
	{
		name: "a fourth tile over HTTP",
		page: func(t *testing.T) string {
			url, _ := serveAnyTile(t, a11yLatency, 2*time.Second, nil)
			return url
		},
		tiles: []string{"banners:ok", "products:ok", "recommendations:ok", "notice:ok"},
		cards: 12 + 6,
	},
	{
		// The pages of examples/shop.yaml, with their layouts and the links
		// from one page to another.
		name:  "the shop's homepage",
		page:  func(t *testing.T) string { return serveShop(t, a11yLatency, 2*time.Second, nil) },
		tiles: shopTiles["/home"],
		cards: 12 + 6,
	},
	{
		name:  "a category page",
		page:  func(t *testing.T) string { return serveShop(t, a11yLatency, 2*time.Second, nil) },
		path:  "/c/outdoor",
		tiles: shopTiles["/c/outdoor"],
		cards: 6 + 6,
	},
	{
		name:     "an unknown category",
		page:     func(t *testing.T) string { return serveShop(t, a11yLatency, 2*time.Second, nil) },
		path:     "/c/nothing-here",
		notFound: true,
		tiles:    []string{"banners:ok", "category:error", "recommendations:ok", "categories:ok"},
		cards:    6,
	},
}

// start starts the page of st and returns its URL.
func (st a11yState) start(t *testing.T) string {
	t.Helper()
	if st.page != nil {
		return st.page(t)
	}
	return serve(t, a11yLatency, 2*time.Second, st.wrap)
}

// servingFallback is f, whose content is served as the tile's fallback,
// as resilience serves it when the backend is down.
func servingFallback(f tiles.Fetcher) *tilestest.Fetcher {
	return &tilestest.Fetcher{TileName: f.Name(), FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		out, err := f.Fetch(ctx, req)
		if err != nil {
			return out, err
		}
		out.Status, out.Cause = tiles.StatusFallback, errors.New(f.Name()+": backend down")
		return out, nil
	}}
}

// wantStatus is the document's status: 404 for a page whose primary
// tile's content does not exist, else 200.
func wantStatus(notFound bool) int {
	if notFound {
		return 404
	}
	return 200
}

// a11yViewport is a screen the page is opened on.
type a11yViewport struct {
	name          string
	width, height int64
	mobile        bool // mobile emulation: the page's meta viewport applies
}

var a11yViewports = []a11yViewport{
	{"1280 px", 1280, 900, false},
	{"390 px phone", 390, 844, true},
}

var colorSchemes = []string{"light", "dark"}

// a11yLatency keeps the pages quick: the tests look at the finished page.
var a11yLatency = map[string]time.Duration{
	"banners": 10 * time.Millisecond, "products": 20 * time.Millisecond, "recommendations": 30 * time.Millisecond,
}

// emulateScreen sets the tab's viewport, with mobile and touch emulation
// for a phone.
func (tb *tab) emulateScreen(t *testing.T, vp a11yViewport) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	tb.do(t, "emulating "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
}

// emulateColorScheme sets prefers-color-scheme for the tab ("light" or
// "dark") and checks that the page sees it.
func (tb *tab) emulateColorScheme(t *testing.T, scheme string) {
	t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		t.Fatalf("emulating prefers-color-scheme: %s: %v", scheme, err)
	}
	if !eval[bool](t, tb, `matchMedia("(prefers-color-scheme: `+scheme+`)").matches`) {
		t.Fatalf("the page does not see prefers-color-scheme: %s", scheme)
	}
}

// openA11y opens the page of state, served at url, in tb on vp and checks
// that it is complete and as state says.
func (tb *tab) openA11y(t *testing.T, url string, st a11yState, vp a11yViewport) {
	t.Helper()
	tb.emulateScreen(t, vp)
	page := url + cmp.Or(st.path, "/home") + "?user=alice"
	if st.notFound {
		tb.expect404(page)
	}
	tb.open(t, page)
	if got, want := eval[int](t, tb, navStatusJS), wantStatus(st.notFound); got != want {
		t.Errorf("the document's status is %d; want %d", got, want)
	}
	if got := eval[[]string](t, tb, tileDOM); !slices.Equal(got, st.tiles) {
		t.Fatalf("tiles in main#main = %v; want %v", got, st.tiles)
	}
	if got := eval[int](t, tb, `document.querySelectorAll("main .product").length`); got != st.cards {
		t.Errorf("%d product cards; want %d", got, st.cards)
	}
	if got := eval[[]string](t, tb, `Array.from(document.querySelectorAll("main a[data-retry]"), (a) => a.dataset.retry)`); !slices.Equal(got, st.retry) {
		t.Errorf("retry links for %v; want %v", got, st.retry)
	}
}

// axeSource returns axe-core's axe.min.js, named by VITRINE_AXE (.ci/run
// installs axe-core from npm into a temporary folder and sets it). Without
// it the test skips, or fails when CI=true.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("VITRINE_AXE")
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the accessibility audit cannot run: VITRINE_AXE does not name axe-core's axe.min.js")
		}
		t.Skip("skipping the accessibility audit: set VITRINE_AXE to axe-core's axe.min.js " +
			"(npm install --prefix DIR axe-core; VITRINE_AXE=DIR/node_modules/axe-core/axe.min.js), as .ci/run does")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("VITRINE_AXE: %v", err)
	}
	return string(src)
}

// axeViolation is one rule axe found broken, with the nodes that break it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	URL    string `json:"helpUrl"`
	Nodes  []struct {
		Target  string `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s <%s>", v.ID, v.Impact, v.Help, v.URL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %s: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", "; "))
	}
	return b.String()
}

// axeRunJS is a function of axe.run's context and options that runs axe
// and keeps, of the violations and the results axe could not decide, what
// a report needs.
const axeRunJS = `(context, options) => axe.run(context, { ...options, resultTypes: ["violations", "incomplete"] }).then((r) => {
  const brief = (list) => list.map((v) => ({
    id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(" "), summary: n.failureSummary || "" })),
  }));
  return { version: axe.version, violations: brief(r.violations), incomplete: brief(r.incomplete) };
})`

type axeResults struct {
	Version    string         `json:"version"`
	Violations []axeViolation `json:"violations"`
	Incomplete []axeViolation `json:"incomplete"`
}

// injectAxe evaluates axe's source in the page. DevTools' Runtime.evaluate
// is not subject to the page's Content-Security-Policy, which allows no
// script without the page's nonce.
func (tb *tab) injectAxe(t *testing.T, src string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
		t.Fatalf("injecting axe-core: %v", err)
	}
	if !eval[bool](t, tb, `typeof axe === "object" && typeof axe.run === "function"`) {
		t.Fatalf("axe-core injected, but window.axe.run is not there")
	}
}

// audit runs axe on the part of the page that scope (a JS value, as
// axe.run takes its context: document is the whole page) names, with
// options (a JS object), and fails the test on every violation, whatever
// its impact (the page has none: the issue asks for no serious or critical
// one, and a moderate one slipping in should be seen). What axe could not
// decide is logged.
func (tb *tab) audit(t *testing.T, what, scope, options string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResults](
		"("+axeRunJS+")("+scope+", "+options+")", chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run on %s: %v", what, err)
	}
	for _, v := range res.Violations {
		t.Errorf("axe %s on %s: %v", res.Version, what, v)
	}
	for _, v := range res.Incomplete {
		t.Logf("axe %s on %s could not decide: %v", res.Version, what, v)
	}
}

// svgTextJS measures what axe leaves undecided: the contrast of each text
// of the timing waterfall (SVG, with its colour in fill) with the
// background behind the picture.
const svgTextJS = `Array.from(document.querySelectorAll("svg text"), (el) => {
  const rgba = (c) => c.match(/[\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let behind = [255, 255, 255];
  for (let p = el.closest("svg"); p; p = p.parentElement) {
    const c = rgba(getComputedStyle(p).backgroundColor);
    if (c.length < 4 || c[3] > 0) { behind = c; break; }
  }
  const [a, b] = [lum(rgba(getComputedStyle(el).fill)), lum(behind)];
  return { text: el.textContent, fill: getComputedStyle(el).fill, contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
})`

// TestAxeAudit audits the page with axe-core in every state, at every
// width, in light and dark mode: no violation of any impact, on the whole page and, with the colours their focus gives
// them, on the skip link and the retry links; and the waterfall's SVG text,
// which axe cannot judge, at least 4.5:1.
func TestAxeAudit(t *testing.T) {
	src := axeSource(t)
	browser := startBrowser(t)
	for _, st := range a11yStates {
		t.Run(st.name, func(t *testing.T) {
			url := st.start(t)
			for _, vp := range a11yViewports {
				t.Run(vp.name, func(t *testing.T) {
					tb := openTab(t, browser)
					tb.openA11y(t, url, st, vp)
					if id := eval[string](t, tb, `document.querySelector(".trace-id code")?.textContent ?? ""`); (len(id) == 32) != st.trace {
						t.Errorf("the waterfall's trace id is %q; want one (32 hex digits): %v", id, st.trace)
					}
					tb.injectAxe(t, src)
					for _, scheme := range colorSchemes {
						t.Run(scheme, func(t *testing.T) {
							tb.emulateColorScheme(t, scheme)
							tb.audit(t, "the page", "document", "{}")
							focusable := []string{".skip"}
							for _, name := range st.retry {
								focusable = append(focusable, `a[data-retry="`+name+`"]`)
							}
							for _, sel := range focusable {
								if !eval[bool](t, tb, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus(); return document.activeElement === el; })()`, sel)) {
									t.Fatalf("%s does not take the focus", sel)
								}
								tb.audit(t, sel+" focused", fmt.Sprintf(`{ include: [%q] }`, sel), `{ runOnly: ["color-contrast"] }`)
								eval[chromedp.Void](t, tb, `document.activeElement.blur()`)
							}
							for _, txt := range eval[[]svgText](t, tb, svgTextJS) {
								if txt.Contrast < 4.5 {
									t.Errorf("waterfall text %q (fill %s) contrasts %.2f:1 with its background; want at least 4.5:1", txt.Text, txt.Fill, txt.Contrast)
								}
							}
						})
					}
					tb.checkClean(t) // axe ran without tripping the CSP or throwing
				})
			}
		})
	}
}

type svgText struct {
	Text     string  `json:"text"`
	Fill     string  `json:"fill"`
	Contrast float64 `json:"contrast"`
}

// focusJS describes document.activeElement after a Tab: which element it is
// (key, as keyOf names it), whether it shows a focus indicator and how
// that indicator contrasts with what lies behind it, and whether it is on
// the screen.
const focusJS = `(() => {
  const keyOf = (el) => {
    if (el.dataset.retry) return "retry " + el.dataset.retry;
    const tile = el.closest("[data-tile]");
    return (tile ? tile.dataset.tile + " " : "") + el.tagName.toLowerCase() + (el.getAttribute("href") ? " " + el.getAttribute("href") : "");
  };
  const rgba = (c) => {
    const m = c.match(/rgba?\(([\d.]+),? ([\d.]+),? ([\d.]+)(?:,? \/? ?([\d.]+))?\)/);
    return m ? [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]] : null;
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return { key: "" };
  // The indicator is the element's outline or box-shadow, or the outline
  // of its ::after box (a link stretched over its product card rings the card).
  let cs = getComputedStyle(el), on = "";
  const shown = (s) => (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
  if (!shown(cs) && shown(getComputedStyle(el, "::after")) && getComputedStyle(el, "::after").content !== "none") {
    cs = getComputedStyle(el, "::after");
    on = "::after";
  }
  let behind = null;
  for (let p = el.parentElement; p && !behind; p = p.parentElement) {
    const c = rgba(getComputedStyle(p).backgroundColor);
    if (c && c[3] > 0) behind = c;
  }
  behind = behind || [255, 255, 255, 1];
  const ring = rgba(cs.outlineColor);
  let contrast = 0;
  if (ring) {
    const [a, b] = [lum(ring), lum(behind)];
    contrast = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  const r = el.getBoundingClientRect();
  return {
    key: keyOf(el), on: on,
    focusVisible: el.matches(":focus-visible"),
    outlineStyle: cs.outlineStyle, outlineWidth: parseFloat(cs.outlineWidth) || 0,
    outlineColor: cs.outlineColor, behind: "rgb(" + behind.slice(0, 3).join(", ") + ")",
    boxShadow: cs.boxShadow, contrast: contrast,
    onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth,
  };
})()`

// wantFocusJS names, in document order and as focusJS's keyOf does, the
// elements the keyboard must reach: the link of every product card and
// every retry link.
const wantFocusJS = `Array.from(document.querySelectorAll("main .product a[href], main a[data-retry]"), (el) => {
  if (el.dataset.retry) return "retry " + el.dataset.retry;
  return el.closest("[data-tile]").dataset.tile + " a " + el.getAttribute("href");
})`

type focused struct {
	Key          string  `json:"key"`
	On           string  `json:"on"` // "" for the element, "::after" for its ::after box
	FocusVisible bool    `json:"focusVisible"`
	OutlineStyle string  `json:"outlineStyle"`
	OutlineWidth float64 `json:"outlineWidth"`
	OutlineColor string  `json:"outlineColor"`
	Behind       string  `json:"behind"`
	BoxShadow    string  `json:"boxShadow"`
	Contrast     float64 `json:"contrast"`
	OnScreen     bool    `json:"onScreen"`
}

// indicator says what shows that f has the focus, or why nothing does.
func (f focused) indicator() (string, error) {
	switch {
	case !f.FocusVisible:
		return "", errors.New("does not match :focus-visible after a Tab")
	case f.OutlineStyle != "none" && f.OutlineWidth > 0:
		// WCAG 2.2's focus appearance (2.4.13): at least 2 CSS px thick,
		// at least 3:1 against what is behind it.
		if f.OutlineWidth < 2 || f.Contrast < 3 {
			return "", fmt.Errorf("outline %s %gpx %s contrasts %.2f:1 with %s behind it; want at least 2px and 3:1",
				f.OutlineStyle, f.OutlineWidth, f.OutlineColor, f.Contrast, f.Behind)
		}
		return fmt.Sprintf("outline%s %s %gpx %s, %.1f:1 on %s", f.On, f.OutlineStyle, f.OutlineWidth, f.OutlineColor, f.Contrast, f.Behind), nil
	case f.BoxShadow != "" && f.BoxShadow != "none":
		return "box-shadow" + f.On + " " + f.BoxShadow, nil
	}
	return "", fmt.Errorf("no focus indicator: outline %s %gpx, box-shadow %s", f.OutlineStyle, f.OutlineWidth, f.BoxShadow)
}

// TestKeyboardReachesEveryProduct presses Tab from the top of the page
// until the focus leaves it, in every state, at every width, in light and
// dark mode: the link of every product card and every retry link are
// reached, in page order, each on the screen with a visible focus
// indicator, as is everything else the focus lands on.
func TestKeyboardReachesEveryProduct(t *testing.T) {
	browser := startBrowser(t)
	for _, st := range a11yStates {
		t.Run(st.name, func(t *testing.T) {
			url := st.start(t)
			for _, vp := range a11yViewports {
				for _, scheme := range colorSchemes {
					t.Run(vp.name+"/"+scheme, func(t *testing.T) {
						tb := openTab(t, browser)
						// A tab in the background has no focus; emulate it.
						if _, err := chromedp.Call(tb.ctx, emulation.SetFocusEmulationEnabled,
							emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
							t.Fatalf("emulating focus: %v", err)
						}
						tb.emulateColorScheme(t, scheme)
						tb.openA11y(t, url, st, vp)
						want := eval[[]string](t, tb, wantFocusJS)
						if len(want) != st.cards+len(st.retry) {
							t.Fatalf("%d product links and retry links (%v); want one per product card (%d) and %d retry links",
								len(want), want, st.cards, len(st.retry))
						}

						var reached, indicators []string
						const maxTabs = 100
						for range maxTabs {
							tb.do(t, "pressing Tab", chromedp.KeyEvent("\t"))
							f := eval[focused](t, tb, focusJS)
							if f.Key == "" || (len(reached) > 0 && f.Key == reached[0]) {
								break // the focus left the page, or came round again
							}
							reached = append(reached, f.Key)
							ind, err := f.indicator()
							if err != nil {
								t.Errorf("Tab %d, %s: %v", len(reached), f.Key, err)
							}
							if !f.OnScreen {
								t.Errorf("Tab %d, %s: focused off the screen", len(reached), f.Key)
							}
							if ind != "" && !slices.Contains(indicators, ind) {
								indicators = append(indicators, ind)
							}
						}
						if len(reached) == maxTabs {
							t.Fatalf("the focus never left the page in %d Tabs: %v", maxTabs, reached)
						}
						if len(reached) == 0 || reached[0] != "a #main" {
							t.Errorf("Tab stops %v; want the skip link (a #main) first", reached)
						}
						got := slices.DeleteFunc(slices.Clone(reached), func(k string) bool { return !slices.Contains(want, k) })
						if !slices.Equal(got, want) {
							t.Errorf("Tab reached, of the product and retry links, %v; want %v (page order)\nevery stop: %v", got, want, reached)
						}
						t.Logf("%d Tab stops, %d of them product or retry links; focus shown by %s", len(reached), len(got), strings.Join(indicators, "; "))
						tb.checkClean(t)
					})
				}
			}
		})
	}
}

// tabTo presses Tab until the element focusJS names key has the focus.
func (tb *tab) tabTo(t *testing.T, key string) focused {
	t.Helper()
	var stops []string
	for range 100 {
		tb.do(t, "pressing Tab", chromedp.KeyEvent("\t"))
		f := eval[focused](t, tb, focusJS)
		if f.Key == key {
			return f
		}
		stops = append(stops, f.Key)
	}
	t.Fatalf("Tab never reached %s; it stopped at %v", key, stops)
	return focused{}
}

// TestKeyboardRetryKeepsFocus activates a failed tile's retry link with
// Enter: the focus moves on to the fresh tile (its own retry link when
// the tile fails again, the tile itself when it loads), with a visible
// indicator, rather than falling back to the top of the page.
func TestKeyboardRetryKeepsFocus(t *testing.T) {
	browser := startBrowser(t)
	tests := []struct {
		name   string
		later  func(f tiles.Fetcher) tiles.Fetcher // the backend the retry finds
		status string                              // the fresh tile's
		want   string                              // focusJS's key for the focused element
	}{
		{"the tile loads", func(f tiles.Fetcher) tiles.Fetcher { return f }, "ok", "recommendations section"},
		{"the tile fails again", func(f tiles.Fetcher) tiles.Fetcher {
			return tilestest.Failing(f.Name(), errors.New("recommendations: still down"))
		}, "error", "retry recommendations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, a11yLatency, 2*time.Second, func(f tiles.Fetcher) tiles.Fetcher {
				if f.Name() != "recommendations" {
					return f
				}
				return recovering(tilestest.Failing(f.Name(), errors.New("recommendations: backend down")), tt.later(f))
			})
			tb := openTab(t, browser)
			if _, err := chromedp.Call(tb.ctx, emulation.SetFocusEmulationEnabled,
				emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
				t.Fatalf("emulating focus: %v", err)
			}
			failed := a11yState{tiles: []string{"banners:ok", "products:ok", "recommendations:error"}, cards: 12, retry: []string{"recommendations"}}
			tb.openA11y(t, url, failed, a11yViewports[0])
			tb.tabTo(t, "retry recommendations")
			eval[chromedp.Void](t, tb, `window.__retried = document.getElementById("tile-recommendations")`)
			tb.do(t, "pressing Enter", chromedp.KeyEvent("\r"))
			tb.waitFor(t, `document.getElementById("tile-recommendations") !== window.__retried`, 5*time.Second)
			if got := eval[string](t, tb, `document.getElementById("tile-recommendations").dataset.status`); got != tt.status {
				t.Errorf("the retried tile is %s; want %s", got, tt.status)
			}
			f := eval[focused](t, tb, focusJS)
			if f.Key != tt.want {
				t.Fatalf("after the retry the focus is on %q; want %q", f.Key, tt.want)
			}
			if ind, err := f.indicator(); err != nil {
				t.Errorf("%s: %v", f.Key, err)
			} else {
				t.Logf("focus on %s, shown by %s", f.Key, ind)
			}
			if !f.OnScreen {
				t.Errorf("%s: focused off the screen", f.Key)
			}
			if tt.status == "error" { // the browser logs the failed retry's 502, as it should
				tb.mu.Lock()
				tb.problems = slices.DeleteFunc(tb.problems, func(p string) bool {
					return strings.Contains(p, "502 (Bad Gateway)") && strings.Contains(p, "/tiles/recommendations?")
				})
				tb.mu.Unlock()
			}
			tb.checkClean(t)
		})
	}
}
