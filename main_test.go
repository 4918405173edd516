package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vitrine/config"
	"vitrine/memory"
)

// syncBuffer is an io.Writer that run may write to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// noEnv is a getenv that sees no VITRINE_* variable.
func noEnv(string) string { return "" }

// fastArgs start Vitrine on a free loopback port with tiles of a few ms.
var fastArgs = []string{"-addr", "127.0.0.1:0", "-latency", "banners=1ms,products=2ms,recommendations=3ms"}

// instance is a run in progress.
type instance struct {
	base   string // http://ADDR
	cancel context.CancelFunc
	done   chan error // run's result
	stderr *syncBuffer
}

// start runs Vitrine with args until the test ends, waits for its address
// on stdout and for /healthz to answer 200.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	in, lines, deadline := launch(t, args, 1)
	addr, found := strings.CutPrefix(lines[0], "vitrine: serving http://")
	addr, found2 := strings.CutSuffix(addr, "/home")
	if len(lines) != 1 || !found || !found2 {
		t.Fatalf("stdout = %q; want one line \"vitrine: serving http://ADDR/home\"", lines)
	}
	in.base = "http://" + addr
	waitHealthy(t, in.base, deadline)
	return in
}

// launch runs Vitrine with args until the test ends (then cancels it and
// waits for run to return) and waits, 10s at most, for n lines on its
// stdout. It returns them and that deadline, for what the caller waits for
// next.
func launch(t *testing.T, args []string, n int) (in *instance, lines []string, deadline time.Time) {
	t.Helper()
	return launchWith(t, run, args, n)
}

// launchWith is launch with another command than run (runBackends).
func launchWith(t *testing.T, run func(context.Context, []string, func(string) string, io.Writer, io.Writer) error, args []string, n int) (in *instance, lines []string, deadline time.Time) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	in = &instance{cancel: cancel, done: make(chan error, 1), stderr: stderr}
	go func() { in.done <- run(ctx, args, noEnv, stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-in.done:
		case <-time.After(10 * time.Second):
			t.Errorf("run did not return within 10s of its context ending")
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr)
		}
	})
	deadline = time.Now().Add(10 * time.Second)
	for strings.Count(stdout.String(), "\n") < n {
		select {
		case err := <-in.done:
			t.Fatalf("run returned %v before serving; stdout = %q", err, stdout)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d lines on stdout after 10s; stdout = %q", n, stdout)
		}
	}
	return in, strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n"), deadline
}

// waitHealthy polls base's /healthz until it answers 200, failing the test
// at deadline.
func waitHealthy(t *testing.T, base string, deadline time.Time) {
	t.Helper()
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/healthz: %v, %v; want 200 within 10s", base, resp, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop cancels run's context and returns what run returned.
func (in *instance) stop(t *testing.T) error {
	t.Helper()
	in.cancel()
	select {
	case err := <-in.done:
		in.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("run did not return within 10s of its context ending")
		return nil
	}
}

// awaitInFlight polls base's /metrics until route has want requests in
// flight (vitrine_http_requests_in_flight), failing the test after 10s or
// once ended is closed: the request awaited ended first.
func awaitInFlight(t *testing.T, base, route string, want float64, ended <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := scrapeMetrics(http.DefaultClient, base)
		if err != nil {
			t.Fatalf("scraping /metrics: %v", err)
		}
		got := m.sum("vitrine_http_requests_in_flight", "route", route)
		if got == want {
			return
		}
		select {
		case <-ended:
			t.Fatalf("%s requests in flight = %v and the request awaited has ended; want %v first", route, got, want)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s requests in flight = %v after 10s; want %v", route, got, want)
		}
	}
}

// getJSON GETs url and decodes its JSON body into v, returning the status.
func getJSON(t *testing.T, client *http.Client, url string, v any) int {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decoding body: %v", url, err)
	}
	return resp.StatusCode
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

	if err := in.stop(t); err != nil {
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
	awaitInFlight(t, in.base, "/test", 1, ended)

	err := in.stop(t)
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
		{"bad sampler", []string{"-addr", "127.0.0.1:0", "-trace", "stdout"}, map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"}, "-trace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
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

// buildBinary builds vitrine into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short mode")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "vitrine")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is the test's environment without VITRINE_* variables, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VITRINE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)

	t.Run("bad flags", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte("tiles:\n  - name: banners\n    ttl: 3x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			args    []string
			env     []string
			wantHas []string
		}{
			{"unknown tile", []string{"-latency", "weather=1ms"}, nil, []string{"-latency", "weather"}},
			{"bad duration", []string{"-latency", "products=40"}, nil, []string{"-latency", `"40"`}},
			{"negative duration", []string{"-tile-timeout", "-1s"}, nil, []string{"-tile-timeout", "negative"}},
			{"probability outside [0,1]", []string{"-fail", "banners=1.5"}, nil, []string{"-fail", "1.5"}},
			{"zero tile-timeout", []string{"-tile-timeout", "0s"}, nil, []string{"-tile-timeout"}},
			{"unknown flag", []string{"-verbose"}, nil, []string{"-verbose"}},
			{"stray argument", []string{"serve"}, nil, []string{`"serve"`}},
			{"bad env", nil, []string{"VITRINE_FAIL=products=x"}, []string{"-fail", "VITRINE_FAIL"}},
			{"newline in flag name", []string{"-a\nb"}, nil, []string{"unknown flag"}},
			{"bad config file", []string{"-config", bad}, nil, []string{bad + ":3:10: ", "ttl"}},
			{"bad config file, -check", []string{"-config", bad, "-check"}, nil, []string{bad + ":3:10: "}},
			{"bad config from the environment", nil, []string{"VITRINE_CONFIG=" + bad}, []string{bad + ":3:10: "}},
			{"backend for an unknown tile", []string{"-backend", "weather=http://localhost:9100/w"}, nil, []string{"-backend", "weather"}},
			{"backend not http", []string{"-backend", "products=ftp://x/p"}, nil, []string{"-backend", "ftp"}},
			{"backends subcommand", []string{"backends", "-latency", "weather=1s"}, nil, []string{"-latency", "weather"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// Would serve on a free port if the flags were accepted.
				args := append([]string{"-addr", "127.0.0.1:0"}, tt.args...)
				if len(tt.args) > 0 && tt.args[0] == "backends" { // a subcommand comes first
					args = append([]string{"backends", "-addr", "127.0.0.1:0"}, tt.args[1:]...)
				}
				cmd := exec.Command(bin, args...)
				cmd.Env = cleanEnv(tt.env...)
				var stdout, stderr syncBuffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				waited := make(chan error, 1)
				go func() { waited <- cmd.Wait() }()
				var err error
				select {
				case err = <-waited:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					<-waited
					t.Fatalf("vitrine %q still running after 10s; want it to exit at once", tt.args)
				}
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 2 {
					t.Errorf("vitrine %q: %v; want exit status 2", tt.args, err)
				}
				out := stderr.String()
				if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
					t.Errorf("stderr = %q; want exactly one line", out)
				}
				if !strings.HasPrefix(out, "vitrine: ") {
					t.Errorf("stderr = %q; want it to start with \"vitrine: \"", out)
				}
				if strings.Contains(strings.ToLower(out), "usage") {
					t.Errorf("stderr = %q; want no usage dump", out)
				}
				for _, want := range tt.wantHas {
					if !strings.Contains(out, want) {
						t.Errorf("stderr = %q; want it to contain %q", out, want)
					}
				}
				if got := stdout.String(); got != "" {
					t.Errorf("stdout = %q; want nothing: it must not listen", got)
				}
			})
		}
	})

	t.Run("help", func(t *testing.T) {
		cmd := exec.Command(bin, "-h")
		cmd.Env = cleanEnv()
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("vitrine -h: %v; want exit status 0", err)
		}
		if out := stdout.String(); !strings.Contains(out, "-latency") || !strings.Contains(out, "-tile-timeout") {
			t.Errorf("vitrine -h stdout = %q; want the flags", out)
		}
	})

	t.Run("signals", func(t *testing.T) {
		tests := []struct {
			name string
			sig  os.Signal
		}{
			{"SIGTERM", syscall.SIGTERM},
			{"SIGINT", os.Interrupt},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := startBinary(t, bin, cleanEnv(), fastArgs...)
				var body map[string]string
				if code := getJSON(t, http.DefaultClient, p.base+"/healthz", &body); code != http.StatusOK {
					t.Errorf("GET /healthz: status = %d; want 200", code)
				}

				if err := p.cmd.Process.Signal(tt.sig); err != nil {
					t.Fatal(err)
				}
				select {
				case <-p.exited:
					if p.err != nil {
						t.Errorf("vitrine after %s: %v; want exit status 0", tt.name, p.err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("vitrine still running 10s after %s", tt.name)
				}
			})
		}
	})

	// main sets the GC percent (run does not: see TestRunLeavesGCPercent);
	// the Go collector exposes it.
	t.Run("gc percent and memory limit", func(t *testing.T) {
		tests := []struct {
			name              string
			env               []string
			percent, limitMiB float64
		}{
			{"default", nil, memory.GCPercent, memory.Limit >> 20},
			{"GOGC wins", []string{"GOGC=150"}, 150, memory.Limit >> 20},
			{"GOMEMLIMIT wins", []string{"GOMEMLIMIT=300MiB"}, memory.GCPercent, 300},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var env []string
				for _, kv := range cleanEnv() {
					if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
						env = append(env, kv)
					}
				}
				p := startBinary(t, bin, append(env, tt.env...), fastArgs...)
				m, err := scrapeMetrics(http.DefaultClient, p.base)
				if err != nil {
					t.Fatalf("scraping /metrics: %v", err)
				}
				for _, g := range []struct {
					name string
					want float64
				}{
					{"go_gc_gogc_percent", tt.percent},
					{"go_gc_gomemlimit_bytes", tt.limitMiB * (1 << 20)},
				} {
					got, found := m.lookup(g.name)
					if !found {
						t.Fatalf("%s missing from /metrics", g.name)
					}
					if got != g.want {
						t.Errorf("%s = %v with %q; want %v", g.name, got, tt.env, g.want)
					}
				}
			})
		}
	})
}

// binaryProcess is the vitrine binary serving on a loopback port.
type binaryProcess struct {
	base   string // http://ADDR
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{} // closed once the process has exited
	err    error         // cmd.Wait's result, once exited is closed
}

// startBinary starts bin with args in env and waits for the address it
// prints on stdout. The process is killed when the test ends if it is
// still running.
func startBinary(t *testing.T, bin string, env []string, args ...string) *binaryProcess {
	t.Helper()
	p := &binaryProcess{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		defer close(p.exited)
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
		p.err = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", p.stderr)
		}
	})
	var line string
	select {
	case line = <-lines:
	case <-time.After(10 * time.Second):
		t.Fatalf("no address on stdout after 10s")
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "vitrine: serving http://")
	if !ok {
		t.Fatalf("stdout = %q; want \"vitrine: serving http://ADDR/home\"", line)
	}
	p.base = "http://" + strings.TrimSuffix(addr, "/home")
	return p
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
	if err := in.stop(t); err != nil {
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
