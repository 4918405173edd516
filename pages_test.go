package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// pagesFile is a config of a homepage and category pages over the backend at url.
func pagesFile(url string) string {
	return fmt.Sprintf(`tiles:
  - {name: banners, url: '%[1]s/banners', ttl: 1h}
  - {name: category, url: '%[1]s/category/{slug}', ttl: 1h}
pages:
  - {path: /home, title: Home, tiles: [banners]}
  - path: /c/{slug}
    title: Category
    tiles: [banners, category]
    primary: category
`, url)
}

// TestRunPages: a category page over the wire. /c/outdoor is the category
// tile's data for outdoor; a value that does not match the pattern is a 404
// in every form before any backend is asked; the banners, which use no
// parameter, are one entry for ten categories; /tiles/category takes the
// slug as a query parameter.
func TestRunPages(t *testing.T) {
	b, url := newCountingBackend(t)
	path := filepath.Join(t.TempDir(), "vitrine.yaml")
	writeFile(t, path, pagesFile(url))
	in := start(t, "-config", path)

	var page struct {
		Tiles map[string]struct {
			Status string
			Data   struct{ Path string }
		}
	}
	if code := getJSON(t, http.DefaultClient, in.base+"/c/outdoor", &page); code != http.StatusOK ||
		page.Tiles["category"].Data.Path != "/category/outdoor" || len(page.Tiles) != 2 {
		t.Fatalf("GET /c/outdoor: %d %+v; want 200, the banners and category /category/outdoor", code, page.Tiles)
	}
	bad := []string{"/c/..%2Fadmin", "/c/" + strings.Repeat("a", 300), "/c/%00", "/c/Outdoor", "/c/",
		"/tiles/category?slug=..%2Fadmin"}
	for _, p := range bad {
		for _, format := range []string{"json", "html", "ndjson"} {
			resp, err := http.Get(in.base + p + sep(p) + "format=" + format)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(string(body), `{"error":`) {
				t.Errorf("GET %s as %s: %d %.80s; want 404 with a JSON error", p, format, resp.StatusCode, body)
			}
		}
	}
	if n := b.count("/banners") + b.count("/category/outdoor"); n != 2 {
		t.Errorf("backend requests after the bad values = %d; want 2 (the first page's)", n)
	}
	for i := range 10 {
		slug := fmt.Sprintf("cat-%d", i)
		if code := getJSON(t, http.DefaultClient, in.base+"/c/"+slug, &page); code != http.StatusOK ||
			page.Tiles["category"].Data.Path != "/category/"+slug {
			t.Errorf("GET /c/%s: %d %+v; want 200 and its category", slug, code, page.Tiles)
		}
	}
	if got := b.count("/banners"); got != 1 {
		t.Errorf("banners fetched %d times for 11 categories; want 1 (one entry for every slug)", got)
	}
	var tile struct{ Data struct{ Path string } }
	if code := getJSON(t, http.DefaultClient, in.base+"/tiles/category?slug=kitchen", &tile); code != http.StatusOK ||
		tile.Data.Path != "/category/kitchen" {
		t.Errorf("GET /tiles/category?slug=kitchen: %d %+v; want 200 and /category/kitchen", code, tile)
	}
	if code := getJSON(t, http.DefaultClient, in.base+"/tiles/category", &tile); code != http.StatusBadRequest {
		t.Errorf("GET /tiles/category without a slug: %d; want 400", code)
	}
	if code, tiles := tileStatuses(t, in.base+"/home"); code != http.StatusOK || len(tiles) != 1 {
		t.Errorf("GET /home: %d %v; want 200 and the banners alone", code, tiles)
	}
	// Each form of a page times its tiles, as /home does: a header for
	// JSON, a trailer for the streamed forms.
	for _, format := range []string{"json", "html", "ndjson"} {
		resp, err := http.Get(in.base + "/c/outdoor?format=" + format)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		timing := resp.Header.Get("Server-Timing") + resp.Trailer.Get("Server-Timing")
		for _, want := range []string{"banners;dur=", "category;dur=", "total;dur="} {
			if !strings.Contains(timing, want) {
				t.Errorf("GET /c/outdoor as %s: Server-Timing %q; want %s", format, timing, want)
			}
		}
	}
	if body := getBody(t, in.base+"/c/outdoor?format=html"); !strings.Contains(body, "<title>Category: Vitrine</title>") {
		t.Errorf("the category page's HTML has no title Category: %.300s", body)
	}
	want := "try /c/{slug}, /home, /tiles, "
	if body := getBody(t, in.base+"/nowhere"); !strings.Contains(body, want) {
		t.Errorf("GET /nowhere: %s; want it to suggest %q", body, want)
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// TestRunReloadAddsPage: a reload adds the category page without a
// restart; an unknown category is then the primary's 404 in every form,
// with the banners still drawn.
func TestRunReloadAddsPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/category/nothing-here" {
			w.WriteHeader(http.StatusNotFound)
		}
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "vitrine.yaml")
	full := pagesFile(srv.URL)
	writeFile(t, path, full[:strings.Index(full, "  - path: /c/")])
	in, admin := startAdmin(t, "-config", path)
	if code, _ := tileStatuses(t, in.base+"/c/outdoor"); code != http.StatusNotFound {
		t.Fatalf("GET /c/outdoor before the reload: %d; want 404", code)
	}
	writeFile(t, path, full)
	if code, body := postReload(t, admin); code != http.StatusOK {
		t.Fatalf("POST /reload: %d %v; want 200", code, body)
	}
	if code, tiles := tileStatuses(t, in.base+"/c/outdoor"); code != http.StatusOK || tiles["category"] != "ok" {
		t.Fatalf("GET /c/outdoor after the reload: %d %v; want 200 with the category", code, tiles)
	}
	for format, banners := range map[string]string{"json": `"banners":{"name":"banners","status":"ok"`,
		"html": `id="tile-banners"`, "ndjson": `{"name":"banners","status":"ok"`} {
		resp, err := http.Get(in.base + "/c/nothing-here?format=" + format)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), banners) {
			t.Errorf("GET /c/nothing-here as %s: %d, banners drawn: %v; want 404 with them",
				format, resp.StatusCode, strings.Contains(string(body), banners))
		}
	}
}
