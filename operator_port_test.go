package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"vitrine/config"
	"vitrine/servertest"
)

// startAdmin is start with -admin-addr on a free loopback port: it waits
// for both addresses (the public one first) and both /healthz, and
// returns the admin port's base.
func startAdmin(t *testing.T, args ...string) (in *server, admin string) {
	t.Helper()
	in = runIn(t, run, append(slices.Clone(args), "-admin-addr", "127.0.0.1:0"), servingLine, adminLine)
	return in, in.urls[1]
}

// getRaw GETs url and returns the status, Content-Type and body.
func getRaw(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// checkJSON404 checks that url answers the contract's JSON 404.
func checkJSON404(t *testing.T, url string) {
	t.Helper()
	var body map[string]string
	if code := getJSON(t, http.DefaultClient, url, &body); code != http.StatusNotFound || body["error"] == "" {
		t.Errorf("GET %s: %d %q; want 404 {\"error\": ...}", url, code, body)
	}
}

// pprofPaths are the standard net/http/pprof endpoints.
var pprofPaths = []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/symbol", "/debug/pprof/heap", "/debug/pprof/profile", "/debug/pprof/trace"}

// TestRunAdminAddr: with -admin-addr, /metrics and pprof are on the admin
// port only, the public port answers 404 for them, and shutdown stops both.
func TestRunAdminAddr(t *testing.T) {
	in, admin := startAdmin(t, fastArgs...)

	if code, _, _ := getRaw(t, in.base+"/home?user=alice"); code != http.StatusOK {
		t.Fatalf("GET /home on the public port: status = %d; want 200", code)
	}
	t.Run("public port", func(t *testing.T) {
		checkJSON404(t, in.base+"/metrics")
		for _, p := range pprofPaths {
			checkJSON404(t, in.base+p)
		}
		var body map[string]string
		getJSON(t, http.DefaultClient, in.base+"/nope", &body)
		if strings.Contains(body["error"], "/metrics") {
			t.Errorf("GET /nope: error = %q; want it not to point at /metrics", body["error"])
		}
	})
	t.Run("admin port", func(t *testing.T) {
		m, err := scrapeMetrics(http.DefaultClient, admin)
		if err != nil {
			t.Fatalf("scraping the admin port's /metrics: %v", err)
		}
		// The same registry as the public server's: its page is counted.
		if got := m.sum("vitrine_page_duration_seconds_count"); got < 1 {
			t.Errorf("vitrine_page_duration_seconds_count = %v on the admin port; want >= 1 after a page", got)
		}
		code, ct, body := getRaw(t, admin+"/debug/pprof/")
		if code != http.StatusOK || !strings.HasPrefix(ct, "text/html") || !strings.Contains(body, "goroutine") {
			t.Errorf("GET /debug/pprof/ on the admin port: %d %q %.100q; want 200 and the profile index", code, ct, body)
		}
		code, _, body = getRaw(t, admin+"/debug/pprof/goroutine?debug=1")
		if code != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
			t.Errorf("GET /debug/pprof/goroutine?debug=1 on the admin port: %d %.100q; want 200 and a profile", code, body)
		}
		checkJSON404(t, admin+"/home")
	})

	if err := in.stop(); err != nil {
		t.Fatalf("run returned %v after its context ended; want nil", err)
	}
	for _, base := range []string{in.base, admin} {
		if c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after run returned; want it closed", base)
		}
	}
}

// TestRunAdminAddrDuringDrain: the admin port answers while the public
// port drains a request in flight, so that the drain can be watched.
func TestRunAdminAddrDuringDrain(t *testing.T) {
	in, admin := startAdmin(t, append([]string{"-test-delay", "2s"}, fastArgs...)...)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		if resp, err := http.Get(in.base + "/test"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	awaitInFlight(t, admin, "/test", 1, 0, ended)
	in.interrupt()
	// Shutdown closes the public listener first; the /test is still
	// running (2s), so the public server is draining.
	publicAddr := strings.TrimPrefix(in.base, "http://")
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", publicAddr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the public port still accepts connections 10s after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	m, err := scrapeMetrics(http.DefaultClient, admin)
	if err != nil {
		t.Fatalf("scraping the admin port while the public one drains: %v; want the metrics", err)
	}
	select {
	case <-ended:
		t.Fatalf("the /test ended before the scrape: the drain was not observed (is the machine stalled for 2s?)")
	default:
	}
	if got := m.sum("vitrine_http_requests_in_flight", "route", "/test"); got != 1 {
		t.Errorf("/test requests in flight during the drain = %v; want 1", got)
	}
	<-ended
	if err := in.stop(); err != nil {
		t.Errorf("run returned %v; want nil", err)
	}
}

// TestRunWithoutAdminAddr: unset, /metrics is on the public port as the
// embedded default has it, and pprof is served nowhere.
func TestRunWithoutAdminAddr(t *testing.T) {
	in := start(t, fastArgs...) // start wants one line on stdout: no admin port
	if _, err := scrapeMetrics(http.DefaultClient, in.base); err != nil {
		t.Errorf("scraping the public port's /metrics: %v; want the metrics", err)
	}
	for _, p := range pprofPaths {
		checkJSON404(t, in.base+p)
	}
	var body map[string]string
	getJSON(t, http.DefaultClient, in.base+"/nope", &body)
	if !strings.Contains(body["error"], "/metrics") {
		t.Errorf("GET /nope: error = %q; want it to suggest /metrics, served here", body["error"])
	}
}

// TestRunAdminAddrErrors: a busy admin address stops run before it
// announces anything, as a busy -addr does (exit 1); the same address as
// -addr is a flag error (exit 2) naming -admin-addr.
func TestRunAdminAddrErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	t.Run("busy", func(t *testing.T) {
		var stdout servertest.Buffer
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-admin-addr", busy.Addr().String()}, noEnv, &stdout, io.Discard)
		var ce *config.Error
		if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "-admin-addr") {
			t.Errorf("run with a busy -admin-addr = %v; want a listen error naming -admin-addr, not a *config.Error", err)
		}
		if got := stdout.String(); got != "" {
			t.Errorf("stdout = %q; want nothing announced", got)
		}
	})
	t.Run("same as -addr", func(t *testing.T) {
		addr := busy.Addr().String()
		err := run(context.Background(), []string{"-addr", addr, "-admin-addr", addr}, noEnv, io.Discard, io.Discard)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Flag != "-admin-addr" {
			t.Errorf("run with -admin-addr equal to -addr = %v; want a *config.Error naming -admin-addr", err)
		}
	})
}
