package web

import (
	"net/url"
	"regexp"

	"github.com/labstack/echo/v4"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// Page is a page the server serves besides the tiles' own routes: its
// path, the aggregator over its tiles, in page order, and the one whose
// status is the page's.
type Page struct {
	Path    string // e.g. /c/{slug}: each {name} a whole segment
	Title   string // the HTML page's
	Agg     *aggregator.Aggregator
	Primary string // "" for none
	// Params holds each parameter of Path with the anchored pattern its
	// value must match: one that does not is a 404 before any backend is asked.
	Params map[string]*regexp.Regexp
	Views  map[string]string // the page's own views of its tiles, over Options.Views
	// Widths holds each tile's width on a wide screen, one of Widths();
	// none: the homepage's fixed layout, every tile the whole row.
	Widths map[string]string
}

var paramSegment = regexp.MustCompile(`\{([^{}/]+)\}`)

// echoPath is path as an Echo route: /c/{slug} is /c/:slug.
func echoPath(path string) string { return paramSegment.ReplaceAllString(path, ":$1") }

// pageParams reads the page's parameters from c's path, each decoded once;
// a value that does not match its pattern is ENOTFOUND.
func pageParams(c echo.Context, patterns map[string]*regexp.Regexp) (map[string]string, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	values := make(map[string]string, len(patterns))
	for name, re := range patterns {
		v := c.Param(name)
		if c.Request().URL.RawPath != "" { // routed on the raw path (routeOnDecodedPath): decode
			var err error
			if v, err = url.PathUnescape(v); err != nil {
				return nil, notFound(c)
			}
		}
		if !re.MatchString(v) {
			return nil, notFound(c)
		}
		values[name] = v
	}
	return values, nil
}

// queryParams reads the parameters of /tiles/NAME, for a page's retry
// link: each query value of a page parameter's name must match a pattern
// of that name on some page, else ENOTFOUND.
func queryParams(c echo.Context, pages []Page) (map[string]string, error) {
	var values map[string]string
	q := c.QueryParams()
	for _, p := range pages {
		for name := range p.Params {
			v, ok := q[name]
			if !ok || values[name] != "" {
				continue
			}
			if !matchesAny(pages, name, v[0]) {
				return nil, notFound(c)
			}
			if values == nil {
				values = map[string]string{}
			}
			values[name] = v[0]
		}
	}
	return values, nil
}

func matchesAny(pages []Page, name, v string) bool {
	for _, p := range pages {
		if re := p.Params[name]; re != nil && re.MatchString(v) {
			return true
		}
	}
	return false
}

// notFound is the 404 of a page parameter that does not match: the path is
// named clipped, since the value can be anything.
func notFound(c echo.Context) error {
	return tiles.Errorf(tiles.ENOTFOUND, "no such page %s", tiles.Clip(c.Request().URL.EscapedPath(), 80))
}
