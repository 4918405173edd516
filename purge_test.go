package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPurge: a tile whose backend tags its answer Surrogate-Key:
// winter-sale is cached; POST /purge of that tag on the operator port marks
// its one entry, the next page shows it stale and the backend sees exactly
// one more fetch. `vitrine purge` (the built binary) asks the same, prints
// the answer, and exits 1 with the server's words or 2 on bad flags.
func TestPurge(t *testing.T) {
	var fetches atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Surrogate-Key", "winter-sale banner")
		fmt.Fprintf(w, `{"version":%d}`, fetches.Load())
	}))
	defer backend.Close()
	file := filepath.Join(t.TempDir(), "purge.yaml")
	yaml := fmt.Sprintf("tiles:\n  - name: promo\n    url: %s/promo\n    ttl: 1m\n    tags: [homepage]\n", backend.URL)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	in, admin := startAdmin(t, "-config", file)
	status := func() string {
		var page struct {
			Tiles map[string]struct{ Status string }
		}
		getJSON(t, http.DefaultClient, in.base+"/home", &page)
		return page.Tiles["promo"].Status
	}
	for range 2 {
		if got := status(); got != "ok" {
			t.Fatalf("promo before the purge: %s; want ok", got)
		}
	}
	if got, code := postJSON(t, admin+"/purge", `{"tags": ["winter-sale"]}`); code != 200 || got != "{\"marked\":1}\n" {
		t.Fatalf("POST /purge: %d %q; want 200 {\"marked\":1}", code, got)
	}
	if got := status(); got != "stale" {
		t.Errorf("promo after the purge: %s; want stale", got)
	}
	for deadline := time.Now().Add(10 * time.Second); status() != "ok"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("promo not fresh again within 10s of the purge")
		}
	}
	if got := fetches.Load(); got != 2 {
		t.Errorf("backend fetches: %d; want 2 (one refresh after the purge)", got)
	}
	m, err := scrapeMetrics(http.DefaultClient, admin)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.sum("vitrine_purge_marked_total", "kind", "soft"); n != 1 {
		t.Errorf("vitrine_purge_marked_total{kind=soft} = %v; want 1", n)
	}
	t.Run("vitrine purge", func(t *testing.T) { checkPurgeCommand(t, admin) })
}

// checkPurgeCommand runs the built `vitrine purge` against the operator
// port at admin.
func checkPurgeCommand(t *testing.T, admin string) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"-admin", admin, "-tag", "homepage", "-soft=false"}, 0, "{\"marked\":1}\n", ""},
		{[]string{"-admin", admin, "-tile", "promo"}, 0, "{\"marked\":0}\n", ""},
		{[]string{"-admin", admin, "-tile", "promo", "-user", "alice"}, 1, "",
			"vitrine: purge: " + strings.TrimPrefix(admin, "http://") + " answered 400: tile promo is not personalised"},
		{[]string{"-admin", admin, "-tile", "nope"}, 1, "", `no tile "nope" (the tiles: promo)`},
		{[]string{"-admin", admin}, 2, "", "name what to purge"},
		{[]string{"-tag", "a"}, 2, "", "-admin: wants the operator port's base URL"},
		{[]string{"-admin", admin, "-tag", "two words"}, 2, "", "is not a tag"},
	}
	for _, tt := range tests {
		cmd := exec.Command(binary(t), append([]string{"purge"}, tt.args...)...)
		cmd.Env = cleanEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if exit, ok := errors.AsType[*exec.ExitError](err); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code || stdout.String() != tt.stdout || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("vitrine purge %q: exit %d, stdout %q, stderr %q; want %d, %q, %q",
				tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
}

// postJSON POSTs body to url and returns the answer's body and status.
func postJSON(t *testing.T, url, body string) (string, int) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.String(), resp.StatusCode
}
