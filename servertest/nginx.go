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

// Nginx starts nginx with site, the content of an http {} block (upstream
// and server blocks), until the test ends. Its URL is the first listen
// directive's port on 127.0.0.1: take one with FreePort. If nginx does
// not start, the test fails with its error.log.
func Nginx(t testing.TB, site string) *NginxServer {
	t.Helper()
	bin := lookBinary(t, "nginx", "nginx")
	m := listenRE.FindStringSubmatch(site)
	if m == nil {
		t.Fatalf("servertest: nginx site has no \"listen PORT\" directive:\n%s", site)
	}
	dir := t.TempDir()
	conf, errorLog := filepath.Join(dir, "nginx.conf"), filepath.Join(dir, "error.log")
	if err := os.WriteFile(conf, []byte(mainConfig(dir, site)), 0o644); err != nil {
		t.Fatalf("servertest: nginx: %v", err)
	}
	n := &NginxServer{addr: net.JoinHostPort("127.0.0.1", m[1])}
	// -e: nginx opens its compiled-in error log before reading the config,
	// which a non-root user cannot write. SIGTERM if the test binary dies:
	// the master then stops its workers, which would outlive a killed one.
	p, err := startProcess(exec.Command(bin, "-p", dir, "-c", conf, "-e", errorLog), syscall.SIGTERM, dialable(n.addr))
	if err != nil {
		t.Fatalf("servertest: nginx on %s: %v\nerror.log:\n%s", n.addr, err, tail(errorLog))
	}
	n.proc = p
	t.Cleanup(n.Stop)
	return n
}

// URL is the server's base URL, "http://127.0.0.1:PORT".
func (n *NginxServer) URL() string { return "http://" + n.addr }

// Stop stops nginx gracefully (SIGQUIT: finish the requests in flight),
// then with SIGTERM and SIGKILL if it lingers, and returns once it has
// exited. It does nothing once stopped, and is safe from any goroutine.
func (n *NginxServer) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		n.proc.stop(syscall.SIGQUIT, syscall.SIGTERM)
		n.proc = nil
	}
}

// mainConfig is the nginx.conf around site: nginx writes only to dir and
// stays in the foreground as our child.
func mainConfig(dir, site string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "daemon off;\nmaster_process on;\nworker_processes 1;\npid %s;\nerror_log %s warn;\n",
		filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"))
	if os.Geteuid() == 0 {
		b.WriteString("user root;\n") // nobody, root's default, cannot read the 0700 temp dir
	}
	// A load test's client and upstream connections share one worker.
	b.WriteString("worker_rlimit_nofile 16384;\nevents { worker_connections 8192; }\nhttp {\n    access_log off;\n")
	for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %s;\n", tmp, filepath.Join(dir, tmp))
	}
	b.WriteString(site + "\n}\n")
	return b.String()
}

// ShippedSite is the nginx site file at path (the shipped
// examples/nginx.conf) with its two replicas, 127.0.0.1:8081 and
// 127.0.0.1:8082, moved to a and b (host:port) and its "listen 8080;" to
// a free loopback port. It fails tb unless the file has exactly one of
// each, so that tests follow the file the README ships.
func ShippedSite(tb testing.TB, path, a, b string) string {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	site := string(raw)
	for _, r := range [][2]string{
		{"127.0.0.1:8081", a},
		{"127.0.0.1:8082", b},
		{"listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d;", FreePort(tb))},
	} {
		if strings.Count(site, r[0]) != 1 {
			tb.Fatalf("servertest: %s: want %q once", path, r[0])
		}
		site = strings.Replace(site, r[0], r[1], 1)
	}
	return site
}
