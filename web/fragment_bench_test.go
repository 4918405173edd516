package web

import (
	"strings"
	"testing"

	"vitrine/tiles/tilestest"
)

// typicalFragment is about 2 KiB of what a content backend sends: a
// heading, a paragraph with links, a list of offers with pictures, a table.
var typicalFragment = func() string {
	var b strings.Builder
	b.WriteString(`<section class="promo" id="spring"><h3>Spring sale</h3>` +
		`<p class="lead">Up to <strong>30%</strong> off <a href="/c/kitchen">kitchen</a> and <a href="/c/trail">trail</a>.</p><ul class="offers">`)
	for i := range 8 {
		b.WriteString(`<li class="offer" data-sku="sku-` + string(rune('a'+i)) + `"><figure>` +
			`<img src="/img/offer.png" alt="A kettle in brushed steel" width="160" height="120" loading="lazy">` +
			`<figcaption><a href="/p/kettle">Kettle</a>, <em>now €39.90</em></figcaption></figure></li>`)
	}
	b.WriteString(`</ul><table><tbody><tr><th>Ends</th><td>Sunday</td></tr></tbody></table></section>`)
	return b.String()
}()

// BenchmarkHTMLFragment measures what the html view costs per tile: the
// sanitiser alone, and the whole of htmlFragment (sanitised, balanced,
// scrubbed and written back).
func BenchmarkHTMLFragment(b *testing.B) {
	raw := tilestest.String(typicalFragment)
	b.Run("sanitise", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fragmentPolicy.Sanitize(typicalFragment)
		}
		b.ReportMetric(float64(len(typicalFragment)), "bytes/fragment")
	})
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := htmlFragment("promo", raw); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(typicalFragment)), "bytes/fragment")
	})
	b.Run("cached", func(b *testing.B) { // what a page pays for a fragment it has drawn before
		f := newFragments()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.read("promo", raw); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(typicalFragment)), "bytes/fragment")
	})
}
