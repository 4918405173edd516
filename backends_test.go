package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/sim"
	"vitrine/tiles"
)

// exampleArgs are the arguments that serve the example file (start adds a free port),
// every HTTP tile's URL moved to base's host (with -backend, as a user
// would point the file at other hosts), and the file as parsed.
func exampleArgs(t *testing.T, file, base string) ([]string, config.Config) {
	t.Helper()
	cfg, err := config.Parse([]string{"-config", file}, noEnv)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	host := strings.TrimPrefix(base, "http://")
	var moved []string
	for _, tc := range cfg.Tiles {
		if tc.URL == "" {
			continue
		}
		u, err := url.Parse(tc.URL)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = host
		moved = append(moved, tc.Name+"="+u.String())
	}
	args := []string{"-config", file}
	if cfg.Identity.JWKS != "" { // the key set too is at base: a copy of the file says so
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		args[1] = filepath.Join(t.TempDir(), filepath.Base(file))
		if err := os.WriteFile(args[1], []byte(strings.ReplaceAll(string(text), "localhost:9000", host)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if moved != nil {
		args = append(args, "-backend", strings.Join(moved, ","))
	}
	return args, cfg
}

// wantData is the data each simulated tile serves for req, by the path of
// its backend's route: the built-in tiles' and those only `vitrine
// backends` serves, and the items of a collection that the examples' pages
// ask for (category/outdoor).
func wantData(t *testing.T, req tiles.Request) map[string]string {
	t.Helper()
	want := map[string]string{}
	for _, d := range append(sim.Builtins(), sim.Extra()...) {
		data, err := d.Content(catalogue.Default(), req)
		if err != nil {
			t.Fatal(err)
		}
		want[d.Name] = string(data)
		if d.Item != nil {
			if data, err = d.Item(catalogue.Default(), exampleSlug); err != nil {
				t.Fatal(err)
			}
			want[d.Name+"/"+exampleSlug] = string(data)
		}
	}
	return want
}

// exampleSlug is the value the examples' pages are asked with for each
// path parameter.
const exampleSlug = "outdoor"

// examplePages are the paths of cfg's pages, each parameter set to
// exampleSlug.
func examplePages(cfg config.Config) []string {
	var paths []string
	for _, p := range cfg.PageList() {
		for name := range p.Params {
			p.Path = strings.ReplaceAll(p.Path, "{"+name+"}", exampleSlug)
		}
		paths = append(paths, p.Path)
	}
	return paths
}

// examplePage is a page as TestExamplesServe reads it.
type examplePage struct {
	Tiles map[string]struct {
		Status string
		Data   json.RawMessage
	}
	Complete bool
}

// TestExamplesServe: every file in examples/ passes -check and serves each
// of its pages whole over HTTP from `vitrine backends`: every tile ok,
// each carrying its backend's data verbatim (the user forwarded only to
// personalised tiles), and /tiles naming each tile's source by its label.
func TestExamplesServe(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v, %v; want at least two files", files, err)
	}
	base := startBackends(t, "-latency", "banners=0s,products=0s,recommendations=0s").base
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			if err := run(t.Context(), []string{"-config", file, "-check"}, noEnv, io.Discard, io.Discard); err != nil {
				t.Fatalf("-check: %v; want nil", err)
			}
			args, cfg := exampleArgs(t, file, base)
			in := start(t, args...)
			client := http.DefaultClient
			if strings.Contains(file, "jwt") { // alice is who the token says, not ?user=
				client = &http.Client{Transport: bearer(sim.DemoToken("alice", time.Minute))}
			}
			served := examplePage{Tiles: map[string]struct {
				Status string
				Data   json.RawMessage
			}{}}
			for _, path := range examplePages(cfg) {
				var page examplePage
				if code := getJSON(t, client, in.base+path+"?user=alice", &page); code != http.StatusOK || !page.Complete {
					t.Fatalf("GET %s: %d, complete %v (%+v); want 200 and a complete page", path, code, page.Complete, page.Tiles)
				}
				maps.Copy(served.Tiles, page.Tiles)
			}
			alice, anyone := wantData(t, tiles.Request{User: "alice"}), wantData(t, tiles.Request{})
			var list []struct{ Name, Source string }
			getJSON(t, http.DefaultClient, in.base+"/tiles", &list)
			if len(list) != len(cfg.Tiles) {
				t.Fatalf("/tiles lists %d tiles; want the file's %d", len(list), len(cfg.Tiles))
			}
			for i, tc := range cfg.Tiles {
				got := served.Tiles[tc.Name]
				backend := tc.Name
				if tc.URL != "" {
					u, _ := url.Parse(tc.URL)
					backend = strings.ReplaceAll(strings.TrimPrefix(u.Path, "/"), "{slug}", exampleSlug)
				}
				want := anyone[backend]
				if tc.Personalised {
					want = alice[backend]
				}
				if got.Status != "ok" || string(got.Data) != want {
					t.Errorf("tile %s: %s %s; want ok %s", tc.Name, got.Status, got.Data, want)
				}
				wantSource := "simulator"
				if tc.URL != "" { // never the host: only the operator port shows it
					wantSource = cmp.Or(tc.Label, tc.Name)
				}
				if list[i].Name != tc.Name || list[i].Source != wantSource {
					t.Errorf("/tiles[%d] = %+v; want %s from %s", i, list[i], tc.Name, wantSource)
				}
			}
		})
	}
}

// TestUserForwardedOnlyToPersonalised: over the real wire, `vitrine
// backends` sees the user only on the personalised tile.
func TestUserForwardedOnlyToPersonalised(t *testing.T) {
	base := startBackends(t, "-latency", "banners=0s,products=0s,recommendations=0s").base
	args, _ := exampleArgs(t, "examples/http.yaml", base)
	in := start(t, append(args, "-cache=false")...)
	var page struct{ Complete bool }
	if code := getJSON(t, http.DefaultClient, in.base+"/home?user=bob", &page); code != http.StatusOK || !page.Complete {
		t.Fatalf("GET /home: %d, complete %v; want 200, complete", code, page.Complete)
	}
	var stats map[string]map[string]int
	getJSON(t, http.DefaultClient, base+"/stats", &stats)
	for tile, users := range stats {
		_, sawBob := users["bob"]
		if want := tile == "recommendations"; sawBob != want {
			t.Errorf("backend %s saw user bob: %v; want %v (stats %v)", tile, sawBob, want, stats)
		}
	}
}

// TestPrimaryOverHTTP: the primary tile's backend decides the status of
// every form of the page, over the real server.
func TestPrimaryOverHTTP(t *testing.T) {
	tests := []struct {
		name    string
		backend int // what the products backend answers
		flags   []string
		want    int
	}{
		{"ok", http.StatusOK, nil, http.StatusOK},
		{"not found", http.StatusNotFound, nil, http.StatusNotFound},
		{"gone", http.StatusGone, nil, http.StatusGone},
		{"failing, with its fallback", http.StatusServiceUnavailable, nil, http.StatusOK},
		{"failing, nothing to serve", http.StatusServiceUnavailable, []string{"-fallback=false"}, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			products := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.backend)
				w.Write([]byte(`[]`))
			}))
			defer products.Close()
			file := filepath.Join(t.TempDir(), "primary.yaml")
			yaml := fmt.Sprintf("tiles:\n  - name: banners\n    latency: 0s\n  - name: products\n    url: %s/products\n    primary: true\n", products.URL)
			if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			in := start(t, append([]string{"-config", file, "-cache=false"}, tt.flags...)...)
			for _, format := range []string{"json", "html", "ndjson"} {
				resp, err := http.Get(in.base + "/home?format=" + format)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Errorf("%s: status %d; want %d", format, resp.StatusCode, tt.want)
				}
				if !strings.Contains(string(body), "banners") {
					t.Errorf("%s: the page lacks its other tile: %.200s", format, body)
				}
			}
		})
	}
}

// TestCheck: -check validates and returns without serving; a bad file is a
// *config.Error naming FILE:LINE:COL, before anything listens.
func TestCheck(t *testing.T) {
	var stdout strings.Builder
	if err := run(t.Context(), []string{"-config", "examples/http.yaml", "-check"}, noEnv, &stdout, io.Discard); err != nil || stdout.Len() != 0 {
		t.Errorf("-check of a good file: %v, stdout %q; want nil and nothing", err, stdout.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("tiles:\n  - name: banners\n    ttl: 3x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-config", bad, "-check"}, {"-config", bad, "-addr", "127.0.0.1:0"}} {
		err := run(t.Context(), args, noEnv, io.Discard, io.Discard)
		var cfgErr *config.Error
		if !errors.As(err, &cfgErr) || !strings.HasPrefix(err.Error(), bad+":3:10: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v; want one line starting %s:3:10:", args, err, bad)
		}
	}
}

// TestBackendsCommand: the subcommand serves each simulated tile and the
// extra ones, and refuses bad flags as the server does.
func TestBackendsCommand(t *testing.T) {
	base := startBackends(t, "-latency", "banners=0s,products=0s,recommendations=0s").base
	want := wantData(t, tiles.Request{User: "carol"})
	for _, name := range []string{"banners", "products", "recommendations", "notice"} {
		resp, err := http.Get(base + "/" + name + "?user=carol")
		if err != nil {
			t.Fatal(err)
		}
		body := bufio.NewScanner(resp.Body)
		body.Scan()
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET /%s: %d %s; want 200 JSON", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		wantBody := want[name]
		if name != "recommendations" {
			wantBody = wantData(t, tiles.Request{})[name]
		}
		if body.Text() != wantBody {
			t.Errorf("GET /%s: %s; want %s", name, body.Text(), wantBody)
		}
	}
	err := runBackends(t.Context(), []string{"-latency", "weather=1s"}, noEnv, io.Discard, io.Discard)
	var cfgErr *config.Error
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "-latency") {
		t.Errorf("backends -latency weather=1s: %v; want a *config.Error naming -latency", err)
	}
}

// TestBackendsCategory: `vitrine backends` serves the category pages'
// backend, GET /category/SLUG, with its own -latency: a known slug its
// catalogue page (an ETag, a 304 for it), an unknown or malformed slug a
// JSON 404, and /stats counts only the requests that reached the tile.
func TestBackendsCategory(t *testing.T) {
	base := startBackends(t, "-latency", "category=0s").base
	outdoor, _ := catalogue.Default().Category("outdoor")
	want, err := json.Marshal(outdoor)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, ifNoneMatch string
		want              int
	}{
		{"/category/outdoor", "", http.StatusOK},
		{"/category/nothing-here", "", http.StatusNotFound},
		{"/category/..%2Fadmin", "", http.StatusNotFound},
		{"/category/" + strings.Repeat("x", 300), "", http.StatusNotFound},
		{"/category/outdoor", etagOf(t, base+"/category/outdoor"), http.StatusNotModified},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, base+tt.path, nil)
		if tt.ifNoneMatch != "" {
			req.Header.Set("If-None-Match", tt.ifNoneMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: %d %s; want %d", tiles.Clip(tt.path, 40), resp.StatusCode, body, tt.want)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			if string(body) != string(want) {
				t.Errorf("GET %s: %s; want %s", tt.path, body, want)
			}
		case http.StatusNotFound:
			if !json.Valid(body) || !strings.Contains(string(body), `"error"`) {
				t.Errorf("GET %s: %s; want a JSON error", tiles.Clip(tt.path, 40), body)
			}
		}
	}
	var stats map[string]map[string]int64
	getJSON(t, http.DefaultClient, base+"/stats", &stats)
	if got := stats["category"][""]; got != 4 { // the etagOf, outdoor twice, nothing-here
		t.Errorf("/stats: category reached %d times; want 4", got)
	}
}

// etagOf is the ETag of GET url.
func etagOf(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("ETag")
}
