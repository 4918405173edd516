package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vitrine/memory"
	"vitrine/servertest"
	"vitrine/web/webtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the vitrine binary, built once for the tests that run it.
var built struct {
	once      sync.Once
	dir, bin  string
	skip, err string
}

// binary returns the path of the vitrine binary, built on first use. It
// skips the test in -short mode or without a go tool.
func binary(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds the binary; skipped in -short mode")
	}
	built.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			built.skip = fmt.Sprintf("no go tool to build the binary: %v", err)
			return
		}
		if built.dir, err = os.MkdirTemp("", "vitrine-test-"); err != nil {
			built.err = err.Error()
			return
		}
		built.bin = filepath.Join(built.dir, "vitrine")
		if out, err := exec.Command(goTool, "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Sprintf("go build: %v\n%s", err, out)
		}
	})
	if built.skip != "" {
		tb.Skip(built.skip)
	}
	if built.err != "" {
		tb.Fatal(built.err)
	}
	return built.bin
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

// startBinary launches the built binary on a free loopback port with args,
// in env, until the test ends: SIGTERM stops it, SIGKILL if it lingers.
func startBinary(tb testing.TB, env []string, args ...string) *server {
	tb.Helper()
	cmd := exec.Command(binary(tb), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = env
	tb.Cleanup(func() { // after the server's own cleanup, which stops it
		if cmd.Process != nil {
			cmd.Process.Kill()
		}
	})
	s := launch(tb, func(stdout, stderr io.Writer) (func() error, error) {
		cmd.Stdout, cmd.Stderr = stdout, stderr
		return cmd.Wait, cmd.Start()
	}, func() { cmd.Process.Signal(syscall.SIGTERM) }, servingLine)
	s.proc = cmd.Process
	return s
}

func TestBinary(t *testing.T) {
	bin := binary(t)

	t.Run("bad flags", func(t *testing.T) {
		bad, zero := filepath.Join(t.TempDir(), "bad.yaml"), filepath.Join(t.TempDir(), "zero.yaml")
		if err := os.WriteFile(bad, []byte("tiles:\n  - name: banners\n    ttl: 3x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(zero, []byte("tiles:\n  - name: banners\n    bulkhead: 0\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		sample := filepath.Join(t.TempDir(), "sample.yaml")
		if err := os.WriteFile(sample, []byte("trace-sample: 2\ntiles: [{name: banners}]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		bomb := filepath.Join(t.TempDir(), "bomb.yaml") // nine anchors of ten aliases: a billion values
		text := "tiles:\n  - name: notice\n    url: http://x/n\n    fallback:\n      a0: &a0 [" +
			strings.Repeat("lol,", 9) + "lol]\n"
		for i := 1; i < 10; i++ {
			text += fmt.Sprintf("      a%d: &a%d [%s*a%d]\n", i, i, strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), i-1)
		}
		if err := os.WriteFile(bomb, []byte(text), 0o600); err != nil {
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
			{"alias bomb, -check", []string{"-config", bomb, "-check"}, nil,
				[]string{bomb + ":9:52: ", "more than 100000 values"}},
			{"bad config from the environment", nil, []string{"VITRINE_CONFIG=" + bad}, []string{bad + ":3:10: "}},
			{"zero bulkhead", []string{"-config", zero}, nil, []string{zero + ":3:15: ", "give at least 1"}},
			{"trace-sample above 1", []string{"-trace", "stdout", "-trace-sample", "1.5"}, nil,
				[]string{"-trace-sample: 1.5 is outside [0, 1]"}},
			{"trace-sample not a number", nil, []string{"VITRINE_TRACE_SAMPLE=often"},
				[]string{"-trace-sample", "VITRINE_TRACE_SAMPLE", `"often" is not a number`}},
			{"trace-sample in the file", []string{"-config", sample}, nil,
				[]string{sample + ":1:15: trace-sample: 2 is outside [0, 1]"}},
			{"-check from the environment", nil, []string{"VITRINE_CHECK=1"}, []string{"-check", "VITRINE_CHECK"}},
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
				var stdout, stderr servertest.Buffer
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
		var stdout, stderr servertest.Buffer
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
				p := startBinary(t, cleanEnv(), fastArgs...)
				var body map[string]string
				if code := getJSON(t, http.DefaultClient, p.base+"/healthz", &body); code != http.StatusOK {
					t.Errorf("GET /healthz: status = %d; want 200", code)
				}

				if err := p.proc.Signal(tt.sig); err != nil {
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
				p := startBinary(t, append(env, tt.env...), fastArgs...)
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

// TestBinaryShutdownCutsNonReaders sends SIGTERM to the built binary while
// clients that never read their answers hold requests in flight, stuck on
// writes. The drain (-shutdown-timeout) ends, the server closes what is
// left, logs how many requests it cut, and exits 0 (cutting them is what
// a bounded drain is for), well within the drain plus a bound.
func TestBinaryShutdownCutsNonReaders(t *testing.T) {
	// Shorter than the write stall (web.DefaultWriteStall, 5s): the stuck
	// requests are still there when the drain ends.
	const drain = 500 * time.Millisecond
	p := startBinary(t, cleanEnv(), append(fastArgs, "-shutdown-timeout", drain.String())...)
	// Three clients, of which two at least get stuck inside a handler: a
	// client's socket may instead fill on the response's last bytes, which
	// net/http writes after the handler has returned (the chunked stream's
	// end and its trailer), so that its connection is stuck, and cut, but
	// no request of it is in flight.
	const clients = 3
	for range clients {
		webtest.NonReader(t, strings.TrimPrefix(p.base, "http://"), "/home?format=html&user=w%d", 2000)
	}
	// Stuck: in flight with no page assembled for 1s (a starved process
	// on a busy machine can pause for a few hundred ms; a blocked write
	// stays blocked up to the 5s stall).
	stuck := int(awaitInFlight(t, p.base, "/home", 2, time.Second, nil))

	if err := p.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(drain + 10*time.Second):
		t.Fatalf("vitrine still running %v after SIGTERM with a drain of %v", drain+10*time.Second, drain)
	}
	if p.err != nil {
		t.Errorf("vitrine after SIGTERM: %v; want exit status 0", p.err)
	}
	stderr := p.stderr.String()
	m := regexp.MustCompile(`drain over.* cut=(\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr does not log the drain's end with cut=N:\n%s", stderr)
	}
	if cut, _ := strconv.Atoi(m[1]); cut < stuck || cut > clients {
		t.Errorf("the drain's end logs cut=%d; want the %d requests stuck in flight, %d at most (the clients):\n%s",
			cut, stuck, clients, stderr)
	}
}
