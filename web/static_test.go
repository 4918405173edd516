package web_test

// Tests of the static files' answers to Range and conditional requests:
// valid ranges are served (206), and the errors net/http's ServeContent
// would write as text/plain are the contract's JSON.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"vitrine/web/webtest"
)

func TestStaticRange(t *testing.T) {
	h := pictureServer(t)
	whole := httptest.NewRecorder()
	h.ServeHTTP(whole, httptest.NewRequest(http.MethodGet, "/static/vitrine.css", nil))
	if whole.Code != http.StatusOK {
		t.Fatalf("GET /static/vitrine.css: status %d; want 200", whole.Code)
	}
	css := whole.Body.String()
	size := strconv.Itoa(len(css))
	for _, tc := range []struct {
		name   string
		method string
		header []string // "Name: value"
		code   int
		// body is the exact body for a success, a piece of the error's
		// message for an error.
		body         string
		contentRange string
	}{
		{name: "no range", method: "GET", code: 200, body: css},
		{name: "first bytes", method: "GET", header: []string{"Range: bytes=0-9"},
			code: 206, body: css[:10], contentRange: "bytes 0-9/" + size},
		{name: "last bytes", method: "GET", header: []string{"Range: bytes=-5"},
			code: 206, body: css[len(css)-5:], contentRange: "bytes " + strconv.Itoa(len(css)-5) + "-" + strconv.Itoa(len(css)-1) + "/" + size},
		{name: "range with gzip accepted is not compressed", method: "GET", header: []string{"Range: bytes=0-9", "Accept-Encoding: gzip"},
			code: 206, body: css[:10], contentRange: "bytes 0-9/" + size},
		{name: "HEAD with a range", method: "HEAD", header: []string{"Range: bytes=0-9"},
			code: 206, contentRange: "bytes 0-9/" + size},
		{name: "range past the end", method: "GET", header: []string{"Range: bytes=999999-"},
			code: 416, body: `range "bytes=999999-" cannot be served from /static/vitrine.css, which is ` + size + ` bytes`, contentRange: "bytes */" + size},
		{name: "range past the end with gzip accepted", method: "GET", header: []string{"Range: bytes=999999-", "Accept-Encoding: gzip"},
			code: 416, body: "ask for bytes within 0-" + strconv.Itoa(len(css)-1), contentRange: "bytes */" + size},
		{name: "malformed range", method: "GET", header: []string{"Range: bytes=abc"},
			code: 416, body: `range "bytes=abc" cannot be served`},
		{name: "HEAD with a range past the end", method: "HEAD", header: []string{"Range: bytes=999999-"},
			code: 416, contentRange: "bytes */" + size},
		{name: "If-Match", method: "GET", header: []string{`If-Match: "v1"`},
			code: 412, body: `If-Match "\"v1\"" does not match /static/vitrine.css`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/static/vitrine.css", nil)
			for _, hv := range tc.header {
				k, v, _ := strings.Cut(hv, ":")
				req.Header.Set(k, strings.TrimSpace(v))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("status %d (Content-Type %q, body %.120q); want %d", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tc.code)
			}
			if got := rec.Header().Get("Content-Range"); got != tc.contentRange {
				t.Errorf("Content-Range = %q; want %q", got, tc.contentRange)
			}
			if got := rec.Header().Get("Content-Encoding"); got != "" {
				t.Errorf("Content-Encoding = %q; want none", got)
			}
			ct := rec.Header().Get("Content-Type")
			switch {
			case tc.method == http.MethodHead:
				if rec.Body.Len() != 0 {
					t.Errorf("HEAD: body of %d bytes; want none", rec.Body.Len())
				}
				if tc.code >= 400 && strings.HasPrefix(ct, "text/plain") {
					t.Errorf("HEAD: Content-Type = %q; want no text/plain for an error", ct)
				}
			case tc.code < 400:
				if got := rec.Body.String(); got != tc.body {
					t.Errorf("body = %.60q (%d bytes); want %.60q (%d bytes)", got, len(got), tc.body, len(tc.body))
				}
			default:
				if !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q; want application/json", ct)
				}
				var v struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
					t.Fatalf("body %q: %v; want JSON", rec.Body, err)
				}
				if !strings.Contains(v.Error, tc.body) {
					t.Errorf("error %q; want it to say %q", v.Error, tc.body)
				}
				if cc := rec.Header().Get("Cache-Control"); cc != "" {
					t.Errorf("Cache-Control = %q on an error; want none (the file's max-age is not the error's)", cc)
				}
			}
		})
	}
}

// TestStaticRangeRealServer: the 416 is JSON as sent over a real socket,
// where net/http writes whatever the handler leaves to it.
func TestStaticRangeRealServer(t *testing.T) {
	srv := httptest.NewServer(pictureServer(t))
	defer srv.Close()
	resp, body := webtest.RawRequest(t, srv.Listener.Addr().String(), "GET /static/vitrine.css HTTP/1.1\r\nHost: vitrine\r\nRange: bytes=999999-\r\n")
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("status %d; want 416", resp.StatusCode)
	}
	var v struct{ Error string }
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || json.Unmarshal(body, &v) != nil || v.Error == "" {
		t.Errorf("Content-Type %q, body %q; want JSON {\"error\": ...}", ct, body)
	}
}
