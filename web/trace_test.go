package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// The client's span, as a browser extension or a tracing proxy sends it.
const (
	clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan  = "00f067aa0ba902b7"
)

// traceparent is the client's W3C header value, sampled or not.
func traceparent(sampled bool) string {
	flags := "00"
	if sampled {
		flags = "01"
	}
	return "traceparent: 00-" + clientTrace + "-" + clientSpan + "-" + flags
}

// newRecorder returns a tracer provider whose ended spans rec holds.
func newRecorder() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	return rec, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
}

// spannedTile is a tile that answers after d and, as the aggregator's tile
// spans do, starts a "tile NAME" span with tr under the context it is
// fetched with; so its parent shows where the page ran its tiles. It
// records whether that context carried a span at all.
func spannedTile(tr trace.Tracer, name string, d time.Duration, sawSpan *sync.Map) *tilestest.Fetcher {
	inner := tilestest.After(name, d, tilestest.String(name))
	return &tilestest.Fetcher{TileName: name, FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		sawSpan.Store(name, trace.SpanContextFromContext(ctx).IsValid())
		ctx, span := tr.Start(ctx, "tile "+name)
		defer span.End()
		return inner.FetchFn(ctx, req)
	}}
}

// byName indexes spans by name; a name given twice fails the test.
func byName(t *testing.T, spans []sdktrace.ReadOnlySpan) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	out := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if _, dup := out[s.Name()]; dup {
			t.Errorf("two spans named %q", s.Name())
		}
		out[s.Name()] = s
	}
	return out
}

// attrs returns a span's attributes by key.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

// bodyTraceID is the trace id that a /home response in form f shows ("" none).
func bodyTraceID(t *testing.T, f, body string) string {
	t.Helper()
	switch f {
	case "html":
		_, rest, ok := strings.Cut(body, `data-trace-id="`)
		if !ok {
			return ""
		}
		id, _, _ := strings.Cut(rest, `"`)
		if !strings.Contains(body, `<p class="trace-id">Trace <code>`+id+`</code></p>`) {
			t.Errorf("the waterfall has data-trace-id %q but does not show it", id)
		}
		return id
	case "ndjson":
		lines := strings.Split(strings.TrimSpace(body), "\n")
		body = lines[len(lines)-1] // the summary
	}
	var summary struct {
		TraceID *string `json:"trace_id"`
	}
	if err := json.Unmarshal([]byte(body), &summary); err != nil {
		t.Fatalf("summary %q: %v", body, err)
	}
	if summary.TraceID == nil {
		return ""
	}
	if *summary.TraceID == "" {
		t.Errorf(`summary has "trace_id": ""; want the key only when traced`)
	}
	return *summary.TraceID
}

// TestTracedPage: a /home request carrying a client's traceparent is one
// trace: the server span (named by route) under the client's span, the page
// span under it with the page's attributes and, as a tile timed out, an
// error status naming it; the tiles under the page span. Every form shows
// the trace id, and the access log line carries it.
func TestTracedPage(t *testing.T) {
	tests := []struct {
		format, target string
		user           bool
	}{
		{"json", "/home?format=json", false},
		{"html", "/home?format=html&user=ann", true},
		{"ndjson", "/home?format=ndjson", false},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec, tp := newRecorder()
				tr := tp.Tracer("test")
				var saw sync.Map
				s := newServer(t, opts{TileTimeout: 100 * time.Millisecond, TracerProvider: tp}, fetchers(
					spannedTile(tr, "banners", 10*time.Millisecond, &saw),
					spannedTile(tr, "products", 20*time.Millisecond, &saw),
					spannedTile(tr, "recommendations", time.Second, &saw),
				)...)
				res := s.do(http.MethodGet, tt.target, traceparent(true))
				checkStatus(t, res, http.StatusOK)

				spans := byName(t, rec.Ended())
				server, page := spans["GET /home"], spans["page"]
				if server == nil || page == nil {
					t.Fatalf("spans %v; want GET /home and page", keys(spans))
				}
				if server.SpanKind() != trace.SpanKindServer || server.Parent().SpanID().String() != clientSpan || !server.Parent().IsRemote() {
					t.Errorf("server span: kind %v, parent %v; want a server span under the client's %s", server.SpanKind(), server.Parent().SpanID(), clientSpan)
				}
				if page.Parent().SpanID() != server.SpanContext().SpanID() {
					t.Errorf("page span's parent %v; want the server span %v", page.Parent().SpanID(), server.SpanContext().SpanID())
				}
				for _, name := range []string{"banners", "products", "recommendations"} {
					tile := spans["tile "+name]
					if tile == nil || tile.Parent().SpanID() != page.SpanContext().SpanID() {
						t.Errorf("tile %s's span %v; want one under the page span", name, tile)
					}
				}
				for name, s := range spans {
					if got := s.SpanContext().TraceID().String(); got != clientTrace {
						t.Errorf("span %q in trace %s; want the client's %s", name, got, clientTrace)
					}
				}
				a := attrs(page)
				if a["vitrine.format"].AsString() != tt.format || a["vitrine.user"].AsBool() != tt.user ||
					a["vitrine.tiles"].AsInt64() != 3 || a["vitrine.complete"].AsBool() || a["vitrine.complete"].Type() != attribute.BOOL {
					t.Errorf("page attributes %v; want format %s, user %v, 3 tiles, not complete", page.Attributes(), tt.format, tt.user)
				}
				if st := page.Status(); st.Code != codes.Error || st.Description != "recommendations timeout" {
					t.Errorf("page status %+v; want Error naming recommendations timeout", st)
				}
				if got := bodyTraceID(t, tt.format, res.Body.String()); got != clientTrace {
					t.Errorf("the page shows trace id %q; want %s", got, clientTrace)
				}
				if tt.format == "json" && res.Header().Get("Server-Timing") == "" {
					t.Error("Server-Timing is missing from a traced page")
				}
				if want := "trace_id=" + clientTrace + " span_id=" + server.SpanContext().SpanID().String(); !logLine(s.logs.String(), "msg=request", want) {
					t.Errorf("no access log line with %q:\n%s", want, s.logs)
				}
			})
		})
	}
}

// logLine reports whether a line of logs contains every one of parts.
func logLine(logs string, parts ...string) bool {
	for line := range strings.SplitSeq(logs, "\n") {
		found := true
		for _, p := range parts {
			found = found && strings.Contains(line, p)
		}
		if found {
			return true
		}
	}
	return false
}

// TestPageTraceID: the page shows a trace id only when there is a trace to
// find: not with tracing off (when a client's traceparent is not even
// read), nor for a trace the sampler dropped, unless a tile failed, whose
// error spans are kept whatever the sampler said.
func TestPageTraceID(t *testing.T) {
	tests := []struct {
		name         string
		traced       bool
		sampled      bool
		failing      bool
		wantID       bool
		wantTileSpan bool // the tiles' context carries a span
	}{
		{"off", false, true, false, false, false},
		{"off with a failing tile", false, true, true, false, false},
		{"sampled", true, true, false, true, true},
		{"not sampled", true, false, false, false, true},
		{"not sampled but a tile failed", true, false, true, true, true},
	}
	for _, tt := range tests {
		for _, f := range []string{"json", "html", "ndjson"} {
			t.Run(tt.name+"/"+f, func(t *testing.T) {
				rec, tp := newRecorder()
				o := opts{}
				if tt.traced {
					o.TracerProvider = tp
				}
				var saw sync.Map
				last := spannedTile(tp.Tracer("test"), "recommendations", 0, &saw)
				if tt.failing {
					last = tilestest.Failing("recommendations", errors.New("recommendations: backend said 503"))
				}
				s := newServer(t, o, fetchers(spannedTile(tp.Tracer("test"), "banners", 0, &saw), last)...)
				res := s.do(http.MethodGet, "/home?format="+f, traceparent(tt.sampled))
				checkStatus(t, res, http.StatusOK)
				got := bodyTraceID(t, f, res.Body.String())
				if want := map[bool]string{true: clientTrace}[tt.wantID]; got != want {
					t.Errorf("trace id shown %q; want %q", got, want)
				}
				if v, _ := saw.Load("banners"); v != tt.wantTileSpan {
					t.Errorf("the tiles' context carries a span: %v; want %v", v, tt.wantTileSpan)
				}
				if !tt.traced {
					for _, sp := range rec.Ended() {
						if !strings.HasPrefix(sp.Name(), "tile ") { // the test tiles' own
							t.Errorf("tracing off made span %q; want none", sp.Name())
						}
					}
				}
			})
		}
	}
}

// TestServerSpanNames: the server span is named by the route Echo chose,
// never by the client's path or an unknown method, and records the status.
func TestServerSpanNames(t *testing.T) {
	tests := []struct {
		method, target string
		want           string
		status         int
	}{
		{http.MethodGet, "/home", "GET /home", http.StatusOK},
		{http.MethodHead, "/home", "HEAD /home", http.StatusOK},
		{http.MethodGet, "/tiles/banners", "GET /tiles/:name", http.StatusOK},
		{http.MethodGet, "/tiles/nope", "GET /tiles/:name", http.StatusNotFound},
		{http.MethodGet, "/static/vitrine.css", "GET /static/*", http.StatusOK},
		{http.MethodGet, "/no/such/path", "GET unrouted", http.StatusNotFound},
		{http.MethodPost, "/home", "HTTP unrouted", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec, tp := newRecorder()
			s := newServer(t, opts{TracerProvider: tp}, fetchers(threeOK()...)...)
			checkStatus(t, s.do(tt.method, tt.target), tt.status)
			var server sdktrace.ReadOnlySpan
			for _, s := range rec.Ended() {
				if s.SpanKind() == trace.SpanKindServer {
					server = s
				}
			}
			if server == nil {
				t.Fatal("no server span")
			}
			if server.Name() != tt.want {
				t.Errorf("server span %q; want %q", server.Name(), tt.want)
			}
			if got := attrs(server)["http.response.status_code"].AsInt64(); got != int64(tt.status) {
				t.Errorf("http.response.status_code = %d; want %d", got, tt.status)
			}
		})
	}
}

// TestPageSpanStreamStopped: a stream that stops early (its client left)
// ends its page span in error, saying so.
func TestPageSpanStreamStopped(t *testing.T) {
	for _, f := range []string{"html", "ndjson"} {
		t.Run(f, func(t *testing.T) {
			rec, tp := newRecorder()
			ctx, leave := context.WithCancel(t.Context())
			defer leave()
			// The client leaves as the first tile is fetched.
			leaving := &tilestest.Fetcher{TileName: "banners", FetchFn: func(context.Context, tiles.Request) (tiles.Outcome, error) {
				leave()
				return tiles.Fresh(tilestest.String("banners")), nil
			}}
			s := newServer(t, opts{TracerProvider: tp}, leaving)
			s.doContext(ctx, http.MethodGet, "/home?format="+f, traceparent(true))
			page := byName(t, rec.Ended())["page"]
			if page == nil {
				t.Fatal("no page span")
			}
			if st := page.Status(); st.Code != codes.Error || !strings.HasPrefix(st.Description, "stream stopped: ") {
				t.Errorf("page status %+v; want Error saying the stream stopped", st)
			}
		})
	}
}

// noFlush is a response writer that cannot flush, so a stream fails at
// its first flush, before any tile runs.
type noFlush struct{ w http.ResponseWriter }

func (n noFlush) Header() http.Header         { return n.w.Header() }
func (n noFlush) Write(p []byte) (int, error) { return n.w.Write(p) }
func (n noFlush) WriteHeader(code int)        { n.w.WriteHeader(code) }

// TestPageSpanEndsWhenStreamFailsEarly: a stream that fails before its
// tiles run still ends its page span (an unended span is never exported).
func TestPageSpanEndsWhenStreamFailsEarly(t *testing.T) {
	for _, f := range []string{"html", "ndjson"} {
		t.Run(f, func(t *testing.T) {
			rec, tp := newRecorder()
			s := newServer(t, opts{TracerProvider: tp}, fetchers(threeOK()...)...)
			req := httptest.NewRequest(http.MethodGet, "/home?format="+f, nil)
			s.e.ServeHTTP(noFlush{httptest.NewRecorder()}, req)
			if byName(t, rec.Ended())["page"] == nil {
				t.Errorf("spans %v; want the page span ended", keys(byName(t, rec.Ended())))
			}
		})
	}
}
