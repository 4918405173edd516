package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tracing/tracingtest"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestOffIsNothing(t *testing.T) {
	p, err := Setup(t.Context(), Settings{Mode: Off})
	if err != nil {
		t.Fatal(err)
	}
	if p.TracerProvider() != nil || p.Tracer("x") != nil {
		t.Error("tracing off returned a provider or a tracer; want nil, so that nothing is traced")
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Error(err)
	}
}

// stdoutSpan is what the stdout exporter writes of a span, in part.
type stdoutSpan struct {
	Name        string
	SpanContext struct{ TraceID string }
	Status      struct{ Code string }
	Resource    []struct {
		Key   string
		Value struct{ Value any }
	}
}

// spansOf runs fn with a tracer of s writing to stdout, shuts down, and
// returns the spans written, one JSON object per line.
func spansOf(t *testing.T, s Settings, fn func(trace.Tracer)) []stdoutSpan {
	t.Helper()
	var out bytes.Buffer
	s.Mode, s.Stdout, s.Service = Stdout, &out, "vitrine"
	p, err := Setup(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	fn(p.Tracer("test"))
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	var spans []stdoutSpan
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var s stdoutSpan
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("stdout line is not one JSON span: %v\n%s", err, line)
		}
		spans = append(spans, s)
	}
	return spans
}

func names(spans []stdoutSpan) string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func TestSamplingKeepsErrors(t *testing.T) {
	// Ten traces of one ok span and ten of one failed span.
	run := func(tr trace.Tracer) {
		for range 10 {
			_, ok := tr.Start(context.Background(), "ok")
			ok.End()
			_, bad := tr.Start(context.Background(), "failed")
			bad.SetStatus(codes.Error, "timeout")
			bad.End()
		}
	}
	for _, tc := range []struct {
		name     string
		s        Settings
		ok, fail int
	}{
		{"every trace at ratio 1", Settings{Sample: 1, SampleSet: true}, 10, 10},
		{"ratio 0 keeps only errors", Settings{Sample: 0, SampleSet: true}, 0, 10},
		{"OTEL_TRACES_SAMPLER=always_off keeps only errors", Settings{Getenv: env("OTEL_TRACES_SAMPLER", "always_off")}, 0, 10},
		{"traceidratio 0 from the environment", Settings{Getenv: env("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG", "0")}, 0, 10},
		{"the flag wins over the environment", Settings{Sample: 1, SampleSet: true, Getenv: env("OTEL_TRACES_SAMPLER", "always_off")}, 10, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spans := spansOf(t, tc.s, run)
			if got := strings.Count(names(spans), "ok"); got != tc.ok {
				t.Errorf("ok spans exported: %d; want %d", got, tc.ok)
			}
			if got := strings.Count(names(spans), "failed"); got != tc.fail {
				t.Errorf("failed spans exported: %d; want %d", got, tc.fail)
			}
		})
	}
}

// TestSamplingDefault: unset (and no OTEL_TRACES_SAMPLER), about a tenth
// of the root traces are kept: of 2,000, 200 on average, 13 the standard
// deviation, so the bounds are 7 of them away.
func TestSamplingDefault(t *testing.T) {
	spans := spansOf(t, Settings{Getenv: env()}, func(tr trace.Tracer) {
		for range 2000 {
			_, s := tr.Start(context.Background(), "root")
			s.End()
		}
	})
	if got := len(spans); got < 110 || got > 290 {
		t.Errorf("%d of 2000 root traces kept; want about 200 (DefaultSample %g)", got, DefaultSample)
	}
}

func TestSamplingFollowsTheParent(t *testing.T) {
	parent := func(sampled bool) context.Context {
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, Remote: true,
			TraceFlags: trace.TraceFlags(0).WithSampled(sampled),
		})
		return trace.ContextWithRemoteSpanContext(context.Background(), sc)
	}
	spans := spansOf(t, Settings{Sample: 0, SampleSet: true}, func(tr trace.Tracer) {
		_, s := tr.Start(parent(true), "child of sampled")
		s.End()
		_, s = tr.Start(parent(false), "child of unsampled")
		s.End()
	})
	if got := names(spans); got != "child of sampled" {
		t.Errorf("exported %q; want only the child of a sampled parent", got)
	}
	if want := (trace.TraceID{1}).String(); spans[0].SpanContext.TraceID != want {
		t.Errorf("trace id %s; want the parent's", spans[0].SpanContext.TraceID)
	}
}

func TestServiceName(t *testing.T) {
	service := func(spans []stdoutSpan) any {
		for _, kv := range spans[0].Resource {
			if kv.Key == "service.name" {
				return kv.Value.Value
			}
		}
		return nil
	}
	one := func(tr trace.Tracer) { _, s := tr.Start(context.Background(), "x"); s.End() }
	every := Settings{Sample: 1, SampleSet: true}
	if got := service(spansOf(t, every, one)); got != "vitrine" {
		t.Errorf("service.name %v; want vitrine", got)
	}
	t.Setenv("OTEL_SERVICE_NAME", "shop-front")
	if got := service(spansOf(t, every, one)); got != "shop-front" {
		t.Errorf("service.name with OTEL_SERVICE_NAME %v; want shop-front", got)
	}
}

func TestBadSettings(t *testing.T) {
	for _, s := range []Settings{
		{Mode: "jaeger"},
		{Mode: Stdout, Sample: 1.5, SampleSet: true},
		{Mode: Stdout, Getenv: env("OTEL_TRACES_SAMPLER", "jaeger_remote")},
		{Mode: Stdout, Getenv: env("OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "half")},
	} {
		if _, err := Setup(t.Context(), s); err == nil {
			t.Errorf("Setup(%+v) = nil error; want one", s)
		}
	}
}

// TestOTLPExport runs an OTLP/HTTP receiver in the test: the exporter
// posts protobuf to OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces.
func TestOTLPExport(t *testing.T) {
	recv := tracingtest.NewReceiver(t, true)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	p, err := Setup(t.Context(), Settings{Mode: OTLP, Service: "vitrine", Sample: 1, SampleSet: true})
	if err != nil {
		t.Fatal(err)
	}
	_, s := p.Tracer("test").Start(context.Background(), "page")
	s.End()
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := recv.Spans()
	if len(got) != 1 || got[0].Name != "page" || got[0].Service != "vitrine" {
		t.Errorf("the receiver got spans %+v; want one, page, from vitrine", got)
	}
}

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("app", "vitrine")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{0xab}, SpanID: trace.SpanID{0xcd}})
	logger.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "traced")
	logger.InfoContext(context.Background(), "untraced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], "trace_id="+sc.TraceID().String()) || !strings.Contains(lines[0], "span_id="+sc.SpanID().String()) {
		t.Errorf("traced line %q; want its trace_id and span_id", lines[0])
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("untraced line %q; want no trace_id", lines[1])
	}
}
