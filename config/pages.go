package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"vitrine/upstream"
	"vitrine/web"
)

// Page is one page of the file's pages: (without it, the one page /home of every tile).
type Page struct {
	Path    string // e.g. /home, /c/{slug}; a parameter is a whole segment
	Title   string
	Tiles   []PageTile // in page order
	Primary string     // the tile that decides the page's status; "" for none
	// Params holds each parameter of Path, by name, with the anchored pattern its value must match.
	Params map[string]*regexp.Regexp
}

// PageTile is a tile on a page, as the page's layout: gives it.
type PageTile struct {
	Name  string
	View  string // "": the tile's own view
	Width string // one of web.Widths()
}

// DefaultParam is the pattern of a parameter that a page's params: does not give.
const DefaultParam = `[a-z0-9-]{1,64}`

var (
	paramName   = regexp.MustCompile(`^` + upstream.ParamName + `$`) // the names upstream fills
	placeholder = regexp.MustCompile(`\{([^{}]*)\}`)
	literal     = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// Pages are the pages c serves: the file's, else /home with every tile.
func (c Config) PageList() []Page {
	if len(c.Pages) > 0 {
		return c.Pages
	}
	home := Page{Path: "/home", Title: "Vitrine"}
	for _, t := range c.Tiles {
		home.Tiles = append(home.Tiles, PageTile{Name: t.Name, Width: "full"})
		if t.Primary {
			home.Primary = t.Name
		}
	}
	return []Page{home}
}

// Web is p as package web serves it, but for its aggregator, and the
// names of its tiles in page order.
func (p Page) Web() (web.Page, []string) {
	wp := web.Page{Path: p.Path, Title: p.Title, Primary: p.Primary, Params: p.Params,
		Views: map[string]string{}, Widths: map[string]string{}}
	var names []string
	for _, t := range p.Tiles {
		if names = append(names, t.Name); t.View != "" {
			wp.Views[t.Name] = t.View
		}
		wp.Widths[t.Name] = t.Width
	}
	return wp, names
}

// urlParams returns the parameters the tile URL raw uses, each {name} in its path.
func urlParams(raw string) ([]string, error) {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatchIndex(raw, -1) {
		name := raw[m[2]:m[3]]
		switch scheme, rest, _ := strings.Cut(raw[:m[0]], "://"); {
		case !paramName.MatchString(name):
			return nil, fmt.Errorf("{%s} is not a parameter (a-z, 0-9 and _, starting with a letter)", clip(name))
		case scheme == "" || !strings.Contains(rest, "/") || strings.ContainsAny(rest, "?#"):
			return nil, fmt.Errorf("{%s} is outside the URL's path; a parameter goes in the path", name)
		}
	}
	u, err := url.Parse(raw) // a {name} written percent-encoded is one too, as upstream reads the path
	for _, m := range placeholder.FindAllStringSubmatch(u.Path, -1) {
		if err == nil && !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names, err
}

// pageParams returns the parameters of the page path s, in order.
func pageParams(s string) ([]string, error) {
	if !strings.HasPrefix(s, "/") || s == "/" {
		return nil, fmt.Errorf("%q is not a page path (e.g. /sale, /c/{slug})", clip(s))
	}
	var names []string
	for i, seg := range strings.Split(s[1:], "/") {
		name, isParam := strings.CutPrefix(seg, "{")
		name, closed := strings.CutSuffix(name, "}")
		switch {
		case i == 0 && web.OwnRoute(seg):
			return nil, fmt.Errorf("%q is the server's own route; a page's path starts elsewhere", clip(s))
		case !isParam && literal.MatchString(seg):
			continue
		case !isParam || !closed || !paramName.MatchString(name):
			return nil, fmt.Errorf("%q: segment %q is neither a name (a-z, 0-9, ., _, -) nor a {parameter}",
				clip(s), clip(seg))
		case slices.Contains(names, name):
			return nil, fmt.Errorf("%q names {%s} twice", clip(s), name)
		}
		names = append(names, name)
	}
	return names, nil
}

// shape is a page path with its parameters' names dropped: two pages of one shape collide.
func shape(path string) string { return placeholder.ReplaceAllString(path, "{}") }

// pages reads the file's pages: once its tiles are known.
func (f *file) pages(n ast.Node) error {
	all, err := f.sequence(n, "the file's pages: lists no page; list them, or leave pages: out for /home")
	if err != nil {
		return f.fail(n, "pages", err)
	}
	for i, pn := range all {
		path := fmt.Sprintf("pages[%d]", i)
		pg, err := f.page(pn, path)
		if err != nil {
			return err
		}
		if j := slices.IndexFunc(f.p.cfg.Pages, func(e Page) bool { return shape(e.Path) == shape(pg.Path) }); j >= 0 {
			return f.fail(f.pathAt[i], path+".path", fmt.Errorf("%q is the path of pages[%d] (%s) too",
				clip(pg.Path), j, clip(f.p.cfg.Pages[j].Path)))
		}
		f.p.cfg.Pages = append(f.p.cfg.Pages, pg)
	}
	return nil
}

// page reads the page n, called path in messages.
func (f *file) page(n ast.Node, path string) (Page, error) {
	var pg Page
	keep := func(ast.Node) error { return nil } // read below, in order, once all keys are known
	at, err := f.read(n, path, "a page's", []setting{
		field("path", &pg.Path, text), field("title", &pg.Title, parseLabel), field("primary", &pg.Primary, text),
		{key: "tiles", node: keep}, {key: "params", node: keep}, {key: "layout", node: keep},
	}, func(string) {})
	switch {
	case err != nil:
		return pg, err
	case at["path"] == nil:
		return pg, f.at(start(n), path+": no path; every page needs one (e.g. /sale, /c/{slug})")
	case at["tiles"] == nil:
		return pg, f.at(start(n), path+": no tiles; list the page's tiles, in page order, under tiles:")
	}
	names, err := pageParams(pg.Path)
	if err != nil {
		return pg, f.fail(at["path"], path+".path", err)
	}
	f.pathAt = append(f.pathAt, at["path"])
	if pg.Params, err = f.params(at["params"], path+".params", names); err == nil {
		err = f.pageTiles(&pg, at["tiles"], path+".tiles")
	}
	if err == nil {
		err = f.layout(&pg, at["layout"], path+".layout")
	}
	if err != nil {
		return pg, err
	}
	if at["primary"] != nil && !slices.ContainsFunc(pg.Tiles, func(t PageTile) bool { return t.Name == pg.Primary }) {
		return pg, f.fail(at["primary"], path+".primary", fmt.Errorf("%q is not one of the page's tiles", clip(pg.Primary)))
	}
	if at["primary"] == nil {
		for _, t := range f.p.cfg.Tiles {
			if t.Primary && slices.ContainsFunc(pg.Tiles, func(pt PageTile) bool { return pt.Name == t.Name }) {
				pg.Primary = t.Name
			}
		}
	}
	return pg, nil
}

// params reads a page's params: (n nil: none), a pattern for some of names,
// and gives the others DefaultParam; each compiles anchored.
func (f *file) params(n ast.Node, path string, names []string) (map[string]*regexp.Regexp, error) {
	patterns := map[string]string{}
	if n != nil {
		pairs, err := f.pairs(n, 0)
		for i := 0; err == nil && i < len(pairs); i++ {
			kv := pairs[i]
			if !slices.Contains(names, kv.key) {
				return nil, f.at(kv.at, fmt.Sprintf("%s.%s: the path has no {%s}", path, oneLine(kv.key, 32),
					oneLine(kv.key, 32)))
			}
			err = scalar(kv.value, func(s string) error {
				if _, err := regexp.Compile(s); err != nil {
					return fmt.Errorf("%q is not a pattern: %v", clip(s), err)
				}
				patterns[kv.key] = s
				return nil
			})
			if err != nil {
				return nil, f.fail(kv.value, path+"."+kv.key, err)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	out := map[string]*regexp.Regexp{}
	for _, name := range names {
		p, ok := patterns[name]
		if !ok {
			p = DefaultParam
		}
		out[name] = regexp.MustCompile(`^(?:` + p + `)$`)
	}
	return out, nil
}

// pageTiles reads a page's tiles: names of the file's tiles, each once, whose
// URLs use only parameters of the page's path.
func (f *file) pageTiles(pg *Page, n ast.Node, path string) error {
	all, err := f.sequence(n, "lists no tiles")
	if err != nil {
		return f.fail(n, path, err)
	}
	for i, tn := range all {
		at := fmt.Sprintf("%s[%d]", path, i)
		err := scalar(tn, func(name string) error {
			j := slices.IndexFunc(f.p.cfg.Tiles, func(t Tile) bool { return t.Name == name })
			switch {
			case j < 0:
				return fmt.Errorf("%q is not one of the file's tiles", clip(name))
			case slices.ContainsFunc(pg.Tiles, func(t PageTile) bool { return t.Name == name }):
				return fmt.Errorf("%q is listed twice", name)
			}
			for _, p := range f.p.cfg.Tiles[j].Params {
				if pg.Params[p] == nil {
					return fmt.Errorf("tile %q uses {%s} in its url, but the path %s has no {%s}", name, p,
						clip(pg.Path), p)
				}
			}
			pg.Tiles = append(pg.Tiles, PageTile{Name: name, Width: "full"})
			return nil
		})
		if err != nil {
			return f.fail(tn, at, err)
		}
	}
	return nil
}

// layout reads a page's layout: (n nil: none), a mapping of its tiles'
// names to their view and width, each optional.
func (f *file) layout(pg *Page, n ast.Node, path string) error {
	if n == nil {
		return nil
	}
	pairs, err := f.pairs(n, 0)
	for i := 0; err == nil && i < len(pairs); i++ {
		kv := pairs[i]
		j := slices.IndexFunc(pg.Tiles, func(t PageTile) bool { return t.Name == kv.key })
		if j < 0 {
			return f.at(kv.at, fmt.Sprintf("%s.%s: not one of the page's tiles", path, oneLine(kv.key, 32)))
		}
		t := &pg.Tiles[j]
		var at map[string]ast.Node
		at, err = f.read(kv.value, path+"."+kv.key, "a layout's", []setting{
			field("view", &t.View, parseView), field("width", &t.Width, parseWidth)}, func(string) {})
		if err == nil && t.View != "" {
			err = f.fragmentView(*t, at["view"], path+"."+kv.key+".view")
		}
	}
	return err
}

// fragmentView refuses a layout's view that does not match what the tile
// fetches: an HTML fragment (its own view: html) only the html view draws,
// and the html view draws nothing else.
func (f *file) fragmentView(t PageTile, n ast.Node, path string) error {
	i := slices.IndexFunc(f.p.cfg.Tiles, func(c Tile) bool { return c.Name == t.Name })
	switch own := f.p.cfg.Tiles[i].View; {
	case own == web.ViewHTML && t.View != web.ViewHTML:
		return f.fail(n, path, fmt.Errorf(
			"tile %q fetches an HTML fragment (its view: html), which only the html view draws", t.Name))
	case own != web.ViewHTML && t.View == web.ViewHTML:
		return f.fail(n, path, fmt.Errorf(
			"the html view draws an HTML fragment, which tile %q does not fetch; give the tile view: html", t.Name))
	}
	return nil
}

func parseWidth(s string) (string, error) {
	if s = strings.TrimSpace(s); !slices.Contains(web.Widths(), s) {
		return "", fmt.Errorf("%q is not a width (one of %s)", clip(s), strings.Join(web.Widths(), ", "))
	}
	return s, nil
}

// checkParams refuses a tile whose URL uses a parameter when the file has no pages:, whose /home has none.
func (f *file) checkParams() error {
	if len(f.p.cfg.Pages) > 0 {
		return nil
	}
	for i, t := range f.p.cfg.Tiles {
		if len(t.Params) > 0 {
			return f.fail(f.urlAt[t.Name], fmt.Sprintf("tiles[%d].url", i),
				fmt.Errorf("uses {%s}, but without pages: the one page /home has no parameters", t.Params[0]))
		}
	}
	return nil
}

// checkParams records the parameters of each tile's URL as it is after the
// flags (-backend may set one), and refuses one a page listing the tile
// lacks, or any without pages:.
func (p *parser) checkParams() error {
	for i := range p.cfg.Tiles {
		t := &p.cfg.Tiles[i]
		var err error
		if t.Params, err = urlParams(t.URL); err != nil {
			return &Error{Flag: "-backend", Msg: t.Name + ": " + err.Error()}
		}
		pages := p.cfg.PageList()
		for _, pg := range pages {
			for _, name := range t.Params {
				if pg.Params[name] == nil && (len(p.cfg.Pages) == 0 || slices.ContainsFunc(pg.Tiles,
					func(pt PageTile) bool { return pt.Name == t.Name })) {
					return &Error{Flag: "-backend", Msg: fmt.Sprintf("%s: its url uses {%s}, but the page %s has none",
						t.Name, name, clip(pg.Path))}
				}
			}
		}
	}
	return nil
}
