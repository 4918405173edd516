package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/goleak"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/web"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Fetcher is an in-memory tiles.Fetcher: FetchFn says what each fetch does,
// and Calls counts the fetches that reached it.
type Fetcher struct {
	TileName string
	FetchFn  func(ctx context.Context, req tiles.Request) (any, error)
	calls    atomic.Int64
}

var _ tiles.Fetcher = (*Fetcher)(nil)

func (f *Fetcher) Name() string { return f.TileName }

func (f *Fetcher) Fetch(ctx context.Context, req tiles.Request) (any, error) {
	f.calls.Add(1)
	return f.FetchFn(ctx, req)
}

// Calls is how many fetches reached f.
func (f *Fetcher) Calls() int64 { return f.calls.Load() }

// okAfter is a tile that answers data after d, or gives up when ctx ends
// (as tiles.Fetcher requires).
func okAfter(name string, d time.Duration, data any) *Fetcher {
	return &Fetcher{TileName: name, FetchFn: func(ctx context.Context, req tiles.Request) (any, error) {
		if err := tiles.Wait(ctx, d); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return data, nil
	}}
}

// failing is a tile whose backend answers err at once.
func failing(name string, err error) *Fetcher {
	return &Fetcher{TileName: name, FetchFn: func(context.Context, tiles.Request) (any, error) {
		return nil, err
	}}
}

// panicking is a tile whose fetch panics with v.
func panicking(name string, v any) *Fetcher {
	return &Fetcher{TileName: name, FetchFn: func(context.Context, tiles.Request) (any, error) {
		panic(v)
	}}
}

// echoUser is a tile answering the user it was asked for.
func echoUser(name string) *Fetcher {
	return &Fetcher{TileName: name, FetchFn: func(_ context.Context, req tiles.Request) (any, error) {
		return map[string]string{"user": req.User}, nil
	}}
}

// threeOK returns the three built-in tile names as instant, healthy fakes.
func threeOK() []*Fetcher {
	return []*Fetcher{
		okAfter("banners", 0, map[string]string{"tile": "banners"}),
		okAfter("products", 0, map[string]string{"tile": "products"}),
		okAfter("recommendations", 0, map[string]string{"tile": "recommendations"}),
	}
}

// logBuffer collects a server's log lines; it is safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is a Vitrine web server over in-memory fetchers.
type server struct {
	e    *echo.Echo
	logs *logBuffer
}

// opts are the settings a test may give the server.
type opts struct {
	TileTimeout time.Duration
	TestDelay   time.Duration
	// LogTo receives the log lines instead of server.logs, if set.
	LogTo io.Writer
}

// newServer builds the Echo handler the way main does, over fs.
func newServer(t testing.TB, o opts, fs ...tiles.Fetcher) *server {
	t.Helper()
	logs := &logBuffer{}
	var w io.Writer = logs
	if o.LogTo != nil {
		w = o.LogTo
	}
	logger := slog.New(slog.NewTextHandler(w, nil))
	agg, err := aggregator.New(fs, aggregator.Options{TileTimeout: o.TileTimeout, Logger: logger})
	if err != nil {
		t.Fatalf("aggregator.New: %v", err)
	}
	return &server{e: web.NewServer(logger, agg, web.Options{TestDelay: o.TestDelay}), logs: logs}
}

// fetchers converts fakes to the interface for newServer.
func fetchers(fs ...*Fetcher) []tiles.Fetcher {
	out := make([]tiles.Fetcher, len(fs))
	for i, f := range fs {
		out[i] = f
	}
	return out
}

// builtins returns the real built-in tiles over the embedded catalogue, with
// the given latency and no failures.
func builtins(latency time.Duration) []tiles.Fetcher {
	cat := tiles.DefaultCatalogue()
	var fs []tiles.Fetcher
	for _, d := range tiles.Builtins() {
		fs = append(fs, tiles.Simulate(d, cat, latency, 0))
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
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

// pageJSON is /home as JSON.
type pageJSON struct {
	Tiles     map[string]tileJSON `json:"tiles"`
	ElapsedMS *float64            `json:"elapsed_ms"`
	Complete  *bool               `json:"complete"`
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
