package web

import (
	"fmt"
	"hash/fnv"
	"html"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"vitrine/catalogue"
	"vitrine/tiles"
)

// categoryHue gives each category its colour; others get one from a hash.
var categoryHue = map[string]int{"kitchen": 18, "outdoor": 150, "books": 265, "home": 35, "audio": 205}

// productSVG draws a product's picture: a tinted card with the product's
// initials, so that the page needs no image host and works offline.
func productSVG(p catalogue.Product) string {
	hue, ok := categoryHue[p.Category]
	if !ok {
		h := fnv.New32a()
		h.Write([]byte(p.Category))
		hue = int(h.Sum32() % 360)
	}
	var initials strings.Builder
	for _, w := range strings.Fields(p.Name) {
		if r := []rune(w)[0]; initials.Len() < 2 && r >= 'A' && r <= 'Z' {
			initials.WriteRune(r)
		}
	}
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120" viewBox="0 0 160 120" role="img" aria-label="%[1]s">`+
		`<rect width="160" height="120" fill="hsl(%[2]d,45%%,88%%)"/>`+
		`<circle cx="128" cy="24" r="40" fill="hsl(%[2]d,45%%,78%%)"/>`+
		`<rect x="16" y="84" width="72" height="8" rx="4" fill="hsl(%[2]d,35%%,70%%)"/>`+
		`<text x="16" y="68" font-family="system-ui,sans-serif" font-size="40" font-weight="700" fill="hsl(%[2]d,40%%,28%%)">%[3]s</text></svg>`,
		html.EscapeString(p.Name), hue, html.EscapeString(initials.String()))
}

func handleProductImage(cat *catalogue.Catalogue) echo.HandlerFunc {
	byID := map[string]catalogue.Product{}
	if cat != nil {
		for _, p := range cat.Products {
			byID[p.ID] = p
		}
	}
	return func(c echo.Context) error {
		id := strings.TrimSuffix(c.Param("file"), ".svg")
		p, ok := byID[id]
		if !ok {
			return tiles.Errorf(tiles.ENOTFOUND, "no product image %q; pictures are /img/products/ID.svg for a product ID from /tiles/products, e.g. /img/products/p01.svg", tiles.Clip(c.Param("file"), 64))
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		return c.Blob(http.StatusOK, "image/svg+xml", []byte(productSVG(p)))
	}
}

// handleStatic serves the embedded CSS and script with a short cache life:
// they change with each release and carry no version in their names. A
// missing file or a directory is the contract's JSON 404, not a listing.
func handleStatic(fsys fs.FS) echo.HandlerFunc {
	files := http.StripPrefix("/static/", http.FileServerFS(fsys))
	return func(c echo.Context) error {
		name := c.Param("*")
		if fi, err := fs.Stat(fsys, name); err != nil || fi.IsDir() {
			return tiles.Errorf(tiles.ENOTFOUND, "no static file %q; there are %s", tiles.Clip(name, 64), strings.Join(staticFiles(fsys), ", "))
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// staticFiles lists the embedded static files, for a 404 to suggest.
func staticFiles(fsys fs.FS) []string {
	var names []string
	_ = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, "/static/"+path)
		}
		return nil
	})
	return names
}
