package rediscache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// traced is a Cache over a fresh miniredis, with a span recorder, at t0.
type traced struct {
	c   *Cache
	m   *miniredis.Miniredis
	rec *tracetest.SpanRecorder
	tp  *sdktrace.TracerProvider
}

// newTraced returns a traced Cache; withTracer false leaves Options.Tracer
// nil (tracing off), the recorder still seeing the caller's spans.
func newTraced(t *testing.T, withTracer bool) *traced {
	t.Helper()
	m := miniredis.RunT(t)
	m.SetTime(t0)
	client, err := Connect(Settings{URL: "redis://" + m.Addr() + "/0", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	o := Options{Client: client}
	if withTracer {
		o.Tracer = tp.Tracer("vitrine/rediscache")
	}
	c := New(o)
	c.now = func() time.Time { return t0 }
	t.Cleanup(func() { c.Close() })
	return &traced{c: c, m: m, rec: rec, tp: tp}
}

// under runs call under a parent span, ends it, and returns the parent's
// span context and the spans ended meanwhile other than the parent.
func (tr *traced) under(t *testing.T, call func(context.Context) error) (parent trace.SpanContext, spans []sdktrace.ReadOnlySpan, err error) {
	t.Helper()
	before := len(tr.rec.Ended())
	ctx, span := tr.tp.Tracer("test").Start(t.Context(), "tile products")
	err = call(ctx)
	span.End()
	for _, s := range tr.rec.Ended()[before:] {
		if s.SpanContext().SpanID() != span.SpanContext().SpanID() {
			spans = append(spans, s)
		}
	}
	return span.SpanContext(), spans, err
}

// TestARedisSpanPerRoundTrip: each operation is one round trip and one
// "redis OP" client span, a child of the caller's span, with the database
// attributes and the tile.
func TestARedisSpanPerRoundTrip(t *testing.T) {
	tr := newTraced(t, true)
	var token string
	for _, tt := range []struct {
		op   string
		call func(context.Context) error
	}{
		{"claim", func(ctx context.Context) error {
			cl, err := tr.c.Claim(ctx, "products", "", t0, t0.Add(time.Hour), lease)
			token = cl.Token
			return err
		}},
		{"store", func(ctx context.Context) error { return tr.c.Store(ctx, "products", "", entryAt(t0, `{"a":1}`), token) }},
		{"release", func(ctx context.Context) error { return tr.c.Release(ctx, "products", "", "some-token") }},
		{"drop", func(ctx context.Context) error { return tr.c.Drop(ctx, "products", "", "") }},
	} {
		parent, spans, err := tr.under(t, tt.call)
		if err != nil {
			t.Fatalf("%s: %v", tt.op, err)
		}
		if len(spans) != 1 {
			t.Fatalf("%s: %d spans; want 1", tt.op, len(spans))
		}
		s := spans[0]
		if want := "redis " + tt.op; s.Name() != want {
			t.Errorf("%s: span %q; want %q", tt.op, s.Name(), want)
		}
		if s.Parent().SpanID() != parent.SpanID() || s.SpanContext().TraceID() != parent.TraceID() {
			t.Errorf("%s: span's parent %v; want the caller's span %v", tt.op, s.Parent().SpanID(), parent.SpanID())
		}
		if s.SpanKind() != trace.SpanKindClient {
			t.Errorf("%s: kind %v; want client", tt.op, s.SpanKind())
		}
		if s.Status().Code != codes.Unset {
			t.Errorf("%s: status %v; want unset on success", tt.op, s.Status())
		}
		wantAttrs := map[attribute.Key]string{"db.system.name": "redis", "db.operation.name": tt.op, "vitrine.tile": "products"}
		for k, want := range wantAttrs {
			if got := attrOf(s, k); got != want {
				t.Errorf("%s: attribute %s = %q; want %q", tt.op, k, got, want)
			}
		}
	}
	if token == "" {
		t.Error("the claim on an empty tier took no lease; the store ran without one")
	}
}

// TestAFailedRoundTripsSpanIsAnError: an error reply and an unreachable
// Redis both leave an Error status with the cause; once the tier is down,
// a call is refused without a round trip, so it has no span, and the
// caller's span gets an event "redis down" instead.
func TestAFailedRoundTripsSpanIsAnError(t *testing.T) {
	tr := newTraced(t, true)
	claim := func(ctx context.Context) error { return claim(tr.c, ctx) }

	tr.m.SetError("ERR boom")
	_, spans, err := tr.under(t, claim)
	if err == nil || len(spans) != 1 || spans[0].Status().Code != codes.Error || spans[0].Status().Description != "ERR boom" {
		t.Fatalf("error reply: err %v, spans %v; want one span with Error status %q", err, statuses(spans), "ERR boom")
	}

	tr.m.Close()
	for i := range failuresToDown {
		if _, spans, err := tr.under(t, claim); err == nil || len(spans) != 1 || spans[0].Status().Code != codes.Error {
			t.Fatalf("call %d with Redis closed: err %v, spans %v; want one span with Error status", i+1, err, statuses(spans))
		}
	}
	before := len(tr.rec.Ended())
	_, spans, err = tr.under(t, claim)
	if !errors.Is(err, ErrUnavailable) || len(spans) != 0 {
		t.Fatalf("call while down: err %v, spans %v; want ErrUnavailable and no span", err, statuses(spans))
	}
	caller := tr.rec.Ended()[before]
	if ev := caller.Events(); len(ev) != 1 || ev[0].Name != "redis down" {
		t.Errorf("caller's span events %v; want one \"redis down\"", ev)
	}
}

// TestNoTracerNoSpans: without a tracer, round trips and refusals add
// nothing to the trace the caller is in.
func TestNoTracerNoSpans(t *testing.T) {
	tr := newTraced(t, false)
	claim := func(ctx context.Context) error { return claim(tr.c, ctx) }
	if _, spans, err := tr.under(t, claim); err != nil || len(spans) != 0 {
		t.Fatalf("claim: err %v, spans %v; want none", err, statuses(spans))
	}
	tr.m.Close()
	for range failuresToDown + 1 {
		if _, spans, _ := tr.under(t, claim); len(spans) != 0 {
			t.Fatalf("claim with Redis closed: spans %v; want none", statuses(spans))
		}
	}
	for _, s := range tr.rec.Ended() {
		if len(s.Events()) != 0 {
			t.Errorf("span %q has events %v; want none", s.Name(), s.Events())
		}
	}
}

func attrOf(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value.Emit()
		}
	}
	return ""
}

func statuses(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name()+": "+s.Status().Code.String()+" "+s.Status().Description)
	}
	return out
}
