package web

import (
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/identity"
)

var publicPaths = []string{"/home", "/tiles", "/tiles/NAME", "/healthz", "/readyz", "/test"}

// suggestedPaths is what a 404 from e suggests: the public paths, and
// /metrics if e serves it.
func suggestedPaths(e *echo.Echo) []string {
	if slices.ContainsFunc(e.Routes(), func(r *echo.Route) bool { return r.Path == "/metrics" }) {
		return append(slices.Clip(publicPaths), "/metrics")
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
	who := shopper{who: opts.Identity, forward: opts.Forward}
	if who.who == nil {
		who.who = identity.Query{}
	}
	ph := newPageHeaders(agg, opts)
	if len(opts.Pages) == 0 {
		get("/home", handleHome(agg, rend, who, tracer, ph, opts.writeStall(), nil))
	}
	for _, p := range opts.Pages {
		po, prend := opts, rend
		po.Primary = p.Primary
		if len(p.Views) > 0 {
			po.Views = maps.Clone(opts.Views)
			maps.Copy(po.Views, p.Views)
			prend = newRenderer(po.Views)
		}
		get(echoPath(p.Path), handleHome(p.Agg, prend, who, tracer, newPageHeaders(p.Agg, po), opts.writeStall(), p.Params))
	}
	get("/tiles", handleTileList(agg, opts))
	get("/tiles/:name", handleTile(agg, rend, who, ph, opts.Pages))
	get("/healthz", echo.WrapHandler(handleHealth))
	get("/readyz", echo.WrapHandler(handleReady(opts.Readiness, false)))
	e.GET("/test", handleTest(opts.TestDelay))
	get("/img/products/:file", handleProductImage(opts.Catalogue))
	static, _ := fs.Sub(staticFS, "static")
	get("/static/*", handleStatic(static))
	if opts.Metrics != nil {
		get("/metrics", echo.WrapHandler(opts.Metrics))
	}
}

// routeOnDecodedPath makes Echo route on the path as net/http decoded it,
// once: Echo would route on the raw path and leave c.Param undecoded. An
// escaped slash (%2F) stays raw: it belongs inside its segment.
func routeOnDecodedPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := c.Request().URL; u.RawPath != "" && !strings.Contains(strings.ToUpper(u.RawPath), "%2F") {
			u.RawPath = ""
		}
		return next(c)
	}
}

// pathParam returns what follows prefix in the decoded path: how every
// route reads a name from its path (never c.Param).
func pathParam(c echo.Context, prefix string) string {
	return strings.TrimPrefix(c.Request().URL.Path, prefix)
}
