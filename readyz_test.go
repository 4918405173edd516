package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestReadyz checks /readyz as main wires it: ready while every breaker is
// closed; degraded, still 200, when a tile with a fallback has its breaker
// open; unready, 503, when a tile without one has (its pages have a hole);
// and a tile without a breaker shown as such.
func TestReadyz(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	type readiness struct {
		Status string
		Redis  *struct{ State string }
		Tiles  map[string]struct{ Breaker string }
	}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		status   string
		breakers map[string]string
	}{
		{"every breaker closed", nil, http.StatusOK, "ready",
			map[string]string{"banners": "closed", "products": "closed", "recommendations": "none"}},
		{"open with a fallback", []string{"-backend", "products=" + failing.URL}, http.StatusOK, "degraded",
			map[string]string{"banners": "closed", "products": "open", "recommendations": "none"}},
		{"open without a fallback", []string{"-backend", "products=" + failing.URL, "-fallback=false"}, http.StatusServiceUnavailable, "unready",
			map[string]string{"banners": "closed", "products": "open", "recommendations": "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-breaker", "products=1,recommendations=0", "-latency", "banners=1ms,products=1ms,recommendations=1ms"}, tc.args...)
			in := start(t, args...)
			resp, err := http.Get(in.base + "/home") // one failure opens products' breaker
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var got readiness
			if code := getJSON(t, http.DefaultClient, in.base+"/readyz", &got); code != tc.code || got.Status != tc.status {
				t.Errorf("GET /readyz: %d %q; want %d %q", code, got.Status, tc.code, tc.status)
			}
			if got.Redis != nil {
				t.Errorf("redis: %+v; want none without -redis", got.Redis)
			}
			for name, want := range tc.breakers {
				if got.Tiles[name].Breaker != want {
					t.Errorf("%s breaker: %q; want %q", name, got.Tiles[name].Breaker, want)
				}
			}
		})
	}
}
