package web

import (
	"github.com/labstack/echo/v4"

	"vitrine/aggregator"
)

// publicPaths is what a 404 suggests.
var publicPaths = []string{"/home", "/tiles", "/tiles/NAME", "/healthz", "/test"}

// addRoutes lists Vitrine's whole HTTP surface.
func addRoutes(e *echo.Echo, agg *aggregator.Aggregator, opts Options) {
	e.GET("/home", handleHome(agg))
	e.GET("/tiles", handleTileList(agg))
	e.GET("/tiles/:name", handleTile(agg))
	e.GET("/healthz", handleHealth())
	e.GET("/test", handleTest(opts.TestDelay))
}
