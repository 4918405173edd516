package tracing

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// HTTPOptions are the otelhttp options of every traced HTTP server and
// client of Vitrine's, then more: spans on tp, the W3C traceparent, and no
// metrics through OpenTelemetry's global meter provider (Vitrine's metrics
// are Prometheus').
func HTTPOptions(tp trace.TracerProvider, more ...otelhttp.Option) []otelhttp.Option {
	return append([]otelhttp.Option{
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
	}, more...)
}

// SpanName names a server span "GET /route", or "GET unrouted" when route
// is "" (no route took the request): a name taken from whatever path or
// method a client sends would make every stray request a name of its own,
// so a method other than GET or HEAD is "HTTP".
func SpanName(method, route string) string {
	if method != http.MethodGet && method != http.MethodHead {
		method = "HTTP"
	}
	if route == "" {
		route = "unrouted"
	}
	return method + " " + route
}
