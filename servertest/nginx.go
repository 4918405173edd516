package servertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// NginxServer is an nginx started for one test with a site given as text.
type NginxServer struct {
	addr string

	mu   sync.Mutex
	proc *process // nil once stopped
}

// listenRE finds the port of a site's first listen directive:
// "listen 8080;" or "listen 127.0.0.1:8080 ...;".
var listenRE = regexp.MustCompile(`(?m)(?:^|[{;\s])listen\s+(?:127\.0\.0\.1:|localhost:|\*:)?(\d+)\b`)

// Nginx starts nginx with site, the text of an http {} block's content
// (upstream and server blocks), and stops it when the test ends. The
// server's URL is its first listen directive's port on 127.0.0.1: take
// one with FreePort. Without nginx installed the test fails when CI is
// "true" and is skipped otherwise; if nginx does not start, the test
// fails with its error.log.
func Nginx(t testing.TB, site string) *NginxServer {
	t.Helper()
	bin := lookBinary(t, "nginx", "nginx")
	m := listenRE.FindStringSubmatch(site)
	if m == nil {
		t.Fatalf("servertest: nginx site has no \"listen PORT\" directive:\n%s", site)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(mainConfig(dir, site)), 0o644); err != nil {
		t.Fatalf("servertest: nginx: %v", err)
	}
	errorLog := filepath.Join(dir, "error.log")
	// -e: nginx opens its compiled-in error log before it reads the
	// config, which a non-root user cannot write.
	// SIGTERM if the test binary dies: the master then stops its workers,
	// which would outlive a killed master.
	p, err := startProcess(exec.Command(bin, "-p", dir, "-c", conf, "-e", errorLog), syscall.SIGTERM)
	if err != nil {
		t.Fatal(err)
	}
	n := &NginxServer{addr: net.JoinHostPort("127.0.0.1", m[1]), proc: p}
	t.Cleanup(n.Stop)
	if err := p.waitReady(dialable(n.addr)); err != nil {
		n.Stop()
		t.Fatalf("servertest: nginx on %s: %v\nerror.log:\n%s", n.addr, err, tail(errorLog))
	}
	return n
}

// URL is the server's base URL, "http://127.0.0.1:PORT".
func (n *NginxServer) URL() string { return "http://" + n.addr }

// Stop stops nginx gracefully (SIGQUIT: finish the requests in flight),
// then with SIGTERM and SIGKILL if it lingers, and returns once it has
// exited. It does nothing if nginx is stopped; it is safe from any
// goroutine.
func (n *NginxServer) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return
	}
	n.proc.stop(syscall.SIGQUIT, syscall.SIGTERM)
	n.proc = nil
}

// mainConfig is the nginx.conf around site: everything nginx writes goes
// to dir, and it stays in the foreground as our child.
func mainConfig(dir, site string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "daemon off;\nmaster_process on;\nworker_processes 1;\n")
	fmt.Fprintf(&b, "pid %s;\nerror_log %s warn;\n", filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"))
	if os.Geteuid() == 0 {
		// Root's workers run as nobody by default, who cannot read the
		// 0700 temp dir.
		b.WriteString("user root;\n")
	}
	// A load test's client and upstream connections share one worker.
	b.WriteString("worker_rlimit_nofile 16384;\nevents { worker_connections 8192; }\n")
	b.WriteString("http {\n    access_log off;\n")
	for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %s;\n", tmp, filepath.Join(dir, tmp))
	}
	b.WriteString(site)
	b.WriteString("\n}\n")
	return b.String()
}

// ShippedSite is the nginx site file at path (the shipped
// examples/nginx.conf) with its two replicas, 127.0.0.1:8081 and
// 127.0.0.1:8082, moved to the addresses a and b (host:port) and its
// "listen 8080;" to a free loopback port. It fails tb unless the file has
// exactly one of each, so that tests follow the file the README ships.
func ShippedSite(tb testing.TB, path, a, b string) string {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	site := string(raw)
	for _, r := range []struct{ old, new string }{
		{"127.0.0.1:8081", a},
		{"127.0.0.1:8082", b},
		{"listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d;", FreePort(tb))},
	} {
		if strings.Count(site, r.old) != 1 {
			tb.Fatalf("servertest: %s: want %q once", path, r.old)
		}
		site = strings.Replace(site, r.old, r.new, 1)
	}
	return site
}
