package web

// Tests of what an HTML-fragment tile may put on the page: content, never
// control (fragmentPolicy, scrub).

import (
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"vitrine/tiles/tilestest"
)

// ordinaryFragment is the markup a content backend sends, written as
// html.Render writes it back: it must come through byte for byte.
const ordinaryFragment = `<section class="promo"><h3>Spring sale</h3>` +
	`<p class="lead" title="Until Sunday" lang="en">Up to <strong>30%</strong> off <a href="/c/kitchen">kitchen</a>, ` +
	`<a href="https://shop.example/c/trail?x=1&amp;y=2">trail</a> and <a href="mailto:help@shop.example">help</a>.</p>` +
	`<ul class="offers"><li data-sku="k1" aria-label="A kettle"><figure>` +
	`<img src="/img/kettle.png" alt="Kettle: €39.90" width="160" height="120" loading="lazy"/>` +
	`<figcaption><em>now</em> <b>€39.90</b></figcaption></figure></li><li><del>€49</del> <ins>€39</ins></li></ul>` +
	`<ol><li>one</li></ol><dl><dt>Ends</dt><dd><time datetime="2026-12-06">Sunday</time></dd></dl>` +
	`<h4>Sizes</h4><table><tbody><tr><th>S</th><td colspan="2">38</td></tr></tbody></table>` +
	`<blockquote>“Lovely.”</blockquote><hr/><details><summary>Terms</summary><p>Mainland only.</p></details></section>`

func TestHTMLFragmentPolicy(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ordinary markup is unchanged", ordinaryFragment, ordinaryFragment},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=http://elsewhere/"><p>a</p>`, `<p>a</p>`},
		{"base", `<base href="http://elsewhere/"><a href="/x">x</a>`, `<a href="/x">x</a>`},
		{"link", `<link rel="stylesheet" href="http://elsewhere/x.css"><link rel="prefetch" href="/y">a`, `a`},
		{"script", `a<script>document.title="pwned"</script><script src="/x.js"></script>`, `a`},
		{"style element and attribute", `<style>main{display:none}</style><p style="position:fixed">a</p>`, `<p>a</p>`},
		{"iframe", `<iframe src="http://elsewhere/"><p>in</p></iframe>a`, `a`},
		{"object and embed", `<object data="/x.swf"><param name="a" value="b"></object><embed src="/x.swf">a`, `a`},
		{"form, input and button", `<form action="http://elsewhere/"><input name="card"><button formaction="/x">Pay</button>` +
			`<select><option>1</option></select><textarea>t</textarea></form>`, `Pay1t`},
		{"event attributes", `<img src="/x.png" alt="x" onerror="alert(1)"><p onclick="a()" ONMOUSEOVER="b()">p</p>`,
			`<img src="/x.png" alt="x"/><p>p</p>`},
		{"javascript: and data: URLs", `<a href="javascript:alert(1)">a</a><a href=" JaVaScRiPt:alert(1)">b</a>` +
			`<a href="data:text/html,x">c</a><img src="javascript:alert(1)" alt="d">`, `abc<img alt="d"/>`},
		{"svg and math", `<svg onload="alert(1)"><script>alert(2)</script></svg><math><mi>x</mi></math>`, `x`},
		{"noscript ends where a browser ends it, and what follows is sanitised",
			`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`, `<img src="x"/>&#34;&gt;`},
		{"the page's data attributes are dropped, others kept",
			`<div data-tile="products" data-status="ok" data-slot="products" data-retry="products" data-elapsed-ms="1" ` +
				`data-sku="k1">x</div>`,
			`<div data-sku="k1">x</div>`},
		{"ids and the references to them take the tile's name",
			`<div id="tile-products"><h3 id="t">T</h3><a href="#t">top</a><p aria-labelledby="t u">x</p>` +
				`<table><tbody><tr><th id="h">H</th><td headers="h">1</td></tr></tbody></table></div>`,
			`<div id="promo-tile-products"><h3 id="promo-t">T</h3><a href="#promo-t">top</a><p aria-labelledby="promo-t promo-u">x</p>` +
				`<table><tbody><tr><th id="promo-h">H</th><td headers="promo-h">1</td></tr></tbody></table></div>`},
		{"an id that is not a word is dropped", `<p id="a b">x</p><p id="">y</p>`, `<p>x</p><p>y</p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := htmlFragment("promo", tilestest.String(tt.in))
			if err != nil {
				t.Fatalf("htmlFragment: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("htmlFragment(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzHTMLFragment holds htmlFragment to its contract on any input: in the
// page, what it writes stays inside its slot, holds no element or
// attribute that is control rather than content, and every id is the
// tile's.
func FuzzHTMLFragment(f *testing.F) {
	for _, s := range []string{ordinaryFragment, `<div><b>open`, `</section></div><p>in`, `<p>a</p><plaintext><p>b`,
		`<img src="/x.png" alt="`, `<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
		`<svg><style><img src=x onerror=alert(1)></style></svg>`, `<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
		`<a href="&#106;avascript:alert(1)">x</a>`, `<table><td id=x><a href=#x data-tile=t>`, `<template><script>x</script></template>`} {
		f.Add(s)
	}
	forbidden := map[string]bool{"script": true, "style": true, "meta": true, "base": true, "link": true, "iframe": true,
		"object": true, "embed": true, "form": true, "input": true, "button": true, "select": true, "textarea": true,
		"svg": true, "math": true, "plaintext": true, "noscript": true, "template": true, "frame": true, "xmp": true}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := htmlFragment("promo", tilestest.String(s))
		if err != nil {
			t.Skip() // not a JSON string once quoted: cannot happen, but not this test's concern
		}
		page := parseHTML(t, `<section id="slot"><div class="fragment">`+string(got)+`</div></section><p id="after"></p>`)
		after := findAll(page, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == "after" })
		if len(after) != 1 || after[0].Parent.Data != "body" {
			t.Fatalf("htmlFragment(%q) = %q: what follows the slot is no longer after it", s, got)
		}
		frag := findAll(page, hasClass("fragment"))[0]
		for n := range frag.Descendants() {
			if n.Type != html.ElementNode {
				continue
			}
			if forbidden[n.Data] {
				t.Fatalf("htmlFragment(%q) = %q: has a <%s>", s, got, n.Data)
			}
			for _, a := range n.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case strings.HasPrefix(a.Key, "on"), a.Key == "style", pageData[a.Key],
					a.Key == "id" && !strings.HasPrefix(a.Val, "promo-"),
					(a.Key == "href" || a.Key == "src") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:")):
					t.Fatalf("htmlFragment(%q) = %q: <%s %s=%q>", s, got, n.Data, a.Key, a.Val)
				}
			}
		}
	})
}

// TestFragmentsCached: the html view's cache gives what htmlFragment
// gives, keeps one entry per tile and data, and never serves one tile's
// markup (its ids prefixed with its name) for another's, nor one data's
// for another's.
func TestFragmentsCached(t *testing.T) {
	f := newFragments()
	a, b := tilestest.String(`<p id="x">A</p>`), tilestest.String(`<p id="x">B</p>`)
	for _, tt := range []struct {
		name string
		raw  json.RawMessage
		size int // entries after the read
	}{
		{"promo", a, 1}, {"promo", a, 1}, {"promo", b, 2}, {"other", a, 3}, {"promo", a, 3},
	} {
		got, err := f.read(tt.name, tt.raw)
		want, werr := htmlFragment(tt.name, tt.raw)
		if err != nil || werr != nil || got != want {
			t.Errorf("read(%s, %s) = %q, %v; want %q, %v", tt.name, tt.raw, got, err, want, werr)
		}
		if n := f.c.EstimatedSize(); n != tt.size {
			t.Errorf("after read(%s, %s): %d entries; want %d", tt.name, tt.raw, n, tt.size)
		}
	}
	if _, err := f.read("promo", json.RawMessage(`{"not":"a string"}`)); err == nil || f.c.EstimatedSize() != 3 {
		t.Errorf("data that is no fragment: err %v, %d entries; want an error and nothing kept", err, f.c.EstimatedSize())
	}
}
