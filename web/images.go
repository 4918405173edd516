package web

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"html"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"vitrine/catalogue"
	"vitrine/tiles"
)

// categoryHue gives each category its colour; others get one from a hash.
var categoryHue = map[string]int{"kitchen": 18, "outdoor": 150, "books": 265, "home": 35, "audio": 205}

// productSVG draws a product's picture: a tinted card with its initials.
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
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120" viewBox="0 0 160 120" `+
		`role="img" aria-label="%[1]s"><rect width="160" height="120" fill="hsl(%[2]d,45%%,88%%)"/>`+
		`<circle cx="128" cy="24" r="40" fill="hsl(%[2]d,45%%,78%%)"/>`+
		`<rect x="16" y="84" width="72" height="8" rx="4" fill="hsl(%[2]d,35%%,70%%)"/>`+
		`<text x="16" y="68" font-family="system-ui,sans-serif" font-size="40" font-weight="700" `+
		`fill="hsl(%[2]d,40%%,28%%)">%[3]s</text></svg>`,
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
		file := pathParam(c, "/img/products/")
		id, isSVG := strings.CutSuffix(file, ".svg")
		p, ok := byID[id]
		if !isSVG || !ok {
			return tiles.Errorf(tiles.ENOTFOUND, "no product image %q; pictures are /img/products/ID.svg for a "+
				"product ID from /tiles/products, e.g. /img/products/p01.svg", tiles.Clip(file, 64))
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		return c.Blob(http.StatusOK, "image/svg+xml", []byte(productSVG(p)))
	}
}

// handleStatic serves the embedded CSS and script with a short cache life
// (their names carry no version), through http.ServeContent, whose
// text/plain errors become JSON. A directory is a 404, not a listing.
func handleStatic(fsys fs.FS) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := pathParam(c, "/static/")
		content, err := fs.ReadFile(fsys, name) // refuses "", "..", a directory and the like
		if err != nil {
			return noStaticFile(fsys, name)
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		w := &errorCatcher{ResponseWriter: c.Response()}
		// Embedded files have no modification time: no Last-Modified.
		http.ServeContent(w, c.Request(), name, time.Time{}, bytes.NewReader(content))
		size := len(content)
		switch r := c.Request(); w.status {
		case 0:
			return nil
		case http.StatusRequestedRangeNotSatisfiable:
			// ServeContent has set Content-Range: bytes */SIZE, as RFC 9110 asks.
			return echo.NewHTTPError(w.status, fmt.Sprintf("range %q cannot be served from /static/%s, which is "+
				"%d bytes: ask for bytes within 0-%d, or send no Range for the whole file",
				tiles.Clip(r.Header.Get("Range"), 64), name, size, size-1))
		case http.StatusPreconditionFailed:
			return echo.NewHTTPError(w.status, fmt.Sprintf("If-Match %q does not match /static/%s, which has no "+
				"ETag; send the request without If-Match", tiles.Clip(r.Header.Get("If-Match"), 64), name))
		default:
			if w.status >= 500 {
				return fmt.Errorf("serving static file %s: status %d", name, w.status)
			}
			return echo.NewHTTPError(w.status, strings.ToLower(http.StatusText(w.status)))
		}
	}
}

// noStaticFile is the 404 of a static file, listing those there are.
func noStaticFile(fsys fs.FS, name string) error {
	var names []string
	_ = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, "/static/"+path)
		}
		return nil
	})
	return tiles.Errorf(tiles.ENOTFOUND, "no static file %q; there are %s", tiles.Clip(name, 64),
		strings.Join(names, ", "))
}

// errorCatcher passes a response through unless its status is 400 or more:
// then it keeps the status for the error handler and sends nothing.
type errorCatcher struct {
	http.ResponseWriter
	status int // the error status held back; 0 if none
}

func (w *errorCatcher) WriteHeader(code int) {
	if code >= 400 {
		w.status = code
		w.Header().Del("Content-Type") // http.Error's text/plain
		w.Header().Del("Cache-Control")
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *errorCatcher) Write(b []byte) (int, error) {
	if w.status != 0 {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *errorCatcher) Unwrap() http.ResponseWriter { return w.ResponseWriter }
