package web_test

// Tests of the routes: which methods each answers, how a tile's name is
// read from the path, and what a 404 suggests.

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/web"
	"vitrine/web/webtest"
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

// pathCase is a path as sent and what it must answer.
type pathCase struct {
	path     string
	wantCode int
	// wantSays is, for a 200, what was served (a tile's name, a piece of a
	// file); for a 404, what the error message says: the name looked up,
	// quoted.
	wantSays string
}

// tileNameCases are tile names in the path: net/http decodes the path once,
// and that decoded name is the tile's. A name that still holds a % after
// that one decoding is looked up as it is (and is no tile), never decoded
// a second time.
var tileNameCases = []pathCase{
	{"/tiles/banners", http.StatusOK, "banners"},
	{"/tiles/%62anners", http.StatusOK, "banners"},
	{"/tiles/%62%61nners", http.StatusOK, "banners"},
	{"/%74iles/banners", http.StatusOK, "banners"},
	{"/tiles/%2562anners", http.StatusNotFound, `no tile named "%62anners"`},
	{"/tiles/%25zz", http.StatusNotFound, `no tile named "%zz"`},
	{"/tiles/%25", http.StatusNotFound, `no tile named "%"`},
	{"/tiles/100%25", http.StatusNotFound, `no tile named "100%"`},
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
			resp, body := webtest.RawRequest(t, srv.Listener.Addr().String(), "GET "+tc.path+" HTTP/1.1\r\nHost: vitrine\r\n")
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

// fileNameCases are file names in the path of /static/* and
// /img/products/:file, which are read as the tiles' names are: decoded
// once, by net/http. A valid encoding of a real file serves it; a name that
// names nothing after that one decoding is the contract's JSON 404.
var fileNameCases = []pathCase{
	{"/static/vitrine.css", http.StatusOK, "--"},
	{"/static/%76itrine.css", http.StatusOK, "--"},
	{"/static/vitrine%2ecss", http.StatusOK, "--"},
	{"/static/vitrine%2Ecss", http.StatusOK, "--"},
	{"/static/vitrine.js", http.StatusOK, "function"},
	{"/%73tatic/vitrine.css", http.StatusOK, "--"},
	{"/img/%70roducts/p01.svg", http.StatusOK, "<svg"},
	{"/static/%2576itrine.css", http.StatusNotFound, `no static file "%76itrine.css"`},
	{"/static/vitrine", http.StatusNotFound, `no static file "vitrine"`},
	{"/static/100%25", http.StatusNotFound, `no static file "100%"`},
	{"/static/%2e%2e/render.go", http.StatusNotFound, `no static file "../render.go"`},
	{"/static/a%2Fvitrine.css", http.StatusNotFound, `no static file "a/vitrine.css"`},
	{"/static/", http.StatusNotFound, `no static file ""`},
	{"/img/products/p01.svg", http.StatusOK, "<svg"},
	{"/img/products/p01%2esvg", http.StatusOK, "<svg"},
	{"/img/products/%70%30%31.svg", http.StatusOK, "<svg"},
	{"/img/products/p01", http.StatusNotFound, `no product image "p01"`},
	{"/img/products/p01.png", http.StatusNotFound, `no product image "p01.png"`},
	{"/img/products/p01%252esvg", http.StatusNotFound, `no product image "p01%2esvg"`},
	{"/img/products/nope.svg", http.StatusNotFound, `no product image "nope.svg"`},
	{"/img/products/p01.svg%2F", http.StatusNotFound, `no product image "p01.svg/"`},
}

// checkFileNameResponse checks one response to a fileNameCases path.
func checkFileNameResponse(t *testing.T, path string, code int, header http.Header, body []byte, wantCode int, wantSays string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("GET %s: status %d (body %.160s); want %d", path, code, body, wantCode)
	}
	if wantCode == http.StatusOK {
		if !strings.Contains(string(body), wantSays) {
			t.Errorf("GET %s: body %.80s; want the file, holding %q", path, body, wantSays)
		}
		return
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q; want JSON", path, ct)
	}
	var v struct{ Error string }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: body %.160s: %v; want JSON", path, body, err)
	}
	if !strings.Contains(v.Error, wantSays) {
		t.Errorf("GET %s: error %q; want it to say %s", path, v.Error, wantSays)
	}
}

// pictureServer is the Echo handler with the embedded catalogue, whose
// products have pictures.
func pictureServer(t *testing.T) http.Handler {
	t.Helper()
	agg, err := aggregator.New(fetchers(threeOK()...), aggregator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return web.NewServer(slog.New(slog.DiscardHandler), agg, web.Options{Catalogue: catalogue.Default()})
}

// TestFileNameDecodedOnce serves each path through the router.
func TestFileNameDecodedOnce(t *testing.T) {
	h := pictureServer(t)
	for _, tc := range fileNameCases {
		t.Run(tc.path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if got := req.URL.EscapedPath(); got != tc.path {
				t.Fatalf("request path = %q; want %q as sent", got, tc.path)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			checkFileNameResponse(t, tc.path, rec.Code, rec.Header(), rec.Body.Bytes(), tc.wantCode, tc.wantSays)
		})
	}
}

// TestFileNameDecodedOnceRealServer sends each path as a raw request line.
func TestFileNameDecodedOnceRealServer(t *testing.T) {
	srv := httptest.NewServer(pictureServer(t))
	defer srv.Close()
	for _, tc := range fileNameCases {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := webtest.RawRequest(t, srv.Listener.Addr().String(), "GET "+tc.path+" HTTP/1.1\r\nHost: vitrine\r\n")
			checkFileNameResponse(t, tc.path, resp.StatusCode, resp.Header, body, tc.wantCode, tc.wantSays)
		})
	}
}
