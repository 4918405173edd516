package e2e

// An HTML-fragment tile is content, never control: a backend whose
// fragment tries to navigate the page away or take another tile's place
// does neither, and ordinary markup comes through as the backend wrote it.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vitrine/tiles"
	"vitrine/upstream"
	"vitrine/web"
)

// hostileFragment navigates the page to elsewhere (%s) and poses as the
// products tile, by its old id and by the page's own data attributes, and
// as products' slot.
const hostileFragment = `<meta http-equiv="refresh" content="0;url=%s/">` +
	`<div id="tile-products" data-tile="products" data-status="ok"><h2>Hijacked</h2><p class="hijack">not the products</p></div>` +
	`<section data-slot="products" data-tile="products" id="slot-products">fake slot</section>` +
	`<p class="promo-text">Spring sale</p>`

// ordinaryFragment is what a content backend sends: headings, lists,
// links and pictures (this origin's, as the CSP allows).
const ordinaryFragment = `<h3>Spring sale</h3>` +
	`<p class="lead" title="Until Sunday">Up to <strong>30%</strong> off <a href="/c/kitchen">kitchen</a> and ` +
	`<a href="https://shop.example/c/trail?x=1&amp;y=2">trail</a>, or <a href="mailto:help@shop.example">ask us</a>.</p>` +
	`<ul class="offers"><li data-sku="k1"><figure><img src="/static/favicon.svg" alt="Kettle" width="32" height="32">` +
	`<figcaption><em>now</em> €39.90</figcaption></figure></li><li>Pans</li></ul>` +
	`<ol><li>one</li><li>two</li></ol><h4>Sizes</h4><dl><dt>S</dt><dd>38</dd></dl>`

// htmlBackend starts a backend answering body as text/html on every path,
// closed with the test, and returns its URL.
func htmlBackend(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// serveFragmentPage starts the built-in tiles over HTTP and a promo tile
// whose backend answers body as text/html, and Vitrine over them (promo
// drawn with the html view, second on the page), and returns Vitrine's
// URL. products answers only once the browser has shown promo in its
// place.
func serveFragmentPage(t *testing.T, body string, promoShown <-chan struct{}) string {
	t.Helper()
	b := startBackends(t, a11yLatency)
	tile := func(name string) tiles.Fetcher {
		return httpTile(t, upstream.Options{Name: name, URL: b.url + "/" + name})
	}
	fs := []tiles.Fetcher{
		tile("banners"),
		httpTile(t, upstream.Options{Name: "promo", URL: htmlBackend(t, body) + "/promo", HTML: true}),
		heldUntil(tile("products"), promoShown),
		tile("recommendations"),
	}
	return serveTiles(t, fs, 10*time.Second, web.Options{Views: map[string]string{"promo": web.ViewHTML}})
}

// slotsJS is how the page stands once streamed: each tile in <main> with
// its status, the products tile's heading and cards, and what is left of
// the hostile markup anywhere in the document.
const slotsJS = `(() => {
  const products = document.querySelector("main#main > [data-tile=products]");
  return {
    tiles: Array.from(document.querySelectorAll("main#main > [data-tile]"), (e) => e.dataset.tile + ":" + e.dataset.status),
    productsHeading: products?.querySelector("h2")?.textContent ?? "(no heading)",
    productCards: products?.querySelectorAll(".grid > li.product").length ?? 0,
    left: document.querySelectorAll("#stream > section, main#main > .placeholder").length,
    hostile: Array.from(document.querySelectorAll(
      'meta[http-equiv], main#main meta, [id="tile-products"]:not(main#main > *), [id="slot-products"], ' +
      '.fragment [data-tile], .fragment [data-slot], .fragment [data-status], .hijack:not(.fragment *)'),
      (e) => e.outerHTML.slice(0, 80)),
    promoText: document.querySelector("main#main > [data-tile=promo] .fragment p.promo-text")?.textContent ?? "",
    prefixed: !!document.querySelector("main#main > [data-tile=promo] .fragment > #promo-tile-products"),
  };
})()`

// slots is what slotsJS reads.
type slots struct {
	Tiles           []string `json:"tiles"`
	ProductsHeading string   `json:"productsHeading"`
	ProductCards    int      `json:"productCards"`
	Left            int      `json:"left"`
	Hostile         []string `json:"hostile"`
	PromoText       string   `json:"promoText"`
	Prefixed        bool     `json:"prefixed"`
}

func TestFragment(t *testing.T) {
	browser := startBrowser(t)

	t.Run("a hostile fragment neither navigates the page nor takes another tile's place", func(t *testing.T) {
		var visits atomic.Int32
		elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			visits.Add(1)
			fmt.Fprint(w, "<!doctype html><title>elsewhere</title>")
		}))
		t.Cleanup(elsewhere.Close)
		seen := newSightings("promo")
		url := serveFragmentPage(t, fmt.Sprintf(hostileFragment, elsewhere.URL), seen.of("promo")) + "/home"
		tb := openTab(t, browser)
		tb.do(t, "exposing __vitrineShown", chromedp.ExposeFunc("__vitrineShown", seen.see))
		tb.do(t, "navigating to "+url, chromedp.Navigate(url))
		deadline := time.Now().Add(20 * time.Second)
		for placed := false; !placed; {
			if n := visits.Load(); n > 0 {
				t.Fatalf("the fragment navigated the page elsewhere (%d visits) before it was whole", n)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page was not whole (its timing in <main>) within 20s")
			}
			var err error
			placed, err = chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`!!document.querySelector("main#main > #timing")`))
			if err != nil {
				t.Logf("waiting for the page: %v", err) // a navigation under way, seen above next time
			}
			time.Sleep(20 * time.Millisecond)
		}

		got := eval[slots](t, tb, slotsJS)
		if want := []string{"banners:ok", "promo:ok", "products:ok", "recommendations:ok"}; !slices.Equal(got.Tiles, want) {
			t.Errorf("tiles in main#main = %v; want %v", got.Tiles, want)
		}
		if got.ProductsHeading != "Featured this week" || got.ProductCards == 0 {
			t.Errorf("the products slot holds %q with %d cards; want the real products (Featured this week)",
				got.ProductsHeading, got.ProductCards)
		}
		if got.Left != 0 {
			t.Errorf("%d elements left in #stream or unfilled slots; want 0", got.Left)
		}
		if len(got.Hostile) != 0 {
			t.Errorf("hostile markup in the page: %q", got.Hostile)
		}
		if got.PromoText != "Spring sale" || !got.Prefixed {
			t.Errorf("promo shows %q (its div prefixed: %v); want its text, and its id as promo-tile-products", got.PromoText, got.Prefixed)
		}

		// A refresh of 0 s comes due once the page has loaded; give it
		// time to, then the page must still be there.
		tb.waitFor(t, `document.readyState === "complete"`, 10*time.Second)
		time.Sleep(2 * time.Second)
		if got := eval[string](t, tb, `location.href`); got != url {
			t.Errorf("the page is at %s; want it to stay at %s", got, url)
		}
		if n := visits.Load(); n != 0 {
			t.Errorf("elsewhere was visited %d times; want 0", n)
		}
		tb.checkClean(t)
	})

	t.Run("ordinary fragment markup shows as the backend wrote it", func(t *testing.T) {
		closed := make(chan struct{})
		close(closed)
		tb := openTab(t, browser)
		tb.open(t, serveFragmentPage(t, ordinaryFragment, closed)+"/home")
		got := eval[string](t, tb, `document.querySelector("main#main > [data-tile=promo] .fragment")?.innerHTML ?? "(no fragment)"`)
		// What the browser makes of the backend's markup, as it came.
		want := eval[string](t, tb, `(() => { const t = document.createElement("template"); t.innerHTML = `+
			jsString(ordinaryFragment)+`; return t.innerHTML; })()`)
		if got != want {
			t.Errorf("the fragment in the page:\n%s\nwant, as the backend wrote it:\n%s", got, want)
		}
		tb.waitImages(t)
		tb.checkClean(t)
	})
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`", "${", "\\${").Replace(s) + "`"
}
