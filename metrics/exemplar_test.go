package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// scrapeOpenMetrics GETs /metrics from h asking for OpenMetrics, the only
// format that carries exemplars, and returns the body.
func scrapeOpenMetrics(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d; want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type: got %q; want OpenMetrics", ct)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// TestExemplarsCarryTraceID: the latency histograms (page, tile, backend
// attempt, Redis round trip) keep the
// trace id of a sampled request as the exemplar of the bucket it fell in,
// shown in OpenMetrics; an unsampled span or none leaves no exemplar, and
// the default text format never shows one.
func TestExemplarsCarryTraceID(t *testing.T) {
	for _, tt := range []struct {
		name    string
		sampler sdktrace.Sampler // nil: no span at all
		want    bool
	}{
		{"sampled span", sdktrace.AlwaysSample(), true},
		{"unsampled span", sdktrace.NeverSample(), false},
		{"no span", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, traceID := t.Context(), ""
			if tt.sampler != nil {
				tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tt.sampler),
					sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
				var span trace.Span
				ctx, span = tp.Tracer("test").Start(ctx, "page")
				defer span.End()
				traceID = span.SpanContext().TraceID().String()
			}
			m := New("banners")
			m.PageStarted()
			m.PageDone(ctx, aggregator.Summary{Elapsed: 120 * time.Millisecond, Complete: true, Format: "html"})
			m.TileDone(ctx, aggregator.Result{Name: "banners", Outcome: tiles.Outcome{Status: tiles.StatusOK}, Elapsed: 40 * time.Millisecond})
			m.BackendFetch(ctx, "banners", 30*time.Millisecond, nil)
			m.Up(true)
			m.Call(ctx, "claim", 300*time.Microsecond, nil)

			body := scrapeOpenMetrics(t, m.Handler())
			for _, bucket := range []struct{ series, value string }{
				{`vitrine_page_duration_seconds_bucket{format="html",le="0.125"}`, "0.12"},
				{`vitrine_tile_duration_seconds_bucket{tile="banners",le="0.05"}`, "0.04"},
				{`vitrine_backend_duration_seconds_bucket{tile="banners",le="0.05"}`, "0.03"},
				{`vitrine_redis_call_seconds_bucket{op="claim",le="0.0005"}`, "0.0003"},
			} {
				line := lineOf(body, bucket.series)
				if line == "" {
					t.Fatalf("%s missing from the OpenMetrics scrape:\n%s", bucket.series, body)
				}
				exemplar := `# {trace_id="` + traceID + `"} ` + bucket.value + " "
				if got := strings.Contains(line, exemplar); got != tt.want {
					t.Errorf("%s: exemplar %q present: %t; want %t (line %q)", bucket.series, exemplar, got, tt.want, line)
				}
				if !tt.want && strings.Contains(line, "#") {
					t.Errorf("%s: an exemplar without a sampled span: %q", bucket.series, line)
				}
			}
			if text := scrape(t, m.Handler()); strings.Contains(text, "trace_id") {
				t.Errorf("the default text format shows exemplars; it has no syntax for them:\n%s", grepLines(text, "trace_id"))
			}
		})
	}
}

// lineOf returns the line of body that starts with series and a space, or "".
func lineOf(body, series string) string {
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// BenchmarkObserveTileSampled is what one tile of a sampled page costs the
// metrics: the exemplar's labels and the trace id's hex.
func BenchmarkObserveTileSampled(b *testing.B) {
	m := New("banners")
	r := aggregator.Result{Name: "banners", Outcome: tiles.Outcome{Status: tiles.StatusOK}, Elapsed: 40 * time.Millisecond}
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled,
	}))
	b.ReportAllocs()
	for b.Loop() {
		m.TileDone(ctx, r)
	}
}

// BenchmarkObservePage is what a page's end costs the metrics, without a
// sampled span.
func BenchmarkObservePage(b *testing.B) {
	m := New()
	s := aggregator.Summary{Elapsed: 120 * time.Millisecond, Complete: true}
	b.ReportAllocs()
	for b.Loop() {
		m.PageStarted()
		m.PageDone(context.Background(), s)
	}
}

// TestTextStaysTheDefault: enabling OpenMetrics must not change what
// scrapers that do not ask for it get (curl, a browser, Go's client).
func TestTextStaysTheDefault(t *testing.T) {
	h := New("banners").Handler()
	for _, accept := range []string{"", "*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/plain"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		h.ServeHTTP(rec, req)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Errorf("Accept %q: Content-Type %q; want the Prometheus text format", accept, ct)
		}
	}
}
