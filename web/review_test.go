package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestHEAD: every route but /test answers HEAD like GET, without a body.
func TestHEAD(t *testing.T) {
	s := newServer(t, opts{}, fetchers(threeOK()...)...)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/healthz", http.StatusOK},
		{"/home", http.StatusOK},
		{"/tiles", http.StatusOK},
		{"/tiles/banners", http.StatusOK},
		{"/tiles/nope", http.StatusNotFound},
		{"/static/vitrine.css", http.StatusOK},
	} {
		rec := s.do(http.MethodHead, tc.path)
		if rec.Code != tc.want {
			t.Errorf("HEAD %s: status %d; want %d", tc.path, rec.Code, tc.want)
		}
		if rec.Body.Len() != 0 && tc.want != http.StatusOK {
			t.Errorf("HEAD %s: error with a body of %d bytes; want none", tc.path, rec.Body.Len())
		}
	}
}

// TestTileNameEscaped: Echo routes on the raw path; a percent-encoded tile
// name is the same tile, and a malformed escape is a 400.
func TestTileNameEscaped(t *testing.T) {
	s := newServer(t, opts{}, fetchers(threeOK()...)...)
	if rec := s.do(http.MethodGet, "/tiles/%62anners"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"name":"banners"`) {
		t.Errorf("GET /tiles/%%62anners: status %d, body %.120s; want 200 with banners", rec.Code, rec.Body)
	}
}

// TestNotFoundHints: a 404 for a picture or a static file says what exists.
func TestNotFoundHints(t *testing.T) {
	s := newServer(t, opts{}, fetchers(threeOK()...)...)
	for path, want := range map[string]string{
		"/static/nope.css":    "/static/vitrine.css",
		"/img/products/x.svg": "/img/products/p01.svg",
	} {
		rec := s.do(http.MethodGet, path)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: status %d, body %s; want 404 mentioning %s", path, rec.Code, rec.Body, want)
		}
	}
}
