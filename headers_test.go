package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxHeaderBytes: the file's max-header-bytes reaches each tile's
// fetches: a head over the page's limit is the tile's error, in words and
// counted; a tile's own limit wins.
func TestMaxHeaderBytes(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := range 8 {
			w.Header().Set(fmt.Sprint("X-Pad-", i), strings.Repeat("a", 1000))
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer backend.Close()
	file := filepath.Join(t.TempDir(), "heads.yaml")
	yaml := fmt.Sprintf("max-header-bytes: 4KiB\ntiles:\n  - name: strict\n    url: %[1]s/a\n"+
		"  - name: lenient\n    url: %[1]s/b\n    max-header-bytes: 16KiB\n", backend.URL)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, "-config", file, "-cache=false")
	var page struct {
		Tiles map[string]struct{ Status, Error string }
	}
	getJSON(t, http.DefaultClient, in.base+"/home", &page)
	if got := page.Tiles["strict"]; got.Status != "error" || got.Error != "strict: response head over 4 KiB" {
		t.Errorf("strict tile: %+v; want error strict: response head over 4 KiB", got)
	}
	if got := page.Tiles["lenient"]; got.Status != "ok" {
		t.Errorf("lenient tile: %+v; want ok", got)
	}
	m, err := scrapeMetrics(http.DefaultClient, in.base)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.sum("vitrine_upstream_responses_total", "tile", "strict", "result", "head_too_large"); n != 1 {
		t.Errorf("head_too_large counted %v times; want 1", n)
	}
}
