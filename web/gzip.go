package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// gzipByWeight is Echo's Gzip middleware for the requests whose
// Accept-Encoding asks for gzip once its q-values are read (wantsGzip):
// Echo's own test compresses for "gzip;q=0", which says no. Every response
// says Vary: Accept-Encoding. Streamed pages still flush per tile.
func gzipByWeight() echo.MiddlewareFunc {
	gz := middleware.Gzip()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		zipped := gz(next)
		return func(c echo.Context) error {
			if wantsGzip(c.Request().Header) {
				return zipped(c) // adds Vary itself
			}
			c.Response().Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
			return next(c)
		}
	}
}

// wantsGzip reads Accept-Encoding as RFC 9110 §12.5.3 does: gzip (or
// x-gzip) must be named with a weight above zero ("*" alone is no wish for
// gzip), and not below identity's (or that of "*", when identity is not
// named). A coding named twice takes its lower weight. When in doubt,
// identity, which every client reads; Vitrine never answers 406. A Range
// request is never compressed: Content-Range counts the identity form.
func wantsGzip(h http.Header) bool {
	if h.Get("Range") != "" {
		return false
	}
	gzipQ, identityQ, anyQ := -1.0, -1.0, -1.0 // -1: not named
	lower := func(cur, q float64) float64 {
		if cur < 0 || q < cur {
			return q
		}
		return cur
	}
	for coding, q := range weights(h.Values("Accept-Encoding")) {
		switch coding {
		case "gzip", "x-gzip":
			gzipQ = lower(gzipQ, q)
		case "identity":
			identityQ = lower(identityQ, q)
		case "*":
			anyQ = lower(anyQ, q)
		}
	}
	if identityQ < 0 {
		identityQ = anyQ
	}
	return gzipQ > 0 && gzipQ >= identityQ
}
