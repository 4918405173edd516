package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/identity"
	"vitrine/servertest"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
	"vitrine/tracing"
	"vitrine/web"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echoUser is a tile answering the user it was asked for.
func echoUser(name string) *tilestest.Fetcher {
	return &tilestest.Fetcher{TileName: name, FetchFn: func(_ context.Context, req tiles.Request) (tiles.Outcome, error) {
		data, err := json.Marshal(map[string]string{"user": req.User})
		return tiles.Fresh(data), err
	}}
}

// threeOK returns the three built-in tile names as instant, healthy fakes,
// each answering {"tile": NAME}.
func threeOK() []*tilestest.Fetcher {
	return []*tilestest.Fetcher{
		tilestest.After("banners", 0, json.RawMessage(`{"tile":"banners"}`)),
		tilestest.After("products", 0, json.RawMessage(`{"tile":"products"}`)),
		tilestest.After("recommendations", 0, json.RawMessage(`{"tile":"recommendations"}`)),
	}
}

// server is a Vitrine web server over in-memory fetchers.
type server struct {
	e    *echo.Echo
	logs *servertest.Buffer
}

// opts are the settings a test may give the server.
type opts struct {
	TileTimeout time.Duration
	TestDelay   time.Duration
	// LogTo receives the log lines instead of server.logs, if set.
	LogTo io.Writer
	// Primary, Views and TracerProvider are web.Options'.
	Primary        string
	Views          map[string]string
	TracerProvider trace.TracerProvider
	// Identity is web.Options'.
	Identity identity.Source
	// AccessLog, if set, receives the request lines (web.Options.AccessLog).
	AccessLog io.Writer
	// Pages are web.Options', each given the server's aggregator when it has none.
	Pages []web.Page
}

// newServer builds the Echo handler the way main does, over fs.
func newServer(t testing.TB, o opts, fs ...tiles.Fetcher) *server {
	t.Helper()
	logs := &servertest.Buffer{}
	var w io.Writer = logs
	if o.LogTo != nil {
		w = o.LogTo
	}
	// Log lines carry the trace id of a traced request, as main's do.
	logger := slog.New(tracing.LogHandler(slog.NewTextHandler(w, nil)))
	agg, err := aggregator.New(fs, aggregator.Options{TileTimeout: o.TileTimeout, Logger: logger})
	if err != nil {
		t.Fatalf("aggregator.New: %v", err)
	}
	wo := web.Options{TestDelay: o.TestDelay, Primary: o.Primary, Views: o.Views, TracerProvider: o.TracerProvider, Identity: o.Identity}
	for _, p := range o.Pages {
		if p.Agg == nil {
			p.Agg = agg
		}
		wo.Pages = append(wo.Pages, p)
	}
	if o.AccessLog != nil {
		wo.AccessLog = slog.New(slog.NewTextHandler(o.AccessLog, nil))
	}
	return &server{e: web.NewServer(logger, agg, wo), logs: logs}
}

// fetchers converts fakes to the interface for newServer.
func fetchers(fs ...*tilestest.Fetcher) []tiles.Fetcher {
	out := make([]tiles.Fetcher, len(fs))
	for i, f := range fs {
		out[i] = f
	}
	return out
}

// builtins returns the built-in tiles' simulated backends over the embedded
// catalogue, with the given latency and no failures.
func builtins(t testing.TB, latency time.Duration) []tiles.Fetcher {
	t.Helper()
	cat := catalogue.Default()
	var fs []tiles.Fetcher
	for _, d := range sim.Builtins() {
		s, err := sim.New(d, cat, sim.Backend{Latency: latency})
		if err != nil {
			t.Fatalf("sim.New(%s): %v", d.Name, err)
		}
		fs = append(fs, s)
	}
	return fs
}

// do serves one request through the whole Echo stack (routing, middleware,
// error handler). header is "Name: value" pairs.
func (s *server) do(method, target string, header ...string) *httptest.ResponseRecorder {
	return s.doContext(context.Background(), method, target, header...)
}

func (s *server) doContext(ctx context.Context, method, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, method, target, nil)
	for _, h := range header {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return rec
}

// tileJSON is one tile as the contract shows it.
type tileJSON struct {
	Name      string          `json:"name"`
	Status    string          `json:"status"`
	StartMS   *float64        `json:"start_ms"`
	ElapsedMS *float64        `json:"elapsed_ms"`
	AgeMS     *float64        `json:"age_ms"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

// pageJSON is /home as JSON.
type pageJSON struct {
	Tiles     map[string]tileJSON `json:"tiles"`
	ElapsedMS *float64            `json:"elapsed_ms"`
	Complete  *bool               `json:"complete"`
}

// tilesOrder returns the names of the tiles object of a JSON page, in the
// order written.
func tilesOrder(t *testing.T, body []byte) []string {
	t.Helper()
	var page struct {
		Tiles json.RawMessage `json:"tiles"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("body %q: %v; want JSON", body, err)
	}
	dec := json.NewDecoder(bytes.NewReader(page.Tiles))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("tiles = %s; want an object", page.Tiles)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// decodeJSON checks that rec holds a JSON body and decodes it into v.
func decodeJSON(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	checkJSONType(t, rec)
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %q: %v; want JSON", rec.Body.String(), err)
	}
}

func checkJSONType(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	ct := rec.Header().Get(echo.HeaderContentType)
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		t.Errorf("Content-Type = %q; want UTF-8", ct)
	}
}

// checkStatus fails the test now if rec's status is not want.
func checkStatus(t *testing.T, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status = %d; want %d (body %s)", rec.Code, want, rec.Body)
	}
}

// serverTiming parses a Server-Timing value into each entry's dur and desc,
// failing on a malformed entry or a name given twice.
func serverTiming(t *testing.T, v string) map[string]timing {
	t.Helper()
	out := map[string]timing{}
	if v == "" {
		t.Fatalf("Server-Timing is missing")
	}
	for _, entry := range strings.Split(v, ",") {
		parts := strings.Split(strings.TrimSpace(entry), ";")
		name := parts[0]
		if _, dup := out[name]; dup {
			t.Errorf("Server-Timing %q: %s given twice", v, name)
		}
		var tm timing
		hasDur := false
		for _, p := range parts[1:] {
			k, val, _ := strings.Cut(p, "=")
			switch k {
			case "dur":
				d, err := strconv.ParseFloat(val, 64)
				if err != nil || d < 0 {
					t.Errorf("Server-Timing %q: %s has dur=%q; want a number of ms", v, name, val)
				}
				tm.dur, hasDur = d, true
			case "desc":
				tm.desc = strings.Trim(val, `"`)
			}
		}
		if !hasDur {
			t.Errorf("Server-Timing %q: %s has no dur", v, name)
		}
		out[name] = tm
	}
	return out
}

type timing struct {
	dur  float64
	desc string
}

// keys returns m's keys, sorted.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
