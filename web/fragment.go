package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlFragment returns the markup of a tile drawn with the "html" view: its
// data is a JSON string holding an HTML fragment, inserted unescaped since
// the operator chose to trust that backend with the page's markup. It still
// cannot run script: the page's CSP allows no inline script without the
// page's fresh nonce. Nor can it break the page: the fragment is parsed
// and written back as the browser would read it, so an unclosed element,
// a stray end tag or an unterminated attribute cannot leave the tile's
// slot, swallow what follows, or turn the rest into text (<plaintext>).
func htmlFragment(raw json.RawMessage) (template.HTML, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("html view: data is not a JSON string: %w", err)
	}
	slot := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(s), slot)
	if err != nil {
		return "", fmt.Errorf("html view: %w", err)
	}
	var b strings.Builder
	for _, n := range nodes {
		if dropPlaintext(n) {
			continue
		}
		if err := html.Render(&b, n); err != nil {
			return "", fmt.Errorf("html view: %w", err)
		}
	}
	return template.HTML(b.String()), nil
}

// dropPlaintext removes the <plaintext> elements under n and reports
// whether n is one: html.Render leaves one open.
func dropPlaintext(n *html.Node) bool {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if dropPlaintext(c) {
			n.RemoveChild(c)
		}
		c = next
	}
	return n.Type == html.ElementNode && n.DataAtom == atom.Plaintext
}
