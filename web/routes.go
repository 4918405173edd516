package web

import (
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
)

// publicPaths is what a 404 suggests, with /metrics where it is served.
var publicPaths = []string{"/home", "/tiles", "/tiles/NAME", "/healthz", "/readyz", "/test"}

// suggestedPaths is what a 404 from e suggests: the public paths, and
// /metrics only if e serves it (not when the admin port does).
func suggestedPaths(e *echo.Echo) []string {
	for _, r := range e.Routes() {
		if r.Path == "/metrics" && r.Method == http.MethodGet {
			return append(publicPaths[:len(publicPaths):len(publicPaths)], "/metrics")
		}
	}
	return publicPaths
}

// addRoutes lists Vitrine's whole HTTP surface. Every route but /test
// answers HEAD as well as GET (RFC 9110 asks it; load balancers probe
// with it).
func addRoutes(e *echo.Echo, agg *aggregator.Aggregator, rend *renderer, opts Options) {
	get := func(path string, h echo.HandlerFunc) {
		e.GET(path, h)
		e.HEAD(path, h)
	}
	var tracer trace.Tracer // nil: no page spans
	if opts.TracerProvider != nil {
		tracer = opts.TracerProvider.Tracer(tracerName)
	}
	get("/home", handleHome(agg, rend, tracer, opts.Primary, opts.writeStall()))
	get("/tiles", handleTileList(agg, opts))
	get("/tiles/:name", handleTile(agg, rend))
	get("/healthz", echo.WrapHandler(handleHealth))
	get("/readyz", echo.WrapHandler(handleReady(opts.Readiness, false)))
	e.GET("/test", handleTest(opts.TestDelay))
	get("/img/products/:file", handleProductImage(opts.Catalogue))
	static, _ := fs.Sub(staticFS, "static")
	get("/static/*", handleStatic(static))
	// Nil when the admin port serves it: then /metrics is a 404 here.
	if opts.Metrics != nil {
		get("/metrics", echo.WrapHandler(opts.Metrics))
	}
}
