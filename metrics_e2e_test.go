package main

import (
	"io"
	"net/http"
	"testing"
)

// TestRunMetrics checks that the wired server exposes its series at
// /metrics and that they move as pages are served: the cache serves the
// second page, so each tile's backend is fetched once for two pages.
func TestRunMetrics(t *testing.T) {
	in := start(t, fastArgs...)
	scrape := func() metricSamples {
		t.Helper()
		m, err := scrapeMetrics(http.DefaultClient, in.base)
		if err != nil {
			t.Fatalf("scraping /metrics: %v", err)
		}
		return m
	}
	// series names a series: its name, then label, value pairs.
	type series struct {
		name   string
		labels []string
	}
	// value reads a series; one with labels made on first use may be
	// missing before, and counts as 0 then.
	value := func(m metricSamples, s series, mayMiss bool) float64 {
		t.Helper()
		v, found := m.lookup(s.name, s.labels...)
		if !found && !mayMiss {
			t.Fatalf("series %s%q missing from /metrics", s.name, s.labels)
		}
		return v
	}
	before := scrape()
	for _, s := range []series{
		{"vitrine_pages_in_flight", nil},
		{"go_goroutines", nil},
		{"vitrine_breaker_state", []string{"tile", "recommendations"}},
		{"vitrine_detached_fetches", []string{"tile", "products"}},
		{"vitrine_detached_capped_total", []string{"tile", "products"}},
	} {
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
		series
		want float64
	}{
		{series{"vitrine_pages_total", []string{"complete", "true"}}, 2},
		{series{"vitrine_tile_results_total", []string{"status", "ok", "tile", "banners"}}, 2},
		{series{"vitrine_cache_misses_total", []string{"tile", "products"}}, 1},
		{series{"vitrine_cache_hits_total", []string{"tile", "products"}}, 1},
		{series{"vitrine_backend_fetches_total", []string{"result", "ok", "tile", "recommendations"}}, 1},
		{series{"vitrine_page_duration_seconds_count", nil}, 2},
		{series{"vitrine_detached_capped_total", []string{"tile", "products"}}, 0},
	} {
		if got := value(after, tc.series, false) - value(before, tc.series, true); got != tc.want {
			t.Errorf("%s%q moved by %v over two pages; want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	// Gauges, read as they are once the pages have been answered: the
	// scrape sees itself in flight and nothing else.
	for _, tc := range []struct {
		series
		want float64
	}{
		{series{"vitrine_http_requests_in_flight", []string{"route", "/metrics"}}, 1},
		{series{"vitrine_http_requests_in_flight", []string{"route", "/home"}}, 0},
		{series{"vitrine_pages_in_flight", nil}, 0},
		// Each miss's shared fetch ran detached and gave its slot back
		// before answering.
		{series{"vitrine_detached_fetches", []string{"tile", "products"}}, 0},
	} {
		if got := value(after, tc.series, false); got != tc.want {
			t.Errorf("%s%q = %v after two pages; want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}

// TestPagesByFormat checks that each page's latency is counted under the
// form it was served in, streamed pages included.
func TestPagesByFormat(t *testing.T) {
	in := start(t, fastArgs...)
	m := pagesThenMetrics(t, in.base, "/home?format=", "json", "json", "html", "ndjson")
	for f, want := range map[string]float64{"json": 2, "html": 1, "ndjson": 1} {
		if got := m.sum("vitrine_page_duration_seconds_count", "format", f); got != want {
			t.Errorf("vitrine_page_duration_seconds_count{format=%q} = %v; want %v", f, got, want)
		}
	}
}

// pagesThenMetrics GETs base+path+form for each form, reading each answer
// whole, then returns base's /metrics.
func pagesThenMetrics(t *testing.T, base, path string, forms ...string) metricSamples {
	t.Helper()
	for _, f := range forms {
		res, err := http.Get(base + path + f)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	m, err := scrapeMetrics(http.DefaultClient, base)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
