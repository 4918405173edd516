package web

import (
	"io/fs"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/identity"
)

var publicPaths = []string{"/home", "/tiles", "/tiles/NAME", "/healthz", "/readyz", "/test"}

// suggestedPaths is what a 404 from e suggests: the public paths, with the
// pages' in place of /home when the file lists pages, and /metrics if e serves it.
func suggestedPaths(e *echo.Echo) []string {
	var pages []string
	metrics := false
	for _, r := range e.Routes() {
		switch {
		case r.Method != http.MethodGet:
		case r.Path == "/metrics":
			metrics = true
		case !slices.Contains(ownRoutes, r.Path):
			pages = append(pages, paramRoute.ReplaceAllString(r.Path, "{$1}"))
		}
	}
	slices.Sort(pages)
	paths := publicPaths
	if !slices.Equal(pages, []string{"/home"}) {
		paths = append(pages, publicPaths[1:]...)
	}
	if metrics {
		return append(slices.Clip(paths), "/metrics")
	}
	return paths
}

// ownRoutes are the routes that are not pages, as Echo spells them.
var ownRoutes = []string{"/tiles", "/tiles/:name", "/healthz", "/readyz", "/test", "/img/products/:file", "/static/*"}

// OwnRoute reports whether a path's first segment is one of the server's
// own routes (/metrics too), which no page may take.
func OwnRoute(segment string) bool {
	return segment == "metrics" || slices.ContainsFunc(ownRoutes, func(r string) bool {
		return strings.HasPrefix(r[1:]+"/", segment+"/")
	})
}

var paramRoute = regexp.MustCompile(`:([a-z][a-z0-9_]*)`)

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
		po, prend := opts, *rend
		po.Primary, prend.title, prend.widths = p.Primary, p.Title, p.Widths
		if len(p.Views) > 0 {
			prend.views = make(map[string]string, len(opts.Views)+len(p.Views))
			maps.Copy(prend.views, opts.Views)
			maps.Copy(prend.views, p.Views)
		}
		ph := newPageHeaders(p.Agg, po)
		get(echoPath(p.Path), handleHome(p.Agg, &prend, who, tracer, ph, opts.writeStall(), p.Params))
	}
	get("/tiles", handleTileList(agg, opts))
	get("/tiles/:name", handleTile(agg, rend, who, ph, opts))
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
