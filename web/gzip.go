package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// gzipByWeight is Echo's Gzip middleware for the requests whose
// Accept-Encoding asks for gzip once its q-values are read (wantsGzip):
// Echo's own test is only that the header contains "gzip", so it
// compresses for "gzip;q=0", which says no. Every response says
// Vary: Accept-Encoding, compressed or not, since either form could have
// been sent. Streamed pages still flush per tile: Echo's gzip writer
// flushes through.
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

// wantsGzip reads Accept-Encoding as RFC 9110 §12.5.3 does. gzip (or its
// alias x-gzip) must be named with a weight above zero: q=0 means "not
// acceptable", and a "*" alone is not taken as a wish for gzip, since
// identity is always acceptable. If identity (or "*", which covers it when
// identity is not named) is given a higher weight than gzip, identity is
// preferred. A coding named twice takes its lower weight and an entry whose
// weight cannot be read is ignored: when in doubt, identity, which every
// client reads (Vitrine never answers 406, even to "identity;q=0"). A
// Range request is never compressed: its bytes are those of the identity
// form, which Content-Range counts.
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
