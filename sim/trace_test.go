package sim_test

import (
	"fmt"
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"vitrine/catalogue"
	"vitrine/sim"
)

// A caller's span, as Vitrine's client span would send it.
const (
	callerTrace       = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan        = "00f067aa0ba902b7"
	callerTraceparent = "00-" + callerTrace + "-" + callerSpan + "-01"
)

// TestTracedHandlerContinuesTrace: with a tracer provider each request is
// a server span named by route, continuing the trace of the traceparent it
// carries.
func TestTracedHandlerContinuesTrace(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		target      string
		traceparent string
		wantName    string
		wantStatus  int
	}{
		{"tile continues the caller's trace", http.MethodGet, "/banners", callerTraceparent, "GET /banners", http.StatusOK},
		{"personalised tile", http.MethodGet, "/recommendations?user=ann", callerTraceparent, "GET /recommendations", http.StatusOK},
		{"no traceparent: a new trace", http.MethodGet, "/products", "", "GET /products", http.StatusOK},
		{"unknown path is not a span name", http.MethodGet, "/no/such/path", callerTraceparent, "GET unrouted", http.StatusNotFound},
		{"unknown method is not a span name", "BREW", "/banners", callerTraceparent, "HTTP /banners", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			h := sim.TracedHandler(builtinSims(t, catalogue.Default(), sim.Backend{}), nil, tp)
			var header []string
			if tt.traceparent != "" {
				header = []string{"Traceparent", tt.traceparent}
			}
			if w := serve(h, tt.method, tt.target, header...); w.Code != tt.wantStatus {
				t.Fatalf("status %d; want %d", w.Code, tt.wantStatus)
			}
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("got %d spans; want 1", len(spans))
			}
			s := spans[0]
			if s.Name() != tt.wantName || s.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %q (kind %v); want server span %q", s.Name(), s.SpanKind(), tt.wantName)
			}
			parent := s.Parent()
			if tt.traceparent == "" {
				if parent.IsValid() {
					t.Errorf("span has parent %v; want a root span", parent)
				}
				return
			}
			if got := s.SpanContext().TraceID().String(); got != callerTrace {
				t.Errorf("trace id %s; want the caller's %s", got, callerTrace)
			}
			if got := parent.SpanID().String(); got != callerSpan || !parent.IsRemote() {
				t.Errorf("parent %s (remote %v); want the caller's span %s", got, parent.IsRemote(), callerSpan)
			}
		})
	}
}

// TestHandlerUntracedIsPlain: tracing off (a nil provider) costs nothing:
// the handler is the plain router, with no otelhttp around it to parse a
// traceparent or start a (no-op) span.
func TestHandlerUntracedIsPlain(t *testing.T) {
	sims := builtinSims(t, catalogue.Default(), sim.Backend{})
	for name, h := range map[string]http.Handler{
		"Handler":            sim.Handler(sims, nil),
		"TracedHandler(nil)": sim.TracedHandler(sims, nil, nil),
	} {
		if got := fmt.Sprintf("%T", h); got != "*sim.server" {
			t.Errorf("%s is a %s; want the plain *sim.server", name, got)
		}
	}
}
