package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"vitrine/aggregator"
	"vitrine/web"
)

// fakeMetrics stands for the Prometheus handler.
var fakeMetrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	io.WriteString(w, "vitrine_fake_metric 1\n")
})

// serveAdmin sends one request to h with ctx.
func serveAdmin(ctx context.Context, h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, method, target, nil))
	return rec
}

// errorBody checks that rec is the contract's JSON error with status and
// returns its message.
func errorBody(t *testing.T, rec *httptest.ResponseRecorder, status int) string {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d; want %d (body %q)", rec.Code, status, rec.Body)
	}
	var body map[string]string
	decodeJSON(t, rec, &body)
	if body["error"] == "" || len(body) != 1 {
		t.Fatalf("body = %q; want {\"error\": \"...\"}", rec.Body)
	}
	return body["error"]
}

func TestAdminServes(t *testing.T) {
	admin := web.NewAdmin(fakeMetrics, nil, nil)
	// A profile or trace ends when its request does: with the context
	// already done, each is taken over no time at all.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name        string
		ctx         context.Context
		method      string
		target      string
		contentType string // prefix
		has         string // in the body
	}{
		{name: "metrics", target: "/metrics", contentType: "text/plain", has: "vitrine_fake_metric 1"},
		{name: "healthz", target: "/healthz", contentType: "application/json", has: `{"status":"ok"}`},
		{name: "healthz HEAD", method: http.MethodHead, target: "/healthz", contentType: "application/json"},
		{name: "pprof index", target: "/debug/pprof/", contentType: "text/html", has: "goroutine"},
		{name: "pprof named profile", target: "/debug/pprof/goroutine?debug=1", contentType: "text/plain", has: "goroutine profile:"},
		{name: "pprof symbol", target: "/debug/pprof/symbol", contentType: "text/plain", has: "num_symbols"},
		{name: "pprof profile", ctx: done, target: "/debug/pprof/profile?seconds=1", contentType: "application/octet-stream"},
		{name: "pprof trace", ctx: done, target: "/debug/pprof/trace?seconds=1", contentType: "application/octet-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, method := tt.ctx, tt.method
			if ctx == nil {
				ctx = context.Background()
			}
			if method == "" {
				method = http.MethodGet
			}
			rec := serveAdmin(ctx, admin, method, tt.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s %s: status = %d; want 200 (body %.200q)", method, tt.target, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("%s %s: Content-Type = %q; want %s", method, tt.target, ct, tt.contentType)
			}
			if !strings.Contains(rec.Body.String(), tt.has) {
				t.Errorf("%s %s: body = %.200q; want it to contain %q", method, tt.target, rec.Body, tt.has)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s %s: X-Content-Type-Options = %q; want nosniff", method, tt.target, got)
			}
			if got := rec.Header().Get("Cache-Control"); strings.HasPrefix(tt.target, "/healthz") && got != "no-store" {
				t.Errorf("%s %s: Cache-Control = %q; want no-store, as on the public port", method, tt.target, got)
			}
		})
	}
}

func TestAdminErrors(t *testing.T) {
	tests := []struct {
		name    string
		metrics http.Handler
		method  string
		target  string
		status  int
		says    []string
	}{
		{name: "unknown path", metrics: fakeMetrics, method: http.MethodGet, target: "/home",
			status: http.StatusNotFound, says: []string{"/home", "/metrics", "/healthz", "/debug/pprof/"}},
		{name: "metrics not given", metrics: nil, method: http.MethodGet, target: "/metrics",
			status: http.StatusNotFound, says: []string{"no such path /metrics"}},
		{name: "POST metrics", metrics: fakeMetrics, method: http.MethodPost, target: "/metrics",
			status: http.StatusMethodNotAllowed, says: []string{"POST", "/metrics", "GET"}},
		{name: "DELETE healthz", metrics: fakeMetrics, method: http.MethodDelete, target: "/healthz",
			status: http.StatusMethodNotAllowed, says: []string{"DELETE", "/healthz"}},
		// The command line may hold a secret (-redis redis://:password@...).
		{name: "pprof cmdline", metrics: fakeMetrics, method: http.MethodGet, target: "/debug/pprof/cmdline",
			status: http.StatusNotFound, says: []string{"no such path /debug/pprof/cmdline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serveAdmin(context.Background(), web.NewAdmin(tt.metrics, nil, nil), tt.method, tt.target)
			msg := errorBody(t, rec, tt.status)
			for _, s := range tt.says {
				if !strings.Contains(msg, s) {
					t.Errorf("error = %q; want it to contain %q", msg, s)
				}
			}
			if tt.status == http.StatusMethodNotAllowed {
				if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
					t.Errorf("Allow = %q; want GET, HEAD", got)
				}
			}
		})
	}
}

// TestAdminPprofIndex: the pprof index links the named profiles, the CPU
// profile and the trace, and never cmdline, which is not served.
func TestAdminPprofIndex(t *testing.T) {
	rec := serveAdmin(context.Background(), web.NewAdmin(nil, nil, nil), http.MethodGet, "/debug/pprof/")
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /debug/pprof/: %d %q; want 200 HTML", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, link := range []string{`href="heap?debug=1"`, `href="goroutine?debug=1"`, `href="profile?seconds=30"`,
		`href="trace?seconds=5"`} {
		if !strings.Contains(body, link) {
			t.Errorf("GET /debug/pprof/ = %q; want a link %s", body, link)
		}
	}
	if strings.Contains(body, "cmdline") {
		t.Errorf("GET /debug/pprof/ = %q; want no cmdline", body)
	}
}

// TestPublicOperatorEndpoints: the public server serves /metrics only when
// given a handler for it (not when -admin-addr has it), and never pprof,
// although importing net/http/pprof fills http.DefaultServeMux. A 404
// points at /metrics only where it is served.
func TestPublicOperatorEndpoints(t *testing.T) {
	tests := []struct {
		name        string
		metrics     http.Handler
		metricsCode int
	}{
		{name: "metrics on the public port", metrics: fakeMetrics, metricsCode: http.StatusOK},
		{name: "metrics on the admin port", metrics: nil, metricsCode: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			agg, err := aggregator.New(fetchers(threeOK()...), aggregator.Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			s := &server{e: web.NewServer(logger, agg, web.Options{Metrics: tt.metrics})}

			rec := s.do(http.MethodGet, "/metrics")
			if tt.metricsCode == http.StatusOK {
				checkStatus(t, rec, http.StatusOK)
				if !strings.Contains(rec.Body.String(), "vitrine_fake_metric") {
					t.Errorf("GET /metrics: body = %q; want the metrics", rec.Body)
				}
			} else {
				errorBody(t, rec, http.StatusNotFound)
			}
			for _, target := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/profile", "/debug/pprof/symbol", "/debug/pprof/trace", "/debug/pprof/heap"} {
				errorBody(t, s.do(http.MethodGet, target), http.StatusNotFound)
			}

			msg := errorBody(t, s.do(http.MethodGet, "/nope"), http.StatusNotFound)
			_, suggested, _ := strings.Cut(msg, "try ")
			if got, want := strings.Contains(suggested, "/metrics"), tt.metrics != nil; got != want {
				t.Errorf("404 error = %q suggests /metrics: %t; want %t", msg, got, want)
			}
			if !strings.Contains(suggested, "/home") {
				t.Errorf("404 error = %q; want it to suggest /home", msg)
			}
		})
	}
}
