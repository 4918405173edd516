package web

import (
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
)

// publicPaths is what a 404 suggests, with /metrics where it is served
// (see suggestedPaths).
var publicPaths = []string{"/home", "/tiles", "/tiles/NAME", "/healthz", "/readyz", "/test"}

// suggestedPaths is what a 404 from e suggests: the public paths, and
// /metrics only if e serves it. With -admin-addr it is on the admin port,
// and the public port must not point anyone at it.
func suggestedPaths(e *echo.Echo) []string {
	for _, r := range e.Routes() {
		if r.Path == "/metrics" && r.Method == http.MethodGet {
			return append(publicPaths[:len(publicPaths):len(publicPaths)], "/metrics")
		}
	}
	return publicPaths
}

// addRoutes lists Vitrine's whole HTTP surface.
// Every route but /test answers HEAD as well as GET (RFC 9110 asks it of
// general-purpose servers; load balancers probe with it): the handler runs
// as for GET and net/http drops the body.
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
	// Nil when -admin-addr serves it on a private port instead: then the
	// public port answers 404 for /metrics, as for /debug/pprof/, which
	// it never serves.
	if opts.Metrics != nil {
		get("/metrics", echo.WrapHandler(opts.Metrics))
	}
}
