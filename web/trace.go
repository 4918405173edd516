package web

// With Options.TracerProvider, every request is a server span continuing
// the client's W3C traceparent, named by route; /home adds a "page" span,
// parent of the tile spans. Without, none of this is installed.

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

const tracerName = "vitrine/web"

// serverSpans starts each request's server span with otelhttp, as Echo's
// outermost middleware: it covers routing, the access log and the error
// handler.
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

// nameServerSpans names the server span by its route ("GET /tiles/:name");
// a 404 or 405 keeps "GET unrouted", so that no stray URL makes a name.
// routes holds "METHOD /pattern" of every route.
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

// pageTrace is the "page" span of one /home request; ctx is where the
// page's tiles run.
type pageTrace struct {
	ctx  context.Context
	span trace.Span // nil when tracing is off
}

// startPage names the page's form in ctx for the metrics, and starts the page
// span in it unless tracer is nil.
func startPage(ctx context.Context, tracer trace.Tracer, f format, req tiles.Request, tileCount int) pageTrace {
	ctx = aggregator.WithFormat(ctx, string(f))
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

// failedTiles names the tiles that timed out or failed, with their status:
// "recommendations timeout, products error".
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

// traceID is the id of the page's trace for a person to look up, or "" if
// there is none: tracing off, or dropped by the sampler on a page that did
// not fail (error spans are exported anyway).
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
