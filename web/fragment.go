package web

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"strings"

	"github.com/maypok86/otter/v2"
	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// fragmentPolicy is the allow-list every HTML fragment passes (htmlFragment):
// text, headings, lists, tables, figures, links and images with http(s),
// mailto or relative URLs, classes, ids, a few aria-* and the data-*
// attributes. All else goes, with its content where it is code (script,
// style, iframe, object): meta, base, link, embed, forms, event and style
// attributes, javascript: URLs. A Policy is safe for concurrent use.
var fragmentPolicy = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(true)
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowElements("article", "aside", "section", "div", "p", "span", "br", "hr", "wbr",
		"h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "blockquote", "pre", "code",
		"b", "i", "u", "s", "em", "strong", "small", "mark", "sub", "sup", "abbr", "cite", "dfn",
		"kbd", "q", "samp", "var", "del", "ins", "details", "summary", "time")
	p.AllowLists()
	p.AllowTables()
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("src", "alt").OnElements("img")
	p.AllowAttrs("width", "height").Matching(bluemonday.NumberOrPercent).OnElements("img")
	p.AllowAttrs("loading").Matching(regexp.MustCompile(`^(lazy|eager)$`)).OnElements("img")
	p.AllowAttrs("cite").OnElements("blockquote", "q", "del", "ins")
	p.AllowAttrs("datetime").Matching(bluemonday.ISO8601).OnElements("time", "del", "ins")
	p.AllowAttrs("open").Matching(regexp.MustCompile(`^(|open)$`)).OnElements("details")
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).Globally()
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[\w:.-]+$`)).Globally()
	p.AllowAttrs("aria-labelledby", "aria-describedby").Matching(bluemonday.SpaceSeparatedTokens).Globally()
	p.AllowAttrs("aria-hidden").Matching(regexp.MustCompile(`^(true|false)$`)).Globally()
	p.AllowAttrs("title", "aria-label", "lang").Globally()
	p.AllowDataAttributes()
	return p
}()

// pageData are the data attributes the page's own elements carry and its
// script or its tests key on: a fragment may not carry them.
var pageData = map[string]bool{"data-tile": true, "data-slot": true, "data-status": true, "data-retry": true,
	"data-elapsed-ms": true, "data-placed-ms": true, "data-user": true, "data-total-ms": true, "data-trace-id": true}

// htmlFragment returns the markup of tile name drawn with the "html" view: a
// JSON string holding a fragment, which is content and never control. It is
// sanitised first (fragmentPolicy), then parsed and written back as a
// browser reads it, so that no unclosed element or stray end tag the
// sanitiser let through can leave the tile's slot or swallow what follows:
// balancing last is what guarantees that, since a sanitiser works on tags,
// not on the tree. Ids, and the references to them, get the tile's name as
// a prefix, so that they stay unique on the page while in-fragment links
// and labels still work; the page's script finds nothing by id.
func htmlFragment(name string, raw json.RawMessage) (template.HTML, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("html view: data is not a JSON string: %w", err)
	}
	slot := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(fragmentPolicy.Sanitize(s)), slot)
	if err != nil {
		return "", fmt.Errorf("html view: %w", err)
	}
	var b strings.Builder
	for _, n := range nodes {
		if scrub(n, name+"-") {
			continue
		}
		if err := html.Render(&b, n); err != nil {
			return "", fmt.Errorf("html view: %w", err)
		}
	}
	return template.HTML(b.String()), nil
}

// scrub prefixes the ids under n, and the in-fragment references to them,
// with prefix, drops the page's data attributes (pageData) and the
// <plaintext> elements (html.Render leaves one open), and reports whether n
// is one.
func scrub(n *html.Node, prefix string) bool {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if scrub(c, prefix) {
			n.RemoveChild(c)
		}
		c = next
	}
	if n.Type != html.ElementNode {
		return false
	}
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		switch {
		case pageData[a.Key]:
			continue
		case a.Key == "id":
			a.Val = prefix + a.Val
		case a.Key == "href" && strings.HasPrefix(a.Val, "#") && len(a.Val) > 1:
			a.Val = "#" + prefix + a.Val[1:]
		case a.Key == "aria-labelledby" || a.Key == "aria-describedby" || a.Key == "headers":
			ids := strings.Fields(a.Val)
			for i := range ids {
				ids[i] = prefix + ids[i]
			}
			a.Val = strings.Join(ids, " ")
		}
		kept = append(kept, a)
	}
	n.Attr = kept
	return n.DataAtom == atom.Plaintext
}

// fragmentCacheBytes bounds the sanitised fragments a server keeps.
const fragmentCacheBytes = 4 << 20

// fragments holds the markup htmlFragment made of the fragments seen
// lately, by tile and the SHA-256 of the data: sanitising costs several
// times what the rest of a page does, and a tile served from its cache
// brings the same fragment page after page. The tile's name is in the key
// because it prefixes the fragment's ids.
type fragments struct {
	c *otter.Cache[fragmentKey, template.HTML]
}

type fragmentKey struct {
	name string
	sum  [sha256.Size]byte
}

func newFragments() *fragments {
	return &fragments{c: otter.Must(&otter.Options[fragmentKey, template.HTML]{
		MaximumWeight: fragmentCacheBytes,
		Weigher:       func(k fragmentKey, v template.HTML) uint32 { return uint32(len(k.name) + sha256.Size + len(v)) },
		Executor:      func(fn func()) { fn() }, // maintenance inline: no goroutine
	})}
}

// read is htmlFragment(name, raw), made once per tile and data.
func (f *fragments) read(name string, raw json.RawMessage) (any, error) {
	key := fragmentKey{name: name, sum: sha256.Sum256(raw)}
	if h, ok := f.c.GetIfPresent(key); ok {
		return h, nil
	}
	h, err := htmlFragment(name, raw)
	if err == nil {
		f.c.Set(key, h)
	}
	return h, err
}
