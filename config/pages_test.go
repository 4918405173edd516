package config_test

import (
	"errors"
	"reflect"
	"testing"

	"vitrine/config"
)

const pagesFile = `tiles:
  - name: banners
  - name: category
    url: http://localhost:9000/category/{slug}
    primary: true
  - name: recommendations
pages:
  - path: /home
    title: Home
    tiles: [banners, recommendations]
  - path: /c/{slug}
    title: Category
    tiles: [banners, category, recommendations]
    params: {slug: "[a-z]{2,32}"}
    layout:
      category: {view: products, width: half}
      recommendations: {width: row}
`

// TestParsePages: the file's pages, their tiles in page order, layouts,
// parameters compiled anchored, and the tile-level primary as the default.
func TestParsePages(t *testing.T) {
	cfg, err := config.Parse([]string{"-config", writeConfig(t, pagesFile)}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Tiles[1].Params; !reflect.DeepEqual(got, []string{"slug"}) {
		t.Errorf("category's Params = %v; want [slug]", got)
	}
	if cfg.Tiles[0].Params != nil {
		t.Errorf("banners' Params = %v; want none", cfg.Tiles[0].Params)
	}
	pages := cfg.PageList()
	if len(pages) != 2 || pages[0].Path != "/home" || pages[0].Primary != "" || pages[0].Params != nil {
		t.Fatalf("pages = %+v; want /home without a primary or parameters, then /c/{slug}", pages)
	}
	c := pages[1]
	want := []config.PageTile{{Name: "banners", Width: "full"}, {Name: "category", View: "products", Width: "half"},
		{Name: "recommendations", Width: "row"}}
	if c.Title != "Category" || c.Primary != "category" || !reflect.DeepEqual(c.Tiles, want) {
		t.Errorf("page = %+v; want the title Category, primary category and tiles %+v", c, want)
	}
	wp, names := c.Web()
	if wantNames := []string{"banners", "category", "recommendations"}; !reflect.DeepEqual(names, wantNames) ||
		wp.Path != "/c/{slug}" || wp.Title != "Category" || wp.Primary != "category" || wp.Params["slug"] != c.Params["slug"] ||
		!reflect.DeepEqual(wp.Views, map[string]string{"category": "products"}) ||
		!reflect.DeepEqual(wp.Widths, map[string]string{"banners": "full", "category": "half", "recommendations": "row"}) {
		t.Errorf("Web() = %+v, %v; want the page's path, title, primary, parameters, views and widths, and its tiles in order", wp, names)
	}
	for value, ok := range map[string]bool{"outdoor": true, "x": false, "outdoor1": false, "a/outdoor": false,
		"outdoorx\n": false} {
		if got := c.Params["slug"].MatchString(value); got != ok {
			t.Errorf("slug matches %q: %v; want %v", value, got, ok)
		}
	}
}

// TestPageListWithoutPages: without pages: the one page is /home with every tile, in order.
func TestPageListWithoutPages(t *testing.T) {
	path := writeConfig(t, "tiles:\n  - name: banners\n  - name: products\n    primary: true\n")
	cfg, err := config.Parse([]string{"-config", path}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []config.Page{{Path: "/home", Title: "Vitrine", Primary: "products",
		Tiles: []config.PageTile{{Name: "banners", Width: "full"}, {Name: "products", Width: "full"}}}}
	if cfg.Pages != nil || !reflect.DeepEqual(cfg.PageList(), want) {
		t.Errorf("Pages = %+v, PageList = %+v; want none and %+v", cfg.Pages, cfg.PageList(), want)
	}
	def := config.DefaultParam
	if def != "[a-z0-9-]{1,64}" {
		t.Errorf("DefaultParam = %q", def)
	}
}

// TestParsePagesBackendFlag: -backend may set a URL that uses a parameter
// on the tiles of a page that has it, and its Params follow the flag.
func TestParsePagesBackendFlag(t *testing.T) {
	path := writeConfig(t, pagesFile)
	cfg, err := config.Parse([]string{"-config", path, "-backend", "banners=http://x/b/{slug}"}, env(nil))
	var ce *config.Error
	if want := "-backend: banners: its url uses {slug}, but the page /home has none"; !errors.As(err, &ce) ||
		err.Error() != want {
		t.Errorf("banners on /home with {slug}: %v; want %s", err, want)
	}
	cfg, err = config.Parse([]string{"-config", path, "-backend", "category=http://x/c"}, env(nil))
	if err != nil || cfg.Tiles[1].Params != nil {
		t.Errorf("category without {slug}: %v, Params %v; want none", err, cfg.Tiles[1].Params)
	}
	_, err = config.Parse([]string{"-backend", "banners=http://x/b/{slug}"}, env(nil))
	if want := "-backend: banners: its url uses {slug}, but the page /home has none"; err == nil ||
		err.Error() != want {
		t.Errorf("without a file: %v; want %s", err, want)
	}
}

func TestParsePagesErrors(t *testing.T) {
	const tilesKey = "tiles:\n  - name: banners\n  - name: category\n    url: http://x/category/{slug}\n"
	tests := []struct{ name, file, want string }{
		{name: "unknown tile", file: tilesKey + "pages:\n  - path: /sale\n    tiles: [banners, weather]\n",
			want: `FILE:7:22: pages[0].tiles[1]: "weather" is not one of the file's tiles`},
		{name: "same path twice", file: tilesKey + "pages:\n  - path: /sale\n    tiles: [banners]\n" +
			"  - path: /sale\n    tiles: [banners]\n",
			want: `FILE:8:11: pages[1].path: "/sale" is the path of pages[0] (/sale) too`},
		{name: "same path under other parameter names", file: tilesKey + "pages:\n  - path: /c/{slug}\n" +
			"    tiles: [banners]\n  - path: /c/{name}\n    tiles: [banners]\n",
			want: `FILE:8:11: pages[1].path: "/c/{name}" is the path of pages[0] (/c/{slug}) too`},
		{name: "parameter missing from the path", file: tilesKey + "pages:\n  - path: /sale\n" +
			"    tiles: [banners, category]\n",
			want: `FILE:7:22: pages[0].tiles[1]: tile "category" uses {slug} in its url, but the path /sale has no {slug}`},
		{name: "bad pattern", file: tilesKey + "pages:\n  - path: /c/{slug}\n    tiles: [category]\n" +
			"    params: {slug: \"[a-z\"}\n",
			want: `FILE:8:20: pages[0].params.slug: "[a-z" is not a pattern: error parsing regexp: ` +
				"missing closing ]: `[a-z`"},
		{name: "pattern for no parameter", file: tilesKey + "pages:\n  - path: /c/{slug}\n    tiles: [category]\n" +
			"    params: {id: \"[0-9]+\"}\n",
			want: `FILE:8:14: pages[0].params.id: the path has no {id}`},
		{name: "parameter without pages", file: tilesKey,
			want: `FILE:4:10: tiles[1].url: uses {slug}, but without pages: the one page /home has no parameters`},
		{name: "parameter outside the url's path", file: "tiles:\n  - name: c\n    url: http://x/c?s={slug}\n",
			want: `FILE:3:10: tiles[0].url: {slug} is outside the URL's path; a parameter goes in the path`},
		{name: "primary not on the page", file: tilesKey + "pages:\n  - path: /sale\n    tiles: [banners]\n" +
			"    primary: category\n",
			want: `FILE:8:14: pages[0].primary: "category" is not one of the page's tiles`},
		{name: "bad path", file: tilesKey + "pages:\n  - path: /c/{slug\n    tiles: [banners]\n",
			want: `FILE:6:11: pages[0].path: "/c/{slug": segment "{slug" is neither a name (a-z, 0-9, ., _, -) nor a {parameter}`},
		{name: "a route of the server's", file: tilesKey + "pages:\n  - path: /tiles/x\n    tiles: [banners]\n",
			want: `FILE:6:11: pages[0].path: "/tiles/x" is the server's own route; a page's path starts elsewhere`},
		{name: "layout of a tile not on the page", file: tilesKey + "pages:\n  - path: /sale\n    tiles: [banners]\n" +
			"    layout: {category: {width: half}}\n",
			want: `FILE:8:14: pages[0].layout.category: not one of the page's tiles`},
		{name: "bad width", file: tilesKey + "pages:\n  - path: /sale\n    tiles: [banners]\n" +
			"    layout: {banners: {width: wide}}\n",
			want: `FILE:8:31: pages[0].layout.banners.width: "wide" is not a width (one of full, half, third, row)`},
		{name: "the html view for a JSON tile", file: tilesKey + "pages:\n  - path: /sale\n    tiles: [banners]\n" +
			"    layout: {banners: {view: html}}\n",
			want: `FILE:8:30: pages[0].layout.banners.view: the html view draws an HTML fragment, which tile "banners" does not fetch; give the tile view: html`},
		{name: "another view for an HTML tile", file: "tiles:\n  - name: promo\n    url: http://x/promo\n    view: html\n" +
			"pages:\n  - path: /sale\n    tiles: [promo]\n    layout: {promo: {view: json}}\n",
			want: `FILE:8:28: pages[0].layout.promo.view: tile "promo" fetches an HTML fragment (its view: html), which only the html view draws`},
		{name: "no tiles", file: tilesKey + "pages:\n  - path: /sale\n",
			want: `FILE:6:5: pages[0]: no tiles; list the page's tiles, in page order, under tiles:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file)
			_, err := config.Parse([]string{"-config", path}, env(nil))
			checkFileError(t, err, path, tt.want)
		})
	}
}
