package web

// Tests of compression: gzip only when the client's Accept-Encoding weighs
// it above zero, Vary: Accept-Encoding on every response, and streamed
// pages flushed per tile when compressed.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/labstack/echo/v4"

	"vitrine/catalogue"
)

// acceptEncodingCases are Accept-Encoding values and whether the response
// is gzip'd.
var acceptEncodingCases = []struct {
	accept   string // "-": no Accept-Encoding at all
	wantGzip bool
}{
	{"-", false},
	{"", false},
	{"gzip", true},
	{"gzip, deflate, br, zstd", true}, // a browser
	{"gzip;q=0", false},
	{"gzip; q=0", false},
	{"gzip;Q=0", false},
	{"gzip;q=0.0", false},
	{"gzip;q=0.000", false},
	{"deflate, gzip;q=0", false},
	{"gzip;q=0.5", true},
	{"gzip;q=0.001", true},
	{"gzip;q=1", true},
	{"gzip;q=1.000", true},
	{"br;q=1, gzip;q=0.8", true}, // Vitrine has no br: gzip is the best it has
	{"x-gzip", true},
	{"identity", false},
	{"*", false}, // gzip not named: identity is always acceptable
	{"*;q=0", false},
	{"identity, gzip;q=0.5", false},      // identity preferred
	{"gzip;q=0.5, identity;q=0.4", true}, // gzip preferred
	{"gzip;q=0.5, *;q=0.8", false},       // * weighs identity above gzip
	{"gzip;q=0.5, *;q=0", true},          // * refuses the rest, gzip stays
	{"gzip, identity;q=0", true},         //
	{"gzip, gzip;q=0", false},            // named twice: the lower weight
	{"gzip;q=0, x-gzip", false},          // the same coding
	{"gzip;q=2", false},                  // not a weight: ignored
	{"gzip;q=-1", false},                 //
	{"gzip;q=abc", false},                //
	{"gzip;q=0.5000", false},             // four decimals
	{"gzip;q=1.5", false},                //
	{"xgzip", false},                     // Echo's own test would say yes: it contains "gzip"
	{"compress;q=0.5, notgzip", false},   //
	{"GZIP", false},                      // named, but Echo's gzip matches the lower case only; identity is fine
}

// TestGzipHonoursWeights asks for /home (JSON), a streamed page and a
// static file over a real socket with each Accept-Encoding.
func TestGzipHonoursWeights(t *testing.T) {
	cat := catalogue.Default()
	srv, client := realServer(t, time.Second, specTiles(t, cat, []tileSpec{
		{name: "banners", latency: time.Millisecond},
		{name: "products", latency: time.Millisecond},
		{name: "recommendations", latency: time.Millisecond},
	})...)
	for _, tc := range acceptEncodingCases {
		for _, target := range []struct{ path, accept, check string }{
			{"/home", "application/json", `"complete":true`},
			{"/home", "application/x-ndjson", `"complete":true`},
			{"/static/vitrine.css", "*/*", "--"},
		} {
			t.Run(tc.accept+" "+target.path+" "+target.accept, func(t *testing.T) {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+target.path, nil)
				req.Header.Set("Accept", target.accept)
				if tc.accept != "-" {
					req.Header.Set("Accept-Encoding", tc.accept)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d; want 200", resp.StatusCode)
				}
				gzipped := resp.Header.Get(echo.HeaderContentEncoding) == "gzip"
				if gzipped != tc.wantGzip {
					t.Errorf("Accept-Encoding %q: gzip'd %t (Content-Encoding %q); want %t", tc.accept, gzipped, resp.Header.Get(echo.HeaderContentEncoding), tc.wantGzip)
				}
				if vary := headerTokens(resp.Header, "Vary"); !slices.Contains(vary, "Accept-Encoding") {
					t.Errorf("Vary = %v; want Accept-Encoding in it, compressed or not", vary)
				}
				var body io.Reader = resp.Body
				if gzipped {
					zr, err := gzip.NewReader(resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					body = zr
				}
				b, err := io.ReadAll(body)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(b, []byte(target.check)) {
					t.Errorf("body %.100q; want it to hold %q", b, target.check)
				}
			})
		}
	}
}

// TestGzipStreamWithWeights: a page gzip'd for a weighted Accept-Encoding
// still flushes each tile as it finishes, and each flush decompresses to
// the tiles finished by then (TestStreamGzip does the same for "gzip").
func TestGzipStreamWithWeights(t *testing.T) {
	for _, accept := range []string{"gzip;q=0.5", "br, gzip;q=0.8, identity;q=0.1"} {
		for _, form := range []struct{ name, accept, marker string }{
			{"HTML", "text/html", "data-status="},
			{"NDJSON", "application/x-ndjson", `"status":`},
		} {
			t.Run(form.name+" "+accept, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					cat := catalogue.Default()
					specs := latencySets[1].specs // recommendations 40, products 80, banners 120
					e := newTestServer(t, 500*time.Millisecond, cat, specTiles(t, cat, specs)...)
					rec, _ := serveAt(t.Context(), e, "/home", "Accept: "+form.accept, "Accept-Encoding: "+accept)
					if got := rec.header.Get(echo.HeaderContentEncoding); got != "gzip" {
						t.Fatalf("Content-Encoding = %q; want gzip", got)
					}
					want := arrivals(specs, 500*time.Millisecond)
					body := rec.body.Bytes()
					seen := 0
					for _, f := range rec.flushes {
						plain := gunzipPrefix(t, body[:f.end])
						n := strings.Count(plain, form.marker)
						if n == seen {
							continue // the shell, or the summary
						}
						if n != seen+1 {
							t.Errorf("flush at %v: %d tiles readable; want %d", f.at, n, seen+1)
						}
						seen = n
						if w := want[n-1]; f.at != w.at || !strings.Contains(plain, w.name) {
							t.Errorf("flush at %v: want %s readable at %v", f.at, w.name, w.at)
						}
					}
					if seen != len(want) {
						t.Errorf("%d tiles readable at flushes; want %d", seen, len(want))
					}
				})
			})
		}
	}
}

// TestGzipErrorsStayJSON: an error answered to a client that takes gzip
// is the contract's JSON, labelled as it is sent (Echo's gzip lets an
// error through uncompressed).
func TestGzipErrorsStayJSON(t *testing.T) {
	srv, client := realServer(t, time.Second, specTiles(t, catalogue.Default(), []tileSpec{{name: "banners"}})...)
	for _, path := range []string{"/tiles/nope", "/nope", "/home?format=xml"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip;q=0.5")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = resp.Body
		if resp.Header.Get(echo.HeaderContentEncoding) == "gzip" {
			if body, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		var v struct{ Error string }
		if err := json.NewDecoder(body).Decode(&v); err != nil || v.Error == "" || resp.StatusCode < 400 {
			t.Errorf("GET %s: status %d, Content-Encoding %q, body: %v, %+v; want an error as JSON {\"error\": ...}",
				path, resp.StatusCode, resp.Header.Get(echo.HeaderContentEncoding), err, v)
		}
		resp.Body.Close()
	}
}
