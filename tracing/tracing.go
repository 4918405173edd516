// Package tracing sets up OpenTelemetry tracing: off (the default: no
// provider, no span at all), stdout (spans as JSON lines) or otlp
// (OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT). Traces are sampled at a
// ratio (DefaultSample unless told), a caller's decision followed, and a
// span that ends in error is exported whatever the sampling decided.
// LogHandler puts the trace id on every log line of a traced context.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// The modes of -trace.
const (
	Off    = "off"
	Stdout = "stdout"
	OTLP   = "otlp"
)

// DefaultSample is the share of traces kept when neither Settings nor the
// OTEL_TRACES_SAMPLER variables say.
const DefaultSample = 0.1

// queueSize bounds the spans waiting for the exporter; past it, new ones
// are dropped.
const queueSize = 8192

// Modes lists the values -trace accepts (config checks it by this list).
var Modes = []string{Off, Stdout, OTLP}

// Settings say how to trace.
type Settings struct {
	Mode string // Off, Stdout or OTLP
	// Sample is the share of traces kept, in [0, 1], when SampleSet;
	// otherwise OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG say, and
	// without them DefaultSample. A parent's decision is followed.
	Sample    float64
	SampleSet bool
	Service   string              // service.name unless OTEL_SERVICE_NAME says otherwise
	Stdout    io.Writer           // where Stdout mode writes
	Getenv    func(string) string // the environment (os.Getenv)
}

// Provider is the tracer provider of a run; nil, or empty, when off.
type Provider struct {
	tp     *sdktrace.TracerProvider // nil when off
	client *http.Client             // the OTLP exporter's, if Vitrine made it
}

// Setup returns the Provider s asks for. Off costs nothing: its
// TracerProvider and Tracers are nil.
func Setup(ctx context.Context, s Settings) (*Provider, error) {
	if s.Mode == "" || s.Mode == Off {
		return &Provider{}, nil
	}
	sampler, err := newSampler(s)
	if err != nil {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	var client *http.Client // the OTLP exporter's, if Vitrine made it
	switch s.Mode {
	case Stdout:
		exp, err = stdouttrace.New(stdouttrace.WithWriter(s.Stdout))
	case OTLP:
		exp, client, err = otlpExporter(ctx, s.Getenv)
	default:
		return nil, fmt.Errorf("tracing: unknown mode %q (want %s)", s.Mode, strings.Join(Modes, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: %s exporter: %w", s.Mode, err)
	}
	// The default service name first, then OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES, which win.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(s.Service)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
		sdktrace.WithSpanProcessor(keepErrors{sdktrace.NewBatchSpanProcessor(exp,
			// Larger than the defaults, which drop spans at a cached page rate.
			sdktrace.WithMaxQueueSize(queueSize), sdktrace.WithMaxExportBatchSize(queueSize/4))}),
	)
	return &Provider{tp: tp, client: client}, nil
}

// otlpExporter is the OTLP/HTTP exporter, with an HTTP client of Vitrine's
// own so that Shutdown can close its idle connection, unless certificate
// variables are set: then the exporter's own client reads them.
func otlpExporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, *http.Client, error) {
	for _, v := range []string{"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE"} {
		if getenv != nil && getenv(v) != "" {
			exp, err := otlptracehttp.New(ctx)
			return exp, nil, err
		}
	}
	client := &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		Timeout:   10 * time.Second, // the exporter's default timeout
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithHTTPClient(client))
	return exp, client, err
}

// TracerProvider returns the provider, or nil when tracing is off.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil || p.tp == nil {
		return nil
	}
	return p.tp
}

// Tracer returns the named tracer, or nil when tracing is off.
func (p *Provider) Tracer(name string) trace.Tracer {
	if p == nil || p.tp == nil {
		return nil
	}
	return p.tp.Tracer(name)
}

// Shutdown exports the spans still buffered and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.tp == nil {
		return nil
	}
	err := p.tp.Shutdown(ctx)
	if p.client != nil {
		p.client.CloseIdleConnections()
	}
	return err
}

// newSampler is the head sampler s asks for, recording what it does not
// sample (recordAll).
func newSampler(s Settings) (sdktrace.Sampler, error) {
	ratio := DefaultSample
	switch {
	case s.SampleSet:
		ratio = s.Sample
	case s.Getenv != nil && s.Getenv("OTEL_TRACES_SAMPLER") != "":
		var err error
		if ratio, err = envRatio(s.Getenv("OTEL_TRACES_SAMPLER"), s.Getenv("OTEL_TRACES_SAMPLER_ARG")); err != nil {
			return nil, err
		}
	}
	if ratio < 0 || ratio > 1 {
		return nil, fmt.Errorf("tracing: sample ratio %g is not in [0, 1]", ratio)
	}
	return recordAll{sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))}, nil
}

// envRatio reads the standard sampler variables. Every sampler Vitrine
// builds follows its parent, so the parentbased_ forms mean the same.
func envRatio(name, arg string) (float64, error) {
	switch strings.TrimPrefix(name, "parentbased_") {
	case "always_on":
		return 1, nil
	case "always_off":
		return 0, nil
	case "traceidratio":
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("tracing: OTEL_TRACES_SAMPLER_ARG=%q is not a ratio in [0, 1]", arg)
		}
		return r, nil
	}
	return 0, fmt.Errorf("tracing: OTEL_TRACES_SAMPLER=%q is not supported "+
		"(always_on, always_off, traceidratio, and their parentbased_ forms are)", name)
}

// recordAll records the spans its sampler drops, unsampled, so that
// keepErrors sees how they end.
type recordAll struct{ sdktrace.Sampler }

func (r recordAll) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	res := r.Sampler.ShouldSample(p)
	if res.Decision == sdktrace.Drop {
		res.Decision = sdktrace.RecordOnly
	}
	return res
}

func (r recordAll) Description() string { return "RecordAll{" + r.Sampler.Description() + "}" }

// keepErrors hands the exporter's processor the sampled spans, and the
// unsampled ones that ended in error, marked sampled so that it takes them.
type keepErrors struct{ sdktrace.SpanProcessor }

func (k keepErrors) OnEnd(s sdktrace.ReadOnlySpan) {
	switch {
	case s.SpanContext().IsSampled():
		k.SpanProcessor.OnEnd(s)
	case s.Status().Code == codes.Error:
		k.SpanProcessor.OnEnd(kept{s})
	}
}

// kept is an unsampled span exported because it ended in error.
type kept struct{ sdktrace.ReadOnlySpan }

func (k kept) SpanContext() trace.SpanContext {
	sc := k.ReadOnlySpan.SpanContext()
	return sc.WithTraceFlags(sc.TraceFlags().WithSampled(true))
}

// LogHandler returns h adding trace_id and span_id to every record logged
// with a context that carries a span.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.Handler.WithGroup(name)}
}

// HTTPOptions are the otelhttp options of every traced HTTP server and
// client of Vitrine's, then more: spans on tp, the W3C traceparent, and no
// metrics through the global meter provider (Vitrine's are Prometheus').
func HTTPOptions(tp trace.TracerProvider, more ...otelhttp.Option) []otelhttp.Option {
	return append([]otelhttp.Option{
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
	}, more...)
}

// SpanName names a server span "GET /route", or "GET unrouted" when no
// route took the request; a method other than GET or HEAD is "HTTP". A
// stray request must not make a name of its own.
func SpanName(method, route string) string {
	if method != http.MethodGet && method != http.MethodHead {
		method = "HTTP"
	}
	if route == "" {
		route = "unrouted"
	}
	return method + " " + route
}
