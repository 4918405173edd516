package upstream

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// TestTracedClientPropagates: with a tracer provider every backend request
// is a client span under the caller's span and carries its traceparent;
// without one the backend sees no traceparent and no span is made.
func TestTracedClientPropagates(t *testing.T) {
	tests := []struct {
		name   string
		traced bool
	}{
		{"traced", true},
		{"off", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			var clientTP trace.TracerProvider
			if tt.traced {
				clientTP = tp
			}
			got := &captured{}
			srv := newBackend(t, got.handler)
			client := NewTracedClient(clientTP)
			t.Cleanup(client.CloseIdleConnections)
			f, _ := newFetcher(t, srv.URL, func(o *Options) { o.Client = client })

			// The caller's span: the attempt, in Vitrine.
			ctx, parent := tp.Tracer("test").Start(t.Context(), "attempt")
			if _, err := f.Fetch(ctx, tiles.Request{}); err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			parent.End()

			got.mu.Lock()
			header := got.header.Get("Traceparent")
			got.mu.Unlock()
			spans := rec.Ended()
			if !tt.traced {
				if header != "" {
					t.Errorf("backend got traceparent %q; want none when tracing is off", header)
				}
				if len(spans) != 1 { // the test's own span only
					t.Errorf("got %d spans; want only the caller's", len(spans))
				}
				return
			}
			psc := parent.SpanContext()
			if len(spans) != 2 {
				t.Fatalf("got %d spans; want the client span and the caller's", len(spans))
			}
			cs := spans[0]
			if cs.SpanKind() != trace.SpanKindClient || cs.Parent().SpanID() != psc.SpanID() {
				t.Errorf("span %q kind %v parent %v; want a client span under the caller's %v", cs.Name(), cs.SpanKind(), cs.Parent().SpanID(), psc.SpanID())
			}
			want := "00-" + psc.TraceID().String() + "-" + cs.SpanContext().SpanID().String() + "-01"
			if header != want {
				t.Errorf("backend got traceparent %q; want %q (the caller's trace, the client span)", header, want)
			}
		})
	}
}

// TestTracedClientClosesIdleConnections: the traced transport still lets
// Client.CloseIdleConnections close the pool (otelhttp's does not pass it on).
func TestTracedClientClosesIdleConnections(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(serveJSON(`{}`))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			select {
			case closed <- struct{}{}:
			default:
			}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	client := NewTracedClient(sdktrace.NewTracerProvider())
	f, _ := newFetcher(t, srv.URL, func(o *Options) { o.Client = client })
	if _, err := f.Fetch(t.Context(), tiles.Request{}); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	client.CloseIdleConnections()
	select {
	case <-closed:
	case <-time.After(10 * time.Second): // a bound on a hang, not a timing assertion
		t.Fatal("the idle connection was not closed by CloseIdleConnections")
	}
}

// TestTracedClientHidesUser: the client span of a personalised fetch carries
// no user id, in any attribute or its status, whether the backend answers
// or is down, while the backend still receives it.
func TestTracedClientHidesUser(t *testing.T) {
	got := &captured{}
	up := newBackend(t, got.handler)
	down := httptest.NewServer(serveJSON(`{}`))
	down.Close()
	for _, tt := range []struct{ name, url string }{{"answered", up.URL + "/r?x=1"}, {"down", down.URL + "/r"}} {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			client := NewTracedClient(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
			t.Cleanup(client.CloseIdleConnections)
			f, _ := newFetcher(t, tt.url, func(o *Options) { o.Client, o.Personalised = client, true })
			f.Fetch(t.Context(), tiles.Request{User: "alice"})
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("got %d spans; want the client span", len(spans))
			}
			if desc := spans[0].Status().Description; strings.Contains(desc, "alice") {
				t.Errorf("span status %q holds the user id", desc)
			}
			full := ""
			for _, a := range spans[0].Attributes() {
				if strings.Contains(a.Value.Emit(), "alice") {
					t.Errorf("span attribute %s = %q holds the user id", a.Key, a.Value.Emit())
				}
				if a.Key == "url.full" {
					full = a.Value.AsString()
				}
			}
			if !strings.Contains(full, "user=redacted") {
				t.Errorf("url.full = %q; want user=redacted", full)
			}
		})
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if u := got.query.Get("user"); u != "alice" {
		t.Errorf("backend got user %q; want alice", u)
	}
}
