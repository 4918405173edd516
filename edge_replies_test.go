package main

// Tests of the replies net/http writes itself, as plain text, before
// Vitrine's handler runs: the README lists them, and these tests keep that
// list true of the server main builds (its MaxHeaderBytes included).

import (
	"encoding/json"
	"strings"
	"testing"

	"vitrine/web/webtest"
)

// Who answers a raw request.
const (
	vitrine = iota // Vitrine's handler: JSON
	plain          // net/http, before Vitrine runs: a line of text/plain
	empty          // net/http, before Vitrine runs: no body at all
)

// netHTTPReplies are raw requests and what answers them.
var netHTTPReplies = []struct {
	name   string
	raw    string // the request, up to the blank line that ends its header
	status int
	by     int
}{
	{"headers just under 64 KB", "GET /healthz HTTP/1.1\r\nHost: v\r\nX-Big: " + strings.Repeat("a", 63<<10) + "\r\n", 200, vitrine},
	// net/http reads up to MaxHeaderBytes plus 4 KB of slack.
	{"headers over 68 KB", "GET /healthz HTTP/1.1\r\nHost: v\r\nX-Big: " + strings.Repeat("a", 68<<10) + "\r\n", 431, plain},
	{"path over 68 KB", "GET /" + strings.Repeat("a", 68<<10) + " HTTP/1.1\r\nHost: v\r\n", 431, plain},
	{"two Host headers", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n", 400, plain},
	{"no Host header", "GET /healthz HTTP/1.1\r\n", 400, plain},
	{"malformed Host", "GET /healthz HTTP/1.1\r\nHost: a b\r\n", 400, plain},
	{"header line without a colon", "GET /healthz HTTP/1.1\r\nHost: v\r\nNoColon\r\n", 400, plain},
	{"header name with a space", "GET /healthz HTTP/1.1\r\nHost: v\r\nBad Name: x\r\n", 400, plain},
	{"two Content-Lengths", "GET /healthz HTTP/1.1\r\nHost: v\r\nContent-Length: 1\r\nContent-Length: 2\r\n", 400, plain},
	{"malformed request line", "GARBAGE\r\n", 400, plain},
	{"malformed escape in the path", "GET /tiles/%zz HTTP/1.1\r\nHost: v\r\n", 400, plain},
	{"Transfer-Encoding gzip, chunked", "GET /healthz HTTP/1.1\r\nHost: v\r\nTransfer-Encoding: gzip, chunked\r\n", 501, plain},
	{"HTTP/2.0 request line", "GET /healthz HTTP/2.0\r\nHost: v\r\n", 505, plain},
	{"HTTP/3.0 request line", "GET /healthz HTTP/3.0\r\nHost: v\r\n", 505, plain},
	{"Expect other than 100-continue", "GET /healthz HTTP/1.1\r\nHost: v\r\nExpect: teapot\r\n", 417, empty},
	// The HTTP/2 preface is passed to the handler (for h2c, which Vitrine
	// does not speak): Vitrine's router has no path "*".
	{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n", 404, vitrine},
	// The request header TE (not Transfer-Encoding) is not net/http's to
	// refuse: it reaches Vitrine.
	{"TE gzip, chunked", "GET /healthz HTTP/1.1\r\nHost: v\r\nTE: gzip, chunked\r\n", 200, vitrine},
}

func TestNetHTTPPlainReplies(t *testing.T) {
	in := start(t, fastArgs...)
	addr := strings.TrimPrefix(in.base, "http://")
	for _, tc := range netHTTPReplies {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := webtest.RawRequest(t, addr, tc.raw)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %q (body %.80q); want %d", resp.Status, body, tc.status)
			}
			ct := resp.Header.Get("Content-Type")
			switch tc.by {
			case plain: // e.g. "431 Request Header Fields Too Large"
				if ct != "text/plain; charset=utf-8" || len(body) == 0 || json.Valid(body) {
					t.Errorf("Content-Type %q, body %.80q; want net/http's text/plain reply", ct, body)
				}
			case empty:
				if ct != "" || len(body) != 0 {
					t.Errorf("Content-Type %q, body %.80q; want net/http's empty reply", ct, body)
				}
			default:
				if !strings.HasPrefix(ct, "application/json") || !json.Valid(body) {
					t.Errorf("Content-Type %q, body %.80q; want Vitrine's JSON", ct, body)
				}
			}
		})
	}
}
