package web_test

// Tests of what each route tells caches: a response that depends on user
// (every form of /home and /tiles/NAME, errors included) is private and
// revalidated; the pictures and static files are public; probes are never
// stored.

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestCacheControl(t *testing.T) {
	const personal = "no-cache, private"
	h := pictureServer(t)
	for _, tc := range []struct {
		method, target string
		accept         string
		code           int
		cacheControl   string
		vary           []string // tokens Vary must hold
	}{
		{"GET", "/home", "", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/home?user=alice", "", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/home?user=alice", "application/json", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/home?user=alice&format=json", "text/html", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/home?user=alice", "text/html", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/home", "text/html", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/home?user=alice", "application/x-ndjson", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/home?user=alice&format=ndjson", "", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"HEAD", "/home?user=alice", "", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/home?user=a!ice", "", 400, personal, []string{"Accept-Encoding"}},
		{"GET", "/home?user=alice&format=xml", "", 400, personal, []string{"Accept-Encoding"}},
		{"GET", "/tiles/recommendations?user=alice", "", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/tiles/recommendations?user=alice", "application/json", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/tiles/recommendations?user=alice&format=html", "", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/tiles/recommendations?user=alice", "text/html", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/tiles/recommendations?user=alice&format=ndjson", "", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/tiles/banners", "", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"HEAD", "/tiles/recommendations?user=alice", "", 200, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/tiles/nope?user=alice", "", 404, personal, []string{"Accept", "Accept-Encoding"}},
		{"GET", "/tiles", "", 200, "no-cache", []string{"Accept-Encoding"}},
		{"GET", "/healthz", "", 200, "no-store", []string{"Accept-Encoding"}},
		{"GET", "/test", "", 200, "no-store", []string{"Accept-Encoding"}},
		{"GET", "/static/vitrine.css", "", 200, "public, max-age=300", []string{"Accept-Encoding"}},
		{"GET", "/img/products/p01.svg", "", 200, "public, max-age=86400", []string{"Accept-Encoding"}},
		{"GET", "/static/nope.css", "", 404, "", []string{"Accept-Encoding"}},
		{"GET", "/img/products/nope.svg", "", 404, "", []string{"Accept-Encoding"}},
		{"GET", "/nope", "", 404, "", nil},
	} {
		t.Run(tc.method+" "+tc.target+" "+tc.accept, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("status %d (body %.120q); want %d", rec.Code, rec.Body, tc.code)
			}
			if got := rec.Header().Values("Cache-Control"); strings.Join(got, ", ") != tc.cacheControl {
				t.Errorf("Cache-Control = %q; want %q", got, tc.cacheControl)
			}
			vary := headerValues(rec.Header(), "Vary")
			for _, v := range tc.vary {
				if !slices.Contains(vary, v) {
					t.Errorf("Vary = %q; want %s in it", vary, v)
				}
			}
		})
	}
}

// headerValues returns the comma-separated tokens of every value of key.
func headerValues(h http.Header, key string) []string {
	var out []string
	for _, v := range h.Values(key) {
		for tok := range strings.SplitSeq(v, ",") {
			out = append(out, strings.TrimSpace(tok))
		}
	}
	return out
}
