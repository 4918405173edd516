package web

import (
	"io/fs"
	"net/http"
	"strings"

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
// answers HEAD as well as GET.
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
