// Package tracingtest receives the spans Vitrine exports, for tests: an
// OTLP/HTTP trace receiver in the test process.
package tracingtest

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Receiver is an OTLP/HTTP trace receiver in the test process: what an
// OpenTelemetry collector would receive from Vitrine's -trace otlp. Point
// OTEL_EXPORTER_OTLP_ENDPOINT at its URL.
type Receiver struct {
	URL string
	tb  testing.TB

	mu    sync.Mutex
	spans []Span
	count int // spans received, kept or not
	keep  bool
}

// Span is one span as the receiver decoded it.
type Span struct {
	Service, Name           string
	TraceID, SpanID, Parent string // hex; Parent "" for a root
	Attrs                   map[string]string
	Links                   []string // the span ids linked to
	Error                   bool
}

// NewReceiver serves until the test ends. With keep false it only
// counts spans (for benchmarks). A request that is not an OTLP/HTTP
// protobuf export fails the test.
func NewReceiver(tb testing.TB, keep bool) *Receiver {
	r := &Receiver{keep: keep, tb: tb}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	var in collectortrace.ExportTraceServiceRequest
	ct := req.Header.Get("Content-Type")
	if err != nil || req.URL.Path != "/v1/traces" || ct != "application/x-protobuf" || proto.Unmarshal(body, &in) != nil {
		r.tb.Errorf("OTLP receiver: %s %s (%s): not an OTLP/HTTP protobuf trace export", req.Method, req.URL.Path, ct)
		http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, rs := range in.ResourceSpans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.count++
				if !r.keep {
					continue
				}
				rec := Span{
					Service: service, Name: s.Name, TraceID: hex.EncodeToString(s.TraceId),
					SpanID: hex.EncodeToString(s.SpanId), Parent: hex.EncodeToString(s.ParentSpanId),
					Attrs: attrs(s.Attributes), Error: s.GetStatus().GetCode() == 2,
				}
				for _, l := range s.Links {
					rec.Links = append(rec.Links, hex.EncodeToString(l.SpanId))
				}
				r.spans = append(r.spans, rec)
			}
		}
	}
	r.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// attrs flattens OTLP attributes to strings.
func attrs(kvs []*commonv1.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		switch v := kv.Value.GetValue().(type) {
		case *commonv1.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonv1.AnyValue_BoolValue:
			m[kv.Key] = strconv.FormatBool(v.BoolValue)
		case *commonv1.AnyValue_IntValue:
			m[kv.Key] = strconv.FormatInt(v.IntValue, 10)
		case *commonv1.AnyValue_DoubleValue:
			m[kv.Key] = strconv.FormatFloat(v.DoubleValue, 'g', -1, 64)
		}
	}
	return m
}

// Spans returns the spans kept so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Count returns how many spans arrived.
func (r *Receiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}
