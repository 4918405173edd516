package web

import (
	"io/fs"

	"github.com/labstack/echo/v4"

	"vitrine/aggregator"
)

// publicPaths is what a 404 suggests.
var publicPaths = []string{"/home", "/tiles", "/tiles/NAME", "/healthz", "/test", "/metrics"}

// addRoutes lists Vitrine's whole HTTP surface.
func addRoutes(e *echo.Echo, agg *aggregator.Aggregator, rend *renderer, opts Options) {
	e.GET("/home", handleHome(agg, rend))
	e.GET("/tiles", handleTileList(agg))
	e.GET("/tiles/:name", handleTile(agg, rend))
	e.GET("/healthz", handleHealth())
	e.GET("/test", handleTest(opts.TestDelay))
	e.GET("/img/products/:file", handleProductImage(opts.Catalogue))
	static, _ := fs.Sub(staticFS, "static")
	e.GET("/static/*", handleStatic(static))
	if opts.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(opts.Metrics))
	}
}
