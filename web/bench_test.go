package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
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
