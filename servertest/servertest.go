// Package servertest starts real servers for tests, never mocks: a
// redis-server and an nginx, each on a free loopback port, configured in
// the test's temp dir, stopped by PID when the test ends. A test that
// needs a binary which is not installed fails when CI is "true" and is
// skipped elsewhere, with the apt-get line that installs it. Buffer holds
// what a server writes while the test reads it.
package servertest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer once started:
// generous, since a busy 2-core CI machine runs many test binaries at
// once. stopGrace is how long it gets to exit after a polite signal.
const startTimeout, stopGrace = 15 * time.Second, 5 * time.Second

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago;
// another process could take it in between, rarely on a test machine.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("servertest: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// lookBinary finds name on PATH or in the sbin directories, which are not
// on a non-root user's PATH on Debian (where nginx lives).
func lookBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/usr/local/sbin/" + name, "/sbin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("%s not installed: apt-get install %s", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// process is a running server; done is closed once it has been reaped.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startProcess starts cmd in a process group of its own, so that a stop
// signals its children too, asks the kernel to send it deathSig if the
// test binary dies first (setDeathSignal), and calls ready until it
// succeeds. If it does not within startTimeout, or the server exits, the
// server is stopped and the error says which.
func startProcess(cmd *exec.Cmd, deathSig syscall.Signal, ready func() error) (*process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr, deathSig)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("servertest: start %s: %w", cmd.Path, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status of a stopped server says nothing
		close(p.done)
	}()
	for deadline := time.Now().Add(startTimeout); ; time.Sleep(20 * time.Millisecond) {
		err := ready()
		if err == nil {
			return p, nil
		}
		if exited := p.exited(); exited || time.Now().After(deadline) {
			p.stop()
			if exited {
				return nil, fmt.Errorf("exited before it was ready (%s): %w", cmd.ProcessState, err)
			}
			return nil, fmt.Errorf("not ready after %s: %w", startTimeout, err)
		}
	}
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends each signal in turn, waiting up to stopGrace after each for
// the process to exit, then kills its whole group (an nginx master's
// workers too), and returns once it has been reaped.
func (p *process) stop(signals ...syscall.Signal) {
	for _, sig := range signals {
		if p.exited() {
			break
		}
		_ = p.cmd.Process.Signal(sig)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
		}
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // the group can outlive its leader
	<-p.done
}

// dialable is a readiness check: addr accepts a connection.
func dialable(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// tail returns the end of the file at path, for a failure message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%s: %v)", path, err)
	}
	return strings.TrimSpace(string(b[max(len(b)-4000, 0):]))
}

// Buffer is an io.Writer that a server may write to while the test reads
// it. With Max above zero it keeps the first Max bytes and counts the
// rest: a server under load logs a line per request.
type Buffer struct {
	Max     int
	mu      sync.Mutex
	b       bytes.Buffer
	dropped int
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if b.Max > 0 {
		p = p[:min(n, max(b.Max-b.b.Len(), 0))]
		b.dropped += n - len(p)
	}
	b.b.Write(p)
	return n, nil
}

// String is what was kept, and how much was dropped if anything was.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("%s[%d more bytes dropped]\n", b.b.String(), b.dropped)
	}
	return b.b.String()
}
