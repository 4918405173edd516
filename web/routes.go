package web

import (
	"io/fs"

	"github.com/labstack/echo/v4"

	"vitrine/aggregator"
)

// publicPaths is what a 404 suggests.
var publicPaths = []string{"/home", "/tiles", "/tiles/NAME", "/healthz", "/test", "/metrics"}

// addRoutes lists Vitrine's whole HTTP surface.
// Every route but /test answers HEAD as well as GET (RFC 9110 asks it of
// general-purpose servers; load balancers probe with it): the handler runs
// as for GET and net/http drops the body.
func addRoutes(e *echo.Echo, agg *aggregator.Aggregator, rend *renderer, opts Options) {
	get := func(path string, h echo.HandlerFunc) {
		e.GET(path, h)
		e.HEAD(path, h)
	}
	get("/home", handleHome(agg, rend))
	get("/tiles", handleTileList(agg))
	get("/tiles/:name", handleTile(agg, rend))
	get("/healthz", handleHealth())
	e.GET("/test", handleTest(opts.TestDelay))
	get("/img/products/:file", handleProductImage(opts.Catalogue))
	static, _ := fs.Sub(staticFS, "static")
	get("/static/*", handleStatic(static))
	if opts.Metrics != nil {
		get("/metrics", echo.WrapHandler(opts.Metrics))
	}
}
