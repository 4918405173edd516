package config

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"vitrine/tiles"
)

// Forward is a tile's forward: key, what it receives of the shopper's
// request (deny by default), and MaxValues: how many distinct combinations
// of forwarded values it caches (0: resilience.DefaultForwardMax); past that
// a new one is fetched uncached.
type Forward struct {
	tiles.Forward
	MaxValues int
}

// neverForwarded are headers no tile receives: hop-by-hop ones, and those
// that carry every cookie or credential (name cookies to forward them).
var neverForwarded = []string{"Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Authorization", "Cookie", "Host"}

// parseForwardHeader checks a header a tile may receive, canonical.
func parseForwardHeader(s string) (string, error) {
	name, err := parseToken(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	name = http.CanonicalHeaderKey(name)
	for _, bad := range neverForwarded {
		if name == bad || strings.HasPrefix(name, "Proxy-") {
			return "", fmt.Errorf("%s is never forwarded: hop-by-hop headers, Authorization and Cookie stay "+
				"with Vitrine (name cookies under cookies:)", name)
		}
	}
	return name, nil
}

// parseForwardUser parses user: query:NAME or header:NAME.
func parseForwardUser(s string) (string, error) {
	how, name, _ := strings.Cut(strings.TrimSpace(s), ":")
	switch how {
	case "query":
		if name != "user" {
			return "", fmt.Errorf("%q: the id goes as the query parameter user (query:user)", clip(s))
		}
		return "", nil
	case "header":
		return parseForwardHeader(name)
	}
	return "", fmt.Errorf("%q is not how the id reaches the tile (header:NAME, or query:user)", clip(s))
}

// forward reads tile t's forward:, called path in messages, and sets *user
// to its user: if it has one.
func (f *file) forward(n ast.Node, path string, t *Tile, user *ast.Node) error {
	fw := &t.Forward
	names := func(key string, to *[]string, parse func(string) (string, error)) setting {
		return setting{key: key, node: func(n ast.Node) error {
			return f.each(n, path+"."+key, func(s string) error {
				v, err := parse(s)
				*to = append(*to, v)
				return err
			})
		}}
	}
	at, err := f.read(n, path, "forward's", []setting{
		names("headers", &fw.Headers, parseForwardHeader),
		names("cookies", &fw.Cookies, parseToken),
		names("query", &fw.Query, parseWord),
		field("user", &fw.UserHeader, parseForwardUser),
		field("max-values", &fw.MaxValues, func(s string) (int, error) {
			if n, err := parseCount(s); err != nil || n == 0 {
				return 0, fmt.Errorf("%q is not a whole number > 0", clip(s))
			}
			return parseCount(s)
		}),
	}, func(string) {})
	*user = at["user"]
	return err
}

// checkForward refuses a user: or cookies: of a tile that is not
// personalised: only a personalised tile is cached per shopper.
func (f *file) checkForward(t Tile, path string, at map[string]ast.Node, user ast.Node) error {
	what := "the shopper's id"
	if user == nil && len(t.Forward.Cookies) > 0 {
		what, user = "cookies", at["forward"]
	}
	if user == nil || t.personalised() {
		return nil
	}
	return f.fail(user, path+".forward", fmt.Errorf("this tile is not personalised, so it never "+
		"receives %s; set personalised: true to send them", what))
}

// personalised is whether t is personalised once filled: as given, else a
// built-in tile's default.
func (t Tile) personalised() bool {
	t.fill()
	return t.Personalised
}

// checkCredentials refuses a tile that forwards the identity's credential
// (its header or cookie): the id reaches a tile only by forward.user.
func (p *parser) checkCredentials() error {
	id := p.cfg.Identity
	for i, t := range p.cfg.Tiles {
		bad := ""
		switch {
		case id.Header != "" && slices.Contains(t.Forward.Headers, http.CanonicalHeaderKey(id.Header)):
			bad = "header " + http.CanonicalHeaderKey(id.Header)
		case id.Cookie != "" && slices.Contains(t.Forward.Cookies, id.Cookie):
			bad = "cookie " + id.Cookie
		case id.TokenCookie != "" && slices.Contains(t.Forward.Cookies, id.TokenCookie):
			bad = "cookie " + id.TokenCookie
		}
		if bad != "" {
			return &Error{Flag: "-config", File: p.cfg.File, Msg: fmt.Sprintf("tiles[%d].forward: the %s carries "+
				"the shopper's identity and is never forwarded; a personalised tile gets the id by forward.user", i, bad)}
		}
	}
	return nil
}
