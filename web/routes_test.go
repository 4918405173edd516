package web_test

// Tests of the routes: which methods each answers, how a tile's name is
// read from the path, and what a 404 suggests.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

// tileNameCases are tile names in the path: net/http decodes the path once,
// and that decoded name is the tile's. A name that still holds a % after
// that one decoding is looked up as it is (and is no tile), never decoded
// a second time.
var tileNameCases = []struct {
	path     string
	wantCode int
	// wantSays is, for a 200, the name of the tile served; for a 404, what
	// the error message says: the name looked up, quoted.
	wantSays string
}{
	{"/tiles/banners", http.StatusOK, "banners"},
	{"/tiles/%62anners", http.StatusOK, "banners"},
	{"/tiles/%62%61nners", http.StatusOK, "banners"},
	{"/tiles/%2562anners", http.StatusNotFound, `no tile named "%62anners"`},
	{"/tiles/%25zz", http.StatusNotFound, `no tile named "%zz"`},
	{"/tiles/%25", http.StatusNotFound, `no tile named "%"`},
	{"/tiles/a%2Fb", http.StatusNotFound, `no tile named "a/b"`},
}

// checkTileNameResponse checks one response to a tileNameCases path.
func checkTileNameResponse(t *testing.T, path string, code int, body []byte, wantCode int, wantSays string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("GET %s: status %d (body %.160s); want %d", path, code, body, wantCode)
	}
	var v struct{ Name, Error string }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: body %.160s: %v; want JSON", path, body, err)
	}
	if wantCode == http.StatusOK && v.Name != wantSays {
		t.Errorf("GET %s served tile %q; want %q", path, v.Name, wantSays)
	}
	if wantCode != http.StatusOK && !strings.Contains(v.Error, wantSays) {
		t.Errorf("GET %s: error %q; want it to say %s", path, v.Error, wantSays)
	}
}

// TestTileNameDecodedOnce serves each path through the router, as
// httptest.NewRequest parses it.
func TestTileNameDecodedOnce(t *testing.T) {
	s := newServer(t, opts{}, fetchers(threeOK()...)...)
	for _, tc := range tileNameCases {
		t.Run(tc.path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if got := req.URL.EscapedPath(); got != tc.path {
				t.Fatalf("request path = %q; want %q as sent", got, tc.path)
			}
			rec := httptest.NewRecorder()
			s.e.ServeHTTP(rec, req)
			checkTileNameResponse(t, tc.path, rec.Code, rec.Body.Bytes(), tc.wantCode, tc.wantSays)
		})
	}
}

// TestTileNameDecodedOnceRealServer sends each path as a raw request line
// over a real connection, so that no client library re-encodes it.
func TestTileNameDecodedOnceRealServer(t *testing.T) {
	s := newServer(t, opts{}, fetchers(threeOK()...)...)
	srv := httptest.NewServer(s.e)
	defer srv.Close()
	for _, tc := range tileNameCases {
		t.Run(tc.path, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: vitrine\r\nConnection: close\r\n\r\n", tc.path); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			checkTileNameResponse(t, tc.path, resp.StatusCode, body, tc.wantCode, tc.wantSays)
		})
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
