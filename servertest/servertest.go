// Package servertest starts real servers for tests, never mocks: a
// redis-server and an nginx, each on a free loopback port, configured in
// the test's temp dir, stopped by PID when the test ends. A test that
// needs a binary which is not installed fails when CI is "true" and is
// skipped elsewhere, with the apt-get line that installs it.
package servertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer once started:
// generous, since a busy 2-core CI machine runs many test binaries at once.
const startTimeout = 15 * time.Second

// stopGrace is how long a server gets to exit after its polite signal
// before it is killed.
const stopGrace = 5 * time.Second

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago: the
// kernel picks it for a listener that is closed at once. Another process
// could take it in between; on a test machine that is rare enough.
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
// on a non-root user's PATH on Debian (where nginx lives). If it is
// missing the test fails in CI and is skipped elsewhere.
func lookBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("%s not installed: apt-get install %s", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// process is one running server: its command and a channel closed once
// it has exited and been reaped.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startProcess starts cmd in its own process group (so a stop can signal
// its children too) and asks the kernel to send it deathSig if the test
// binary dies first (see setDeathSignal).
func startProcess(cmd *exec.Cmd, deathSig syscall.Signal) (*process, error) {
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
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends each signal in turn, waiting up to stopGrace after each for
// the process to exit, then kills its whole process group (an nginx
// master's workers too), and returns once it has been reaped.
func (p *process) stop(signals ...syscall.Signal) {
	pid := p.cmd.Process.Pid
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
	// The group outlives its leader if workers were left behind.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-p.done
}

// waitReady calls ready until it succeeds, the process exits, or
// startTimeout passes; the error says which.
func (p *process) waitReady(ready func() error) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("exited before it was ready (%s): %w", p.cmd.ProcessState, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dialable is a readiness check for a server that is ready once its port
// accepts a connection.
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
	const max = 4000
	s := string(b)
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	return strings.TrimSpace(s)
}
