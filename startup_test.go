package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"vitrine/servertest"
)

// TestBinarySignalDuringStartup sends SIGTERM to the built binary while its
// start-up waits for a JWKS that never comes: it stops at once, status 0 as a
// shutdown, without listening.
func TestBinarySignalDuringStartup(t *testing.T) {
	bin := binary(t)
	asked := make(chan struct{}, 1)
	release := make(chan struct{})
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- struct{}{}:
		default:
		}
		select { // hangs until the client gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer jwks.Close()
	defer close(release)
	file := filepath.Join(t.TempDir(), "jwt.yaml")
	text := fmt.Sprintf("identity:\n  source: jwt\n  jwks: %s/jwks.json\n  issuer: i\n  audience: a\n"+
		"tiles:\n  - name: banners\n", jwks.URL)
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-config", file)
	cmd.Env = cleanEnv()
	var stdout, stderr servertest.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	select {
	case <-asked:
	case err := <-waited:
		t.Fatalf("vitrine exited before asking for the JWKS: %v; stderr %q", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("vitrine did not ask for the JWKS within 30s")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("vitrine after SIGTERM during start-up: %v (stderr %q); want exit status 0", err, stderr.String())
		}
	case <-time.After(30 * time.Second): // a bound against hanging, not a speed check
		t.Fatal("vitrine still running 30s after SIGTERM during start-up")
	}
	if out := stdout.String(); strings.Contains(out, "serving") {
		t.Errorf("stdout = %q; want no serving line: it must not listen once stopped", out)
	}
}
