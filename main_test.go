package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/config"
	"vitrine/servertest"
)

// Most tests of this package run whole Vitrines on loopback ports, each a
// server started by launch: run or runBackends in this process (start,
// startBackends, startAdmin), or the built binary as a child process
// (startBinary). By file:
//
//	main_test.go           the launcher; run's own result, shutdown, flags
//	binary_test.go         the binary: exit codes, signals, GC settings, drain
//	operator_port_test.go  -admin-addr
//	readyz_test.go, metrics_e2e_test.go, edge_replies_test.go,
//	backends_test.go       what the wired server answers; the examples
//	dashboard_test.go      the Grafana dashboard names only exposed series
//	policy_test.go         the tiles' policies as main builds them
//	replicas_test.go       replicas behind nginx sharing a redis-server, one
//	                       of them the binary stopped by SIGTERM
//	trace_test.go          one trace across Vitrine and `vitrine backends`
//	load_driver_test.go    the closed-loop load driver and /metrics reader
//	load_test.go, replicas_bench_test.go, trace_bench_test.go
//	                       the benchmarks under load

// noEnv is a getenv that sees no VITRINE_* variable.
func noEnv(string) string { return "" }

// fastArgs give the tiles latencies of a few ms.
var fastArgs = []string{"-latency", "banners=1ms,products=2ms,recommendations=3ms"}

// What Vitrine and `vitrine backends` print on stdout once serving, ADDR
// standing for an address.
const (
	servingLine  = "vitrine: serving http://ADDR/home"
	adminLine    = "vitrine: admin on http://ADDR/metrics"
	backendsLine = "vitrine backends: serving http://ADDR/{banners,products,recommendations,notice,category}"
)

// server is a Vitrine, or `vitrine backends`, started by launch.
type server struct {
	base   string   // http://ADDR, the first address announced
	urls   []string // every address announced, in order
	stdout *servertest.Buffer
	stderr *servertest.Buffer
	exited chan struct{} // closed once it has ended
	err    error         // what it ended with, once exited is closed
	// interrupt asks it to end without waiting: cancels run's context,
	// or sends SIGTERM.
	interrupt func()
	proc      *os.Process // the child process, if it is one

	once    sync.Once
	stopErr error
}

// launch starts a server with begin, which gets its stdout and stderr and
// returns what waits for it to end (run itself, or a process's Wait). It
// waits for stdout to hold one line per pattern, then for /healthz to
// answer 200 at each address. The test's end stops the server. A
// benchmark's server keeps only the first 256 KB of its log: a load run
// logs a line per page.
func launch(tb testing.TB, begin func(stdout, stderr io.Writer) (wait func() error, err error), interrupt func(),
	patterns ...string) *server {
	tb.Helper()
	stdout, stderr := &servertest.Buffer{}, &servertest.Buffer{}
	if _, ok := tb.(*testing.B); ok {
		stderr.Max = 256 << 10
	}
	s := &server{stdout: stdout, stderr: stderr, exited: make(chan struct{}), interrupt: interrupt}
	wait, err := begin(stdout, stderr)
	if err != nil {
		tb.Fatal(err)
	}
	go func() { defer close(s.exited); s.err = wait() }()
	tb.Cleanup(func() {
		if err := s.stop(); err != nil {
			tb.Errorf("the server ended with %v once asked to; want nil", err)
		}
		if tb.Failed() {
			tb.Logf("stderr:\n%s", stderr)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(stdout.String(), "\n") < len(patterns) {
		select {
		case <-s.exited:
			tb.Fatalf("the server ended with %v before serving; stdout = %q", s.err, stdout)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("fewer than %d lines on stdout after 10s; stdout = %q", len(patterns), stdout)
		}
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	for i, p := range patterns {
		prefix, suffix, _ := strings.Cut(p, "ADDR")
		addr, ok := strings.CutPrefix(lines[i], prefix)
		addr, ok2 := strings.CutSuffix(addr, suffix)
		if len(lines) != len(patterns) || !ok || !ok2 {
			tb.Fatalf("stdout = %q; want %q", lines, patterns)
		}
		s.urls = append(s.urls, "http://"+addr)
		waitHealthy(tb, s.urls[i], deadline)
	}
	s.base = s.urls[0]
	return s
}

// waitHealthy polls base's /healthz until it answers 200, failing the test
// at deadline. Each poll is a connection of its own, which no idle pool
// keeps open after the server has stopped.
func waitHealthy(tb testing.TB, base string, deadline time.Time) {
	tb.Helper()
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
		req.Close = true
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("GET %s/healthz: %v, %v; want 200 within 10s", base, resp, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop asks the server to end and waits for it, 30s at most, returning
// what it ended with. It may be called more than once.
func (s *server) stop() error {
	s.once.Do(func() {
		s.interrupt()
		select {
		case <-s.exited:
			s.stopErr = s.err
		case <-time.After(30 * time.Second):
			s.stopErr = errors.New("still running 30s after being asked to end")
		}
	})
	return s.stopErr
}

// runIn launches cmd (run or runBackends) in this process on free
// loopback ports (-addr 127.0.0.1:0) with args.
func runIn(tb testing.TB, cmd func(context.Context, []string, func(string) string, io.Writer, io.Writer) error,
	args []string, patterns ...string) *server {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	return launch(tb, func(stdout, stderr io.Writer) (func() error, error) {
		return func() error { return cmd(ctx, args, noEnv, stdout, stderr) }, nil
	}, cancel, patterns...)
}

// start runs Vitrine with args in this process until the test ends.
func start(tb testing.TB, args ...string) *server {
	tb.Helper()
	return runIn(tb, run, args, servingLine)
}

// startBackends runs `vitrine backends` with args in this process until the
// test ends.
func startBackends(tb testing.TB, args ...string) *server {
	tb.Helper()
	return runIn(tb, runBackends, args, backendsLine)
}

// tilesAt is the -backend value that fetches the built-in tiles from the
// `vitrine backends` at base.
func tilesAt(base string) string {
	return fmt.Sprintf("banners=%[1]s/banners,products=%[1]s/products,recommendations=%[1]s/recommendations", base)
}

func TestRun(t *testing.T) {
	in := start(t, fastArgs...)

	t.Run("home", func(t *testing.T) {
		var page struct {
			Tiles map[string]struct {
				Status string `json:"status"`
				Error  string `json:"error"`
			} `json:"tiles"`
			Complete bool `json:"complete"`
		}
		if code := getJSON(t, http.DefaultClient, in.base+"/home?user=alice", &page); code != http.StatusOK {
			t.Fatalf("GET /home: status = %d; want 200", code)
		}
		for _, name := range []string{"banners", "products", "recommendations"} {
			if got := page.Tiles[name].Status; got != "ok" {
				t.Errorf("%s.status = %q; want ok (error %q)", name, got, page.Tiles[name].Error)
			}
		}
		if len(page.Tiles) != 3 {
			t.Errorf("got %d tiles; want 3", len(page.Tiles))
		}
		if !page.Complete {
			t.Errorf("complete = false; want true")
		}
	})
	t.Run("bad user", func(t *testing.T) {
		var body map[string]string
		if code := getJSON(t, http.DefaultClient, in.base+"/home?user=a.b", &body); code != http.StatusBadRequest {
			t.Errorf("GET /home?user=a.b: status = %d; want 400", code)
		}
		if !strings.Contains(body["error"], "user") {
			t.Errorf("error = %q; want it to name user", body["error"])
		}
	})

	if err := in.stop(); err != nil {
		t.Errorf("run returned %v after its context ended; want nil", err)
	}
	if _, err := http.Get(in.base + "/healthz"); err == nil {
		t.Errorf("GET /healthz after shutdown succeeded; want the listener closed")
	}
}

// TestRunGracefulShutdown cancels run's context while a slow GET /test is
// in flight: the request still completes, and run returns nil only then.
func TestRunGracefulShutdown(t *testing.T) {
	const delay = 500 * time.Millisecond
	in := start(t, append(fastArgs, "-test-delay", delay.String())...)

	// A fresh connection, so that Shutdown cannot take it for an idle one.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	type answer struct {
		code int
		body string
		err  error
	}
	answered := make(chan answer, 1)
	ended := make(chan struct{}) // closed once the answer is in answered
	sent := time.Now()
	go func() {
		defer close(ended)
		resp, err := client.Get(in.base + "/test")
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{code: resp.StatusCode, body: string(b), err: err}
	}()
	// Shut down only once the server is serving the request, not merely
	// once it is on the wire.
	awaitInFlight(t, in.base, "/test", 1, 0, ended)

	err := in.stop()
	returned := time.Now()
	if err != nil {
		t.Errorf("run returned %v; want nil (graceful shutdown)", err)
	}
	if got := returned.Sub(sent); got < delay {
		t.Errorf("run returned %v after /test was sent; want at least its delay %v", got, delay)
	}
	a := <-answered
	if a.err != nil {
		t.Fatalf("GET /test in flight during shutdown: %v; want it to complete", a.err)
	}
	if a.code != http.StatusOK {
		t.Errorf("GET /test: status = %d; want 200", a.code)
	}
	var body map[string]int
	if err := json.Unmarshal([]byte(a.body), &body); err != nil || len(body) != 1 || body["result"] != 1 {
		t.Errorf("GET /test body = %q; want {\"result\":1}", a.body)
	}
}

func TestRunBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		flag string
	}{
		{"unknown tile", []string{"-addr", "127.0.0.1:0", "-latency", "weather=1ms"}, nil, "-latency"},
		{"bad duration", []string{"-addr", "127.0.0.1:0", "-tile-timeout", "40"}, nil, "-tile-timeout"},
		{"probability above 1", []string{"-addr", "127.0.0.1:0", "-fail", "banners=2"}, nil, "-fail"},
		{"unknown flag", []string{"-addr", "127.0.0.1:0", "-port", "80"}, nil, "-port"},
		{"bad env", []string{"-addr", "127.0.0.1:0"}, map[string]string{"VITRINE_TEST_DELAY": "-1s"}, "-test-delay"},
		{"-check from env", []string{"-addr", "127.0.0.1:0"}, map[string]string{"VITRINE_CHECK": "1"}, "-check"},
		{"bad sampler", []string{"-addr", "127.0.0.1:0", "-trace", "stdout"}, map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"}, "-trace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr servertest.Buffer
			getenv := func(k string) string { return tt.env[k] }
			done := make(chan error, 1)
			go func() { done <- run(context.Background(), tt.args, getenv, &stdout, &stderr) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("run(%q) still running after 5s; want it to return the error at once", tt.args)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("run(%q) = %v (%T); want a *config.Error", tt.args, err, err)
			}
			if ce.Flag != tt.flag {
				t.Errorf("Flag = %q; want %q", ce.Flag, tt.flag)
			}
			if stdout.String() != "" {
				t.Errorf("stdout = %q; want nothing (no listening)", stdout.String())
			}
			if stderr.String() != "" {
				t.Errorf("stderr = %q; want nothing: main prints the error", stderr.String())
			}
		})
	}
}

func TestRunListenError(t *testing.T) {
	in := start(t, fastArgs...)
	addr := strings.TrimPrefix(in.base, "http://")
	err := run(context.Background(), []string{"-addr", addr}, noEnv, io.Discard, io.Discard)
	var ce *config.Error
	if err == nil || errors.As(err, &ce) {
		t.Errorf("run on a busy address = %v; want a listen error that is not a *config.Error", err)
	}
}

// TestRunLeavesGCPercent checks that run, which tests and embedders call,
// leaves the process-wide GC percent alone: main sets it.
func TestRunLeavesGCPercent(t *testing.T) {
	// A percent run would not choose, whatever earlier tests did.
	const before = 150
	defer debug.SetGCPercent(debug.SetGCPercent(before))
	in := start(t, fastArgs...)
	if got := gcPercent(); got != before {
		t.Errorf("GC percent = %d while run serves; want %d as before run", got, before)
	}
	if err := in.stop(); err != nil {
		t.Errorf("run returned %v after its context ended; want nil", err)
	}
	if got := gcPercent(); got != before {
		t.Errorf("GC percent = %d after run; want %d as before run", got, before)
	}
}

// gcPercent is this process's GC percent (GOGC), read without changing it.
func gcPercent() int {
	s := []rtmetrics.Sample{{Name: "/gc/gogc:percent"}}
	rtmetrics.Read(s)
	return int(s[0].Value.Uint64())
}

// TestCommand: only the first argument names a subcommand, so `vitrine
// backends token` is the backends' stray argument, not a token.
func TestCommand(t *testing.T) {
	tests := []struct {
		args, rest []string
		runner     func(context.Context, []string, func(string) string, io.Writer, io.Writer) error
	}{
		{nil, nil, run},
		{[]string{"-addr", ":0"}, []string{"-addr", ":0"}, run},
		{[]string{"backends", "-addr", ":0"}, []string{"-addr", ":0"}, runBackends},
		{[]string{"token", "-user", "alice"}, []string{"-user", "alice"}, runToken},
		{[]string{"backends", "token"}, []string{"token"}, runBackends},
		{[]string{"purge", "-tag", "t"}, []string{"-tag", "t"}, runPurge},
	}
	for _, tt := range tests {
		rest, runner, _ := command(tt.args)
		if !slices.Equal(rest, tt.rest) || reflect.ValueOf(runner).Pointer() != reflect.ValueOf(tt.runner).Pointer() {
			t.Errorf("command(%q) = %q and another runner; want %q", tt.args, rest, tt.rest)
		}
	}
}
