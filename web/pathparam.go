package web

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// pathParam returns what follows prefix in the request's path, decoded
// once, by net/http, the same way on every route. Echo routes on the raw
// path and, when the path holds escapes, leaves its parameters as sent:
// c.Param would give "p01%2esvg" for /img/products/p01%2esvg (decoded zero
// times), and decoding that again would read /tiles/%2562anners as banners
// (twice). Every route that takes a name from its path reads it here; a
// name that names nothing after this one decoding is a 404.
func pathParam(c echo.Context, prefix string) string {
	return strings.TrimPrefix(c.Request().URL.Path, prefix)
}
