package servertest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a redis-server started for one test, with persistence
// off: what a test writes is gone when it stops.
type RedisServer struct {
	t        testing.TB
	bin, dir string
	port     int
	mu       sync.Mutex // Start and Stop may come from different goroutines
	proc     *process   // nil while stopped
}

// Redis starts a redis-server on a free loopback port until the test ends.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	r := &RedisServer{t: t, bin: lookBinary(t, "redis-server", "redis-server"), dir: t.TempDir(), port: FreePort(t)}
	t.Cleanup(r.Stop)
	r.Start()
	return r
}

// Addr is the server's address, "127.0.0.1:PORT".
func (r *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is the server's database 0 as go-redis's ParseURL reads it.
func (r *RedisServer) URL() string { return "redis://" + r.Addr() + "/0" }

// Start starts the server again on the same port after Stop, and returns
// once it answers PING. It does nothing if the server is running. On
// failure it calls t.Fatal, so call it from the test's goroutine.
func (r *RedisServer) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		return
	}
	logfile := filepath.Join(r.dir, "redis.log")
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", // no persistence
		"--dir", r.dir, "--daemonize", "no", // our child, so its PID is ours to stop
		"--protected-mode", "no", "--logfile", logfile)
	p, err := startProcess(cmd, syscall.SIGKILL, func() error { return ping(r.Addr()) })
	if err != nil {
		r.t.Fatalf("servertest: redis-server on %s: %v\nredis.log:\n%s", r.Addr(), err, tail(logfile))
	}
	r.proc = p
}

// Stop stops the server with SIGTERM, SIGKILL after 5s, and returns once
// it has exited. It does nothing once stopped, and is safe from any goroutine.
func (r *RedisServer) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		r.proc.stop(syscall.SIGTERM)
		r.proc = nil
	}
}

// ping sends an inline PING, which needs no client library, and wants
// +PONG back.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	line := ""
	if _, err = c.Write([]byte("PING\r\n")); err == nil {
		line, err = bufio.NewReader(c).ReadString('\n')
	}
	if err != nil || !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("ping: got %q, %v; want +PONG", strings.TrimSpace(line), err)
	}
	return nil
}
