package web

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// A path is decoded once, by net/http, and Vitrine both routes on it and
// reads names from it. Echo routes on the raw path when a request has
// escapes, so /%73tatic/vitrine.css would miss /static/*, and leaves its
// parameters as sent: c.Param would give "p01%2esvg" for
// /img/products/p01%2esvg (decoded zero times), and decoding that again
// would read /tiles/%2562anners as banners (twice). A name that names
// nothing after this one decoding is a 404.

// routeOnDecodedPath makes Echo route on the decoded path. An escaped
// slash (%2F) stays raw: it belongs inside its segment.
func routeOnDecodedPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := c.Request().URL; u.RawPath != "" && !strings.Contains(strings.ToUpper(u.RawPath), "%2F") {
			u.RawPath = ""
		}
		return next(c)
	}
}

// pathParam returns what follows prefix in the decoded path: how every
// route that takes a name from its path reads it.
func pathParam(c echo.Context, prefix string) string {
	return strings.TrimPrefix(c.Request().URL.Path, prefix)
}
