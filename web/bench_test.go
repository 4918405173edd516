package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"vitrine/web"
)

// BenchmarkHomeOverhead measures what Vitrine itself costs per page: one
// GET /home through the whole Echo stack (routing, middleware, logging,
// fan-out, merge, JSON) over the real tiles with no simulated latency.
func BenchmarkHomeOverhead(b *testing.B) {
	fs := builtins(b, 0)
	// Logs are formatted as in main, then dropped.
	s := newServer(b, opts{LogTo: io.Discard}, fs...)
	req := httptest.NewRequest(http.MethodGet, "/home?user=alice", nil)
	req.Header.Set("Accept", "application/json")
	if rec := s.do(http.MethodGet, "/home?user=alice"); rec.Code != http.StatusOK {
		b.Fatalf("GET /home: status = %d; want 200 (body %s)", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /home: status = %d; want 200", rec.Code)
		}
	}
	b.ReportMetric(float64(len(fs)), "tiles/page")
}

// BenchmarkPageRoutes compares /home with a page of the file's pages: with
// the same three tiles, what a page at /c/{slug} adds to serve (its route,
// its parameter read and checked against its pattern, a layout of widths).
func BenchmarkPageRoutes(b *testing.B) {
	category := web.Page{Path: "/c/{slug}", Title: "Category",
		Params: map[string]*regexp.Regexp{"slug": regexp.MustCompile(`^[a-z0-9-]{1,64}$`)},
		Widths: map[string]string{"banners": "full", "products": "row", "recommendations": "half"}}
	for _, bc := range []struct {
		name, target string
		pages        []web.Page
	}{
		{"home", "/home?user=alice", nil},
		{"category", "/c/outdoor?user=alice", []web.Page{category}},
	} {
		for _, format := range []string{"application/json", "text/html"} {
			b.Run(bc.name+"/"+format[len(format)-4:], func(b *testing.B) {
				s := newServer(b, opts{LogTo: io.Discard, Pages: bc.pages}, builtins(b, 0)...)
				req := httptest.NewRequest(http.MethodGet, bc.target, nil)
				req.Header.Set("Accept", format)
				b.ReportAllocs()
				for b.Loop() {
					rec := httptest.NewRecorder()
					s.e.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("GET %s: status = %d; want 200", bc.target, rec.Code)
					}
				}
			})
		}
	}
}
