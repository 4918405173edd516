package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

// TestRunMetrics checks that the wired server exposes its series at
// /metrics and that they move as pages are served: the cache serves the
// second page, so each tile's backend is fetched once for two pages.
func TestRunMetrics(t *testing.T) {
	in := start(t, fastArgs...)
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(in.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: status %d; want 200", resp.StatusCode)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// value reads a series; one with labels made on first use may be
	// missing before, and counts as 0 then.
	value := func(body, series string, mayMiss bool) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			if mayMiss {
				return 0
			}
			t.Fatalf("series %s missing from /metrics", series)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := scrape()
	for _, s := range []string{`vitrine_pages_in_flight`, `go_goroutines`, `vitrine_breaker_state{tile="recommendations"}`} {
		value(before, s, false)
	}
	for range 2 {
		var page struct{ Complete bool }
		if code := getJSON(t, http.DefaultClient, in.base+"/home", &page); code != http.StatusOK || !page.Complete {
			t.Fatalf("GET /home: status %d, complete %v; want 200 and complete", code, page.Complete)
		}
	}
	after := scrape()
	for _, tc := range []struct {
		series string
		want   float64
	}{
		{`vitrine_pages_total{complete="true"}`, 2},
		{`vitrine_tile_results_total{status="ok",tile="banners"}`, 2},
		{`vitrine_cache_misses_total{tile="products"}`, 1},
		{`vitrine_cache_hits_total{tile="products"}`, 1},
		{`vitrine_backend_fetches_total{result="ok",tile="recommendations"}`, 1},
		{`vitrine_page_duration_seconds_count`, 2},
	} {
		if got := value(after, tc.series, false) - value(before, tc.series, true); got != tc.want {
			t.Errorf("%s moved by %v over two pages; want %v", tc.series, got, tc.want)
		}
	}
}
