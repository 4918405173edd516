package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
	"vitrine/web"
)

// recorderJS runs in every new document before the page's own script. It
// notes (performance.now(), ms since navigation) when the shell's <main
// id="main"> appears, when each tile element with its data-status appears
// and when each is first in its place in <main>, and collects
// Content-Security-Policy violations and errors. When the test has exposed
// window.__vitrineShown, it also tells the test at once that the shell, or
// a tile in its place, is showing.
const recorderJS = `(() => {
  const rec = { shell: null, events: [], placed: {}, csp: [], errors: [] };
  window.__vitrine = rec;
  const shown = (what) => {
    if (typeof window.__vitrineShown === "function") window.__vitrineShown(what);
  };
  const scan = () => {
    const now = performance.now();
    if (rec.shell === null && document.getElementById("main")) {
      rec.shell = now;
      shown("shell");
    }
    for (const el of document.querySelectorAll("[data-tile][data-status]")) {
      if (el.__vitrineSeen) continue;
      el.__vitrineSeen = true;
      rec.events.push({ tile: el.dataset.tile, status: el.dataset.status, at: now });
    }
    for (const el of document.querySelectorAll("main#main > [data-tile][data-status]")) {
      if (el.dataset.tile in rec.placed) continue;
      rec.placed[el.dataset.tile] = now;
      shown(el.dataset.tile);
    }
  };
  new MutationObserver(scan).observe(document, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["data-status"],
  });
  document.addEventListener("securitypolicyviolation", (e) =>
    rec.csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber));
  window.addEventListener("error", (e) => rec.errors.push(String(e.message)));
  window.addEventListener("unhandledrejection", (e) => rec.errors.push(String(e.reason)));
})();`

// recording is window.__vitrine.
type recording struct {
	Shell  *float64           `json:"shell"`
	Events []tileSeen         `json:"events"`
	Placed map[string]float64 `json:"placed"` // when each tile was first in its slot
	CSP    []string           `json:"csp"`
	Errors []string           `json:"errors"`
}

// tileSeen is a tile element with its status, as it appeared in the page.
type tileSeen struct {
	Tile   string  `json:"tile"`
	Status string  `json:"status"`
	At     float64 `json:"at"`
}

// first returns the first element recorded for each tile, in arrival order.
func (r recording) first() []tileSeen {
	var out []tileSeen
	for _, e := range r.Events {
		if !slices.ContainsFunc(out, func(s tileSeen) bool { return s.Tile == e.Tile }) {
			out = append(out, e)
		}
	}
	return out
}

// startBrowser starts a headless Chromium for the test, with a fresh
// profile, and returns its context. It skips the test when there is no
// browser, or fails it when CI=true.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := FindBrowser(os.Getenv)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the end-to-end tests cannot run: %v", err)
		}
		t.Skipf("skipping the browser tests: %v", err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit, before its profile is removed
	})
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Logf("started %s in %v", path, time.Since(start).Round(time.Millisecond))
	return ctx
}

// tab is one browser tab that records console errors, uncaught exceptions
// and error entries of the browser log.
type tab struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
	notFound string // a URL whose 404 is expected (expect404): not a problem
}

// expect404 tells tb that url answers 404 on purpose, so that Chromium's
// log line about it is not a problem.
func (tb *tab) expect404(url string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.notFound = url
}

// openTab opens a tab with the recorder installed; opts may put it in a
// browser context of its own (chromedp.WithNewBrowserContext).
func openTab(t *testing.T, browser context.Context, opts ...chromedp.ContextOption) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, opts...)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
	if err := chromedp.Listen(ctx, tb.listen); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: recorderJS}); err != nil {
		t.Fatalf("installing the recorder: %v", err)
	}
	return tb
}

func (tb *tab) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			problem = "console.error: " + strings.Join(args, " ")
		}
	case *runtime.EventExceptionThrown:
		problem = "exception: " + ev.ExceptionDetails.Text
		if ex := ev.ExceptionDetails.Exception; ex != nil {
			problem += " " + ex.Description
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			problem = "log (" + string(ev.Entry.Source) + "): " + ev.Entry.Text + " " + ev.Entry.URL
		}
	}
	if problem == "" {
		return
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if e, ok := ev.(*log.EventEntryAdded); ok && tb.notFound != "" && e.Entry.URL == tb.notFound &&
		e.Entry.Source == log.EntrySourceNetwork && strings.Contains(e.Entry.Text, "status of 404") {
		return
	}
	tb.problems = append(tb.problems, problem)
}

// do runs actions with a deadline.
func (tb *tab) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates expr in the page and decodes its value.
func eval[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor waits until expr is truthy in the page.
func (tb *tab) waitFor(t *testing.T, expr string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// open navigates to url and waits for the whole page: the timing panel in
// its place inside <main>.
func (tb *tab) open(t *testing.T, url string) recording {
	t.Helper()
	tb.do(t, "navigating to "+url, chromedp.Navigate(url))
	tb.waitFor(t, `document.querySelector("main#main > #timing")`, 10*time.Second)
	return eval[recording](t, tb, `window.__vitrine`)
}

// waitImages scrolls through the page, so that lazy pictures load, and
// waits until every picture has loaded.
func (tb *tab) waitImages(t *testing.T) {
	t.Helper()
	eval[chromedp.Void](t, tb, `window.scrollTo(0, document.body.scrollHeight)`)
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	const loaded = `Array.from(document.images).every((i) => i.complete && i.naturalWidth > 0)`
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](loaded,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		broken := eval[[]string](t, tb, `Array.from(document.images).filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.src)`)
		t.Errorf("pictures did not load: %v (%v)", broken, err)
	}
	eval[chromedp.Void](t, tb, `window.scrollTo(0, 0)`)
}

// checkClean fails on any console error, uncaught exception, error log
// entry or CSP violation the page has had.
func (tb *tab) checkClean(t *testing.T) {
	t.Helper()
	rec := eval[recording](t, tb, `window.__vitrine`)
	for _, v := range rec.CSP {
		t.Errorf("CSP violation: %s", v)
	}
	for _, e := range rec.Errors {
		t.Errorf("page error: %s", e)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		t.Errorf("%s", p)
	}
}

// screenshot saves a full-page PNG of the page to the test's temporary
// directory and, if also is not empty, there too.
func (tb *tab) screenshot(t *testing.T, name, also string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	for _, path := range []string{filepath.Join(t.TempDir(), name), also} {
		if path == "" {
			continue
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("saving the screenshot: %v", err)
		}
		t.Logf("screenshot: %s (%d bytes)", path, len(png))
	}
}

// tileDOM is how the tiles sit in <main> at the end: name:status in
// document order.
const tileDOM = `Array.from(document.querySelectorAll("main#main > [data-tile]"), (e) => e.dataset.tile + ":" + e.dataset.status)`

// serve starts Vitrine over the real built-in tiles with the given
// latencies (the defaults for tiles not named) and tile timeout. wrap, if
// not nil, may replace a tile's fetcher.
func serve(t *testing.T, latency map[string]time.Duration, timeout time.Duration, wrap func(tiles.Fetcher) tiles.Fetcher) string {
	t.Helper()
	cat := catalogue.Default()
	var fs []tiles.Fetcher
	for _, d := range sim.Builtins() {
		l, ok := latency[d.Name]
		if !ok {
			l = d.Latency
		}
		var f tiles.Fetcher = simulate(t, d, cat, l)
		if wrap != nil {
			f = wrap(f)
		}
		fs = append(fs, f)
	}
	return serveTiles(t, fs, timeout, web.Options{})
}

// serveTraced is serve with the default latencies and tracing on, with
// tp's tracers for the web layer and the aggregator.
func serveTraced(t *testing.T, tp trace.TracerProvider) string {
	t.Helper()
	cat := catalogue.Default()
	var fs []tiles.Fetcher
	for _, d := range sim.Builtins() {
		fs = append(fs, simulate(t, d, cat, a11yLatency[d.Name]))
	}
	return serveTiles(t, fs, 2*time.Second, web.Options{TracerProvider: tp})
}

// serveTiles starts Vitrine over the tiles fs, in page order, with the
// given tile timeout and web options (the default catalogue's pictures and
// a short /test delay unless opts say otherwise), and returns its URL.
func serveTiles(t *testing.T, fs []tiles.Fetcher, timeout time.Duration, opts web.Options) string {
	t.Helper()
	if opts.TestDelay == 0 {
		opts.TestDelay = time.Second
	}
	if opts.Catalogue == nil {
		opts.Catalogue = catalogue.Default()
	}
	srv := httptest.NewServer(web.NewServer(slog.New(slog.DiscardHandler), newAggregator(t, fs, timeout), opts))
	t.Cleanup(srv.Close)
	return srv.URL
}

// newAggregator is the aggregator over fs, in page order, with the given
// tile timeout.
func newAggregator(t *testing.T, fs []tiles.Fetcher, timeout time.Duration) *aggregator.Aggregator {
	t.Helper()
	agg, err := aggregator.New(fs, aggregator.Options{TileTimeout: timeout, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("aggregator.New: %v", err)
	}
	return agg
}

// simulate is def's simulated backend over cat, answering after latency
// and never failing.
func simulate(t *testing.T, def sim.Def, cat *catalogue.Catalogue, latency time.Duration) *sim.Simulated {
	t.Helper()
	s, err := sim.New(def, cat, sim.Backend{Latency: latency})
	if err != nil {
		t.Fatalf("sim.New(%s): %v", def.Name, err)
	}
	return s
}

// recovering is a tile whose backend is slow (first) on its first fetch
// and has recovered (later) by the next: what a retry should find.
func recovering(first, later tiles.Fetcher) *tilestest.Fetcher {
	var started atomic.Bool
	return &tilestest.Fetcher{TileName: later.Name(), FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		if started.CompareAndSwap(false, true) {
			return first.Fetch(ctx, req)
		}
		return later.Fetch(ctx, req)
	}}
}

// sightings are the parts of the page (the shell, and each tile in its
// place) that the browser has shown, as the recorder reports them through
// window.__vitrineShown: shown(name) closes when name first shows.
type sightings struct {
	mu    sync.Mutex
	shown map[string]chan struct{}
}

func newSightings(names ...string) *sightings {
	s := &sightings{shown: make(map[string]chan struct{}, len(names))}
	for _, n := range names {
		s.shown[n] = make(chan struct{})
	}
	return s
}

// of returns the channel that closes when name shows; nil (never) for a
// name that was not asked for.
func (s *sightings) of(name string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shown[name]
}

// see is window.__vitrineShown: the page has shown name.
func (s *sightings) see(_ context.Context, name string) (chromedp.Void, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.shown[name]; ok {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	return chromedp.Void{}, nil
}

// heldUntil is f, whose answer, after f's own latency, also waits until
// shown closes. The test closes it when the browser has shown the part of
// the page that comes before this tile, so the tile cannot finish on the
// server before the browser has shown that part: when the page is not
// streamed, or the browser does not show tiles as they arrive, shown never
// closes and the fetch gives up at the tile timeout.
func heldUntil(f tiles.Fetcher, shown <-chan struct{}) *tilestest.Fetcher {
	return &tilestest.Fetcher{TileName: f.Name(), FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		out, err := f.Fetch(ctx, req)
		if err != nil {
			return out, err
		}
		select {
		case <-shown:
			return out, nil
		case <-ctx.Done():
			return tiles.Outcome{}, fmt.Errorf("%s: held until the browser showed the part before it: %w", f.Name(), ctx.Err())
		}
	}}
}

func TestBrowser(t *testing.T) {
	browser := startBrowser(t)

	t.Run("tiles stream in as they finish and take their places", func(t *testing.T) {
		// Arrival order (banners, recommendations, products) differs from
		// page order (banners, products, recommendations). The test asserts
		// order and cause, not milliseconds in the browser: on a loaded
		// machine Chromium can be hundreds of milliseconds late to parse a
		// chunk, so two tiles flushed 300 ms apart can show almost at once,
		// and a tile flushed after the shell can land in the same parse.
		// Instead each tile's answer waits, after its own latency, until
		// the browser has shown the part of the page before it (the shell,
		// banners in its slot, recommendations in its slot). On an idle
		// machine that has usually happened before the latency is over, and
		// the page is the one a visitor gets; on a loaded one the page
		// stretches instead of the test failing. A page that is not
		// streamed, or a script that places tiles only at the end, never
		// shows that part while the next tile waits: the held tile times
		// out and the test fails.
		held := map[string]string{"banners": "shell", "recommendations": "banners", "products": "recommendations"}
		seen := newSightings("shell", "banners", "recommendations")
		const tileTimeout = 10 * time.Second // far beyond a loaded machine's delays
		url := serve(t, map[string]time.Duration{
			"banners": 250 * time.Millisecond, "recommendations": 550 * time.Millisecond, "products": 850 * time.Millisecond,
		}, tileTimeout, func(f tiles.Fetcher) tiles.Fetcher {
			before, ok := held[f.Name()]
			if !ok {
				t.Fatalf("tile %q: the test does not know what it follows", f.Name())
			}
			return heldUntil(f, seen.of(before))
		})
		tb := openTab(t, browser)
		tb.do(t, "exposing __vitrineShown", chromedp.ExposeFunc("__vitrineShown", seen.see))
		rec := tb.open(t, url+"/home")

		first := rec.first()
		var order []string
		at := map[string]float64{}
		for _, s := range first {
			order = append(order, s.Tile+":"+s.Status)
			at[s.Tile] = s.At
		}
		if rec.Shell == nil {
			t.Fatalf("the shell (main#main) never appeared; tiles appeared %v", first)
		}
		t.Logf("shell at %.1f ms; tiles appeared %v; in their slots at %v", *rec.Shell, first, rec.Placed)
		if want := []string{"banners:ok", "recommendations:ok", "products:ok"}; !slices.Equal(order, want) {
			t.Errorf("tiles appeared as %v; want %v (completion order)", order, want)
		}
		for _, tile := range []string{"banners", "recommendations", "products"} {
			if i := slices.IndexFunc(first, func(s tileSeen) bool { return s.Tile == tile }); i >= 0 && first[i].Status != "ok" {
				t.Errorf("%s is %s; want ok: its answer waited for the browser to show %s, which did not happen within the %v tile timeout "+
					"(the page is not streamed, or the browser does not place tiles as they arrive)", tile, first[i].Status, held[tile], tileTimeout)
			}
		}
		if *rec.Shell >= at["banners"] {
			t.Errorf("shell appeared at %.1f ms; want it before the first tile (banners, at %.1f ms)", *rec.Shell, at["banners"])
		}
		// The fast tile is in its place before the slow one reaches the
		// browser at all: tiles show as they arrive, not all at the end.
		for _, p := range [][2]string{{"banners", "recommendations"}, {"recommendations", "products"}} {
			placed, ok := rec.Placed[p[0]]
			if next, arrived := at[p[1]]; !ok || !arrived || placed >= next {
				t.Errorf("%s in its slot at %.1f ms (%v), %s arrived at %.1f ms (%v); want %[1]s in its slot before %[4]s arrived",
					p[0], placed, ok, p[1], next, arrived)
			}
		}
		if got, want := eval[[]string](t, tb, tileDOM), []string{"banners:ok", "products:ok", "recommendations:ok"}; !slices.Equal(got, want) {
			t.Errorf("tiles in main#main = %v; want %v (page order)", got, want)
		}
		if n := eval[int](t, tb, `document.querySelectorAll("#stream [data-tile], .placeholder, [aria-busy=true]").length`); n != 0 {
			t.Errorf("%d tiles left outside their slots or still busy; want 0", n)
		}
		if n := eval[int](t, tb, `document.querySelectorAll("#announcer p").length`); n != 3 {
			t.Errorf("the live region announced %d tiles; want 3", n)
		}
		if n := eval[int](t, tb, `document.querySelectorAll("#timing .bar").length`); n != 4 {
			t.Errorf("the waterfall has %d bars; want 4 (three tiles and the total)", n)
		}
		tb.waitImages(t)
		tb.checkClean(t)
		tb.screenshot(t, "streamed.png", "")
	})

	t.Run("a timed-out tile shows a fallback and its retry works", func(t *testing.T) {
		var recs *tilestest.Fetcher
		url := serve(t, map[string]time.Duration{
			"banners": 10 * time.Millisecond, "products": 300 * time.Millisecond,
		}, 800*time.Millisecond, func(f tiles.Fetcher) tiles.Fetcher {
			if f.Name() != "recommendations" {
				return f
			}
			def, cat := sim.Builtins()[2], catalogue.Default()
			recs = recovering(simulate(t, def, cat, 2*time.Second), simulate(t, def, cat, 20*time.Millisecond))
			return recs
		})
		tb := openTab(t, browser)
		rec := tb.open(t, url+"/home?user=alice")

		if got, want := eval[[]string](t, tb, tileDOM), []string{"banners:ok", "products:ok", "recommendations:timeout"}; !slices.Equal(got, want) {
			t.Fatalf("tiles in main#main = %v; want %v", got, want)
		}
		if got := rec.first(); len(got) != 3 || got[2].Tile != "recommendations" || got[2].At < 700 {
			t.Errorf("tiles appeared as %v; want recommendations last, after its 800 ms timeout", got)
		}
		fallback := eval[string](t, tb, `document.querySelector("#tile-recommendations .fallback").innerText`)
		if !strings.Contains(fallback, "taking longer than usual") {
			t.Errorf("fallback says %q; want it to explain the delay", fallback)
		}
		if got, want := eval[string](t, tb, `document.querySelector("a[data-retry=recommendations]").getAttribute("href")`),
			"/tiles/recommendations?format=html&user=alice"; got != want {
			t.Errorf("retry link = %q; want %q", got, want)
		}
		tb.screenshot(t, "timeout.png", "")

		tb.do(t, "clicking retry", chromedp.Click(chromedp.CSS(`a[data-retry="recommendations"]`)))
		tb.waitFor(t, `document.querySelector("main#main > [data-tile=recommendations][data-status=ok]")`, 5*time.Second)

		if got, want := eval[[]string](t, tb, tileDOM), []string{"banners:ok", "products:ok", "recommendations:ok"}; !slices.Equal(got, want) {
			t.Errorf("after the retry, tiles in main#main = %v; want %v", got, want)
		}
		if got, want := eval[string](t, tb, `document.querySelector("#tile-recommendations h2").textContent`), "Picked for alice"; got != want {
			t.Errorf("retried tile's heading = %q; want %q", got, want)
		}
		if n := eval[int](t, tb, `document.querySelectorAll("[data-tile=recommendations]").length`); n != 1 {
			t.Errorf("%d recommendations tiles; want the fallback replaced by 1", n)
		}
		if got := eval[string](t, tb, `document.querySelector("#announcer p:last-child").textContent`); !strings.Contains(got, "loaded") {
			t.Errorf("last announcement = %q; want the retried tile loaded", got)
		}
		if n := recs.Calls(); n != 2 {
			t.Errorf("recommendations fetched %d times; want 2 (the page, then the retry)", n)
		}
		tb.waitImages(t)
		tb.checkClean(t)
		tb.screenshot(t, "retried.png", "")
	})

	t.Run("without JavaScript tiles show in arrival order", func(t *testing.T) {
		url := serve(t, map[string]time.Duration{
			"banners": 300 * time.Millisecond, "products": 10 * time.Millisecond, "recommendations": 150 * time.Millisecond,
		}, 2*time.Second, nil)
		tb := openTab(t, browser)
		if _, err := chromedp.Call(tb.ctx, emulation.SetScriptExecutionDisabled,
			emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("disabling JavaScript: %v", err)
		}
		tb.do(t, "navigating", chromedp.Navigate(url+"/home"))
		got := eval[[]string](t, tb, `Array.from(document.querySelectorAll("#stream > [data-tile]"), (e) => e.dataset.tile + ":" + e.dataset.status)`)
		if want := []string{"products:ok", "recommendations:ok", "banners:ok"}; !slices.Equal(got, want) {
			t.Errorf("tiles in #stream = %v; want %v (arrival order)", got, want)
		}
		if got := eval[[]string](t, tb, `Array.from(document.querySelectorAll(".placeholder"), (e) => getComputedStyle(e).display)`); len(got) != 4 || slices.ContainsFunc(got, func(d string) bool { return d != "none" }) {
			t.Errorf("placeholders display %v; want all 4 hidden", got)
		}
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, p := range tb.problems {
			t.Errorf("%s", p)
		}
	})

	t.Run("the homepage as a visitor sees it", func(t *testing.T) {
		url := serve(t, nil, aggregator.DefaultTileTimeout, nil) // 40, 80 and 120 ms
		tb := openTab(t, browser)
		rec := tb.open(t, url+"/home?user=alice")
		if got, want := eval[[]string](t, tb, tileDOM), []string{"banners:ok", "products:ok", "recommendations:ok"}; !slices.Equal(got, want) {
			t.Errorf("tiles in main#main = %v; want %v", got, want)
		}
		// With a 40 ms first tile the browser may parse the shell and the
		// first tile together (see above), but never a tile first.
		if first := rec.first(); rec.Shell == nil || len(first) != 3 || *rec.Shell > first[0].At {
			t.Errorf("recording = %+v; want the shell, then three tiles", rec)
		}
		tb.waitImages(t)
		tb.checkClean(t)
		tb.screenshot(t, "homepage.png", os.Getenv("VITRINE_SCREENSHOT"))
	})
}

func TestFindBrowser(t *testing.T) {
	self, err := os.Executable() // some file that exists
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		chromium string
		want     string
		wantErr  bool
	}{
		{"CHROMIUM names the browser", self, self, false},
		{"CHROMIUM names nothing", filepath.Join(t.TempDir(), "no-such-browser"), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindBrowser(func(k string) string {
				if k == "CHROMIUM" {
					return tt.chromium
				}
				return ""
			})
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("FindBrowser() = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "CHROMIUM") {
				t.Errorf("error %q; want it to name CHROMIUM", err)
			}
		})
	}
}
