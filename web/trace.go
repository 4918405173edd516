package web

// Tracing, when Options.TracerProvider is set: every request is a server
// span continuing the client's W3C traceparent, named by route; /home adds
// a "page" span, parent of the tile spans. Off (nil), none of this is
// installed, not even a no-op.

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/tracing"
)

// tracerName is the instrumentation scope of web's own spans.
const tracerName = "vitrine/web"

// serverSpans starts each request's server span with otelhttp, as Echo's
// outermost middleware, so that it covers routing, the access log and the
// error handler. The request and the response writer are otelhttp's from
// then on.
func serverSpans(tp trace.TracerProvider) echo.MiddlewareFunc {
	mw := otelhttp.NewMiddleware("vitrine", tracing.HTTPOptions(tp,
		// Renamed by route once routed (nameServerSpans).
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return tracing.SpanName(r.Method, "") }))...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var err error
			mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				c.Response().Writer = w
				err = next(c)
			})).ServeHTTP(c.Response().Writer, c.Request())
			return err
		}
	}
}

// nameServerSpans names the server span by the route Echo chose ("GET
// /tiles/:name"); a 404 or 405 keeps "GET unrouted", as a stray URL must
// not make a name of its own. routes holds "METHOD /pattern" of every
// route, filled before the server serves.
func nameServerSpans(routes map[string]bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if route := c.Request().Method + " " + c.Path(); routes[route] {
				span := trace.SpanFromContext(c.Request().Context())
				span.SetName(route)
				span.SetAttributes(attribute.String("http.route", c.Path()))
			}
			return next(c)
		}
	}
}

// routeSet lists e's routes as nameServerSpans takes them.
func routeSet(e *echo.Echo, into map[string]bool) {
	for _, r := range e.Routes() {
		into[r.Method+" "+r.Path] = true
	}
}

// pageTrace is the "page" span of one /home request (nil when tracing is
// off); ctx is where the page's tiles run.
type pageTrace struct {
	ctx  context.Context
	span trace.Span // nil when off
}

// startPage starts the page span in ctx, unless tracer is nil.
func startPage(ctx context.Context, tracer trace.Tracer, f format, req tiles.Request, tileCount int) pageTrace {
	if tracer == nil {
		return pageTrace{ctx: ctx}
	}
	ctx, span := tracer.Start(ctx, "page", trace.WithAttributes(
		attribute.String("vitrine.format", string(f)),
		attribute.Bool("vitrine.user", req.User != ""), // whether, never who
		attribute.Int("vitrine.tiles", tileCount),
	))
	return pageTrace{ctx: ctx, span: span}
}

// end ends the span with the page's outcome: an error status naming the
// tiles that timed out or failed, or the stream's own error.
func (p pageTrace) end(page aggregator.Page, streamErr error) {
	if p.span == nil {
		return
	}
	p.span.SetAttributes(attribute.Bool("vitrine.complete", page.Complete))
	if failed := failedTiles(page.Results); failed != "" {
		p.span.SetStatus(codes.Error, failed)
	}
	if streamErr != nil {
		p.span.SetStatus(codes.Error, "stream stopped: "+streamErr.Error())
	}
	p.span.End()
}

// close ends the span if end did not: a second End is ignored.
func (p pageTrace) close() {
	if p.span != nil {
		p.span.End()
	}
}

// failedTiles names the tiles that timed out or failed, with their status
// ("recommendations timeout, products error"), or "".
func failedTiles(results []aggregator.Result) string {
	var b strings.Builder
	for _, r := range results {
		if r.Status != tiles.StatusTimeout && r.Status != tiles.StatusError {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.Name + " " + string(r.Status))
	}
	return b.String()
}

// traceID is the id of the page's trace for a person to look up, or ""
// when there is none to find: tracing off, or a trace the sampler dropped
// and whose page did not fail (error spans are exported anyway).
func (p pageTrace) traceID(page aggregator.Page) string {
	if p.span == nil {
		return ""
	}
	sc := p.span.SpanContext()
	if !sc.IsValid() || !sc.IsSampled() && failedTiles(page.Results) == "" {
		return ""
	}
	return sc.TraceID().String()
}
