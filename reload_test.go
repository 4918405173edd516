package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// countingBackend serves every path as a JSON tile and counts the requests
// by path; a path in gates waits until its channel is closed, after closing
// its started channel.
type countingBackend struct {
	mu      sync.Mutex
	hits    map[string]int
	gates   map[string]chan struct{}
	started map[string]chan struct{}
}

func newCountingBackend(t *testing.T, gated ...string) (*countingBackend, string) {
	b := &countingBackend{hits: map[string]int{}, gates: map[string]chan struct{}{}, started: map[string]chan struct{}{}}
	for _, p := range gated {
		b.gates[p], b.started[p] = make(chan struct{}), make(chan struct{})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hits[r.URL.Path]++
		n := b.hits[r.URL.Path]
		b.mu.Unlock()
		if gate, ok := b.gates[r.URL.Path]; ok {
			if n == 1 {
				close(b.started[r.URL.Path])
			}
			<-gate
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return b, srv.URL
}

func (b *countingBackend) count(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits[path]
}

// writeFile (re)writes the config file at path.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tileStatuses GETs a page at url and returns its status and its tiles' statuses by name.
func tileStatuses(t *testing.T, url string) (int, map[string]string) {
	t.Helper()
	var page struct {
		Tiles map[string]struct{ Status string }
	}
	code := getJSON(t, http.DefaultClient, url, &page)
	st := map[string]string{}
	for name, tile := range page.Tiles {
		st[name] = tile.Status
	}
	return code, st
}

// postReload POSTs admin/reload and returns the status and the decoded body.
func postReload(t *testing.T, admin string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(admin+"/reload", "", nil)
	if err != nil {
		t.Fatalf("POST /reload: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("POST /reload: decoding body: %v", err)
	}
	return resp.StatusCode, body
}

// reloads reads vitrine_config_reloads_total{result} from the admin port.
func reloads(t *testing.T, admin, result string) float64 {
	t.Helper()
	m, err := scrapeMetrics(http.DefaultClient, admin)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m.lookup("vitrine_config_reloads_total", "result", result)
	return v
}

// TestRunReload: POST /reload on the admin port applies the file as it is
// now to the pages that start after it: a tile added, one whose timeout and
// TTL changed rebuilt (it fetches again), one unchanged kept with its cache
// (its backend is not asked again). A file that does not validate, or that
// changes a setting only a restart applies, changes nothing: 400 with the
// error, the previous configuration serving; each result is counted.
func TestRunReload(t *testing.T) {
	b, url := newCountingBackend(t)
	path := filepath.Join(t.TempDir(), "vitrine.yaml")
	fileA := fmt.Sprintf("tiles:\n  - {name: banners, url: '%[1]s/banners', ttl: 1h}\n"+
		"  - {name: products, url: '%[1]s/products', ttl: 1h, timeout: 300ms}\n", url)
	writeFile(t, path, fileA)
	in, admin := startAdmin(t, "-config", path)
	for range 2 {
		if code, tiles := tileStatuses(t, in.base+"/home"); code != http.StatusOK || len(tiles) != 2 {
			t.Fatalf("GET /home on file A: %d %v; want 200 and 2 tiles", code, tiles)
		}
	}
	fileB := strings.Replace(fileA, "ttl: 1h, timeout: 300ms", "ttl: 30m, timeout: 3s", 1) +
		fmt.Sprintf("  - {name: deals, url: '%s/deals'}\n", url)
	writeFile(t, path, fileB)
	code, body := postReload(t, admin)
	want := `map[added:[deals] rebuilt:[products] reloaded:true removed:[] tiles:[banners products deals]]`
	if got := fmt.Sprint(body); code != http.StatusOK || got != want {
		t.Fatalf("POST /reload with file B: %d %s; want 200 %s", code, got, want)
	}
	// The added and the rebuilt tile fetched their first entry before the
	// swap (warm), so that no page waits for it.
	for path, want := range map[string]int{"/banners": 1, "/products": 2, "/deals": 1} {
		if got := b.count(path); got != want {
			t.Errorf("backend %s asked %d times once the reload answered; want %d", path, got, want)
		}
	}
	m, err := scrapeMetrics(http.DefaultClient, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, found := m.lookup("vitrine_bulkhead_refused_total", "tile", "deals"); !found {
		t.Error("no vitrine_bulkhead_refused_total{tile=\"deals\"} after the reload that added deals; want it at 0")
	}
	code, tiles := tileStatuses(t, in.base+"/home")
	if code != http.StatusOK || tiles["deals"] != "ok" || len(tiles) != 3 {
		t.Fatalf("GET /home after the reload: %d %v; want 200 with deals ok", code, tiles)
	}
	for path, want := range map[string]int{"/banners": 1, "/products": 2, "/deals": 1} {
		if got := b.count(path); got != want {
			t.Errorf("backend %s asked %d times after the reload; want %d", path, got, want)
		}
	}
	// Purges reach the tiles the configuration serves now (deals's entry
	// may still be on its way to the cache: any count will do).
	if body, code := postJSON(t, admin+"/purge", `{"tile": "deals", "soft": false}`); code != http.StatusOK ||
		!strings.HasPrefix(body, `{"marked":`) {
		t.Errorf("POST /purge of the added tile: %d %q; want 200 {\"marked\":N}", code, body)
	}

	writeFile(t, path, strings.Replace(fileB, "ttl: 30m", "ttl: 30", 1))
	code, body = postReload(t, admin)
	at := regexp.MustCompile(`^` + regexp.QuoteMeta(path) + `:3:\d+: .*"30" has no unit`)
	if msg, _ := body["error"].(string); code != http.StatusBadRequest || !at.MatchString(msg) || len(body) != 1 {
		t.Errorf("POST /reload with an invalid file: %d %v; want 400 {\"error\": %q...}", code, body, at)
	}
	writeFile(t, path, "shutdown-timeout: 3s\n"+fileA)
	code, body = postReload(t, admin)
	if msg, _ := body["error"].(string); code != http.StatusBadRequest ||
		!strings.HasPrefix(msg, "-shutdown-timeout changed: restart") {
		t.Errorf("POST /reload changing shutdown-timeout: %d %v; want 400 {\"error\": \"-shutdown-timeout changed: "+
			"restart...\"}", code, body)
	}
	if code, tiles := tileStatuses(t, in.base+"/home"); code != http.StatusOK || len(tiles) != 3 || tiles["deals"] != "ok" {
		t.Errorf("GET /home after the failed reloads: %d %v; want 200 with file B's 3 tiles", code, tiles)
	}
	for result, want := range map[string]float64{"ok": 1, "invalid": 1, "refused": 1} {
		if got := reloads(t, admin, result); got != want {
			t.Errorf("vitrine_config_reloads_total{result=%q} = %v; want %v", result, got, want)
		}
	}
	if !strings.Contains(in.stderr.String(), "config reload: nothing changed") ||
		!strings.Contains(in.stderr.String(), "msg=\"config reloaded\" added=deals removed=\"\" rebuilt=products kept=banners") {
		t.Errorf("stderr lacks the reloads' log lines:\n%s", in.stderr)
	}
}

// TestRunReloadInFlight: a page that started before a reload finishes on
// the configuration it began with, its removed tile included, while the
// pages after the reload get the new one; the reload does not wait for it.
func TestRunReloadInFlight(t *testing.T) {
	b, url := newCountingBackend(t, "/slow")
	path := filepath.Join(t.TempDir(), "vitrine.yaml")
	writeFile(t, path, fmt.Sprintf("tiles:\n  - {name: banners, url: '%[1]s/banners'}\n"+
		"  - {name: slow, url: '%[1]s/slow', timeout: 10s}\n", url))
	in, admin := startAdmin(t, "-config", path)
	type result struct {
		code  int
		tiles map[string]string
	}
	old := make(chan result, 1)
	go func() {
		code, tiles := tileStatuses(t, in.base+"/home")
		old <- result{code, tiles}
	}()
	<-b.started["/slow"]
	writeFile(t, path, fmt.Sprintf("tiles:\n  - {name: banners, url: '%[1]s/banners'}\n"+
		"  - {name: deals, url: '%[1]s/deals'}\n", url))
	if code, body := postReload(t, admin); code != http.StatusOK {
		t.Fatalf("POST /reload: %d %v; want 200", code, body)
	}
	if code, tiles := tileStatuses(t, in.base+"/home"); code != http.StatusOK || tiles["deals"] != "ok" || len(tiles) != 2 {
		t.Errorf("GET /home after the reload: %d %v; want 200 with banners and deals", code, tiles)
	}
	close(b.gates["/slow"])
	r := <-old
	if r.code != http.StatusOK || r.tiles["slow"] != "ok" || len(r.tiles) != 2 {
		t.Errorf("the page in flight: %d %v; want 200 with banners and slow ok, its own configuration", r.code, r.tiles)
	}
}

// TestBinaryHangup: SIGHUP makes the binary re-read -config, and does not
// end it; without -config it is refused, logged, and Vitrine serves on.
func TestBinaryHangup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vitrine.yaml")
	writeFile(t, path, "tiles:\n  - {name: banners, latency: 1ms}\n")
	s := startBinary(t, cleanEnv(), "-config", path)
	noFile := startBinary(t, cleanEnv(), fastArgs...)
	writeFile(t, path, "tiles:\n  - {name: banners, latency: 1ms}\n  - {name: products, latency: 1ms}\n")
	for _, p := range []*server{s, noFile} {
		if err := p.proc.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, tiles := tileStatuses(t, s.base+"/home"); tiles["products"] == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no products tile 10s after SIGHUP; stderr:\n%s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for !strings.Contains(noFile.stderr.String(), "no -config to reload") {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal logged 10s after SIGHUP without -config; stderr:\n%s", noFile.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range []*server{s, noFile} {
		if code, _ := tileStatuses(t, p.base+"/home"); code != http.StatusOK {
			t.Errorf("GET /home after SIGHUP: %d; want 200, still serving", code)
		}
	}
}

// TestRunReloadDropsRemovedBreaker: a reload that removes a tile whose
// breaker is open stops exposing its breaker's state, which would
// otherwise say open for as long as the process runs.
func TestRunReloadDropsRemovedBreaker(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "vitrine.yaml")
	banners := fmt.Sprintf("tiles:\n  - {name: banners, url: '%s/banners'}\n", srv.URL)
	writeFile(t, path, banners+fmt.Sprintf("  - {name: broken, url: '%s/broken', breaker: 1}\n", srv.URL))
	in, admin := startAdmin(t, "-config", path)
	const series = `vitrine_breaker_state{tile="broken"}`
	tileStatuses(t, in.base+"/home")
	if body := getBody(t, admin+"/metrics"); !strings.Contains(body, series+" 2") {
		t.Fatalf("after a failure the metrics do not say %s 2 (open)", series)
	}
	writeFile(t, path, banners)
	if code, body := postReload(t, admin); code != http.StatusOK {
		t.Fatalf("POST /reload: %d %v; want 200", code, body)
	}
	if body := getBody(t, admin+"/metrics"); strings.Contains(body, series) {
		t.Errorf("after the reload that removed it, the metrics still expose %s", series)
	}
}
