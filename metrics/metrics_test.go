package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/tiles"
)

// scrape GETs /metrics from h and returns the body.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d; want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type: got %q; want the text exposition format", ct)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// value returns the value of the series written exactly as series (name
// and labels), or "" if it is absent.
func value(body, series string) string {
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

func TestSeriesExposed(t *testing.T) {
	m := New("banners", "recommendations")
	body := scrape(t, m.Handler())
	for _, name := range []string{
		// Known tiles' series exist at zero before any event.
		`vitrine_tile_results_total{status="ok",tile="banners"}`,
		`vitrine_tile_results_total{status="stale",tile="recommendations"}`,
		`vitrine_tile_duration_seconds_count{tile="banners"}`,
		`vitrine_cache_hits_total{tile="banners"}`,
		`vitrine_cache_misses_total{tile="banners"}`,
		`vitrine_cache_stale_served_total{tile="banners"}`,
		`vitrine_fallbacks_served_total{tile="recommendations"}`,
		`vitrine_coalesced_fetches_total{tile="banners"}`,
		`vitrine_hedges_started_total{tile="recommendations"}`,
		`vitrine_hedges_won_total{tile="recommendations"}`,
		`vitrine_backend_duration_seconds_count{tile="banners"}`,
		`vitrine_detached_fetches{tile="banners"}`,
		`vitrine_detached_capped_total{tile="recommendations"}`,
		`vitrine_pages_in_flight`,
		`vitrine_page_duration_seconds_count{format="json"}`, `vitrine_page_duration_seconds_count{format="html"}`,
		`vitrine_page_duration_seconds_count{format="ndjson"}`,
		`vitrine_pages_total{complete="true"}`,
	} {
		if got := value(body, name); got != "0" {
			t.Errorf("%s: got %q; want 0", name, got)
		}
	}
	for _, prefix := range []string{"go_goroutines ", "go_memstats_alloc_bytes ", "process_resident_memory_bytes "} {
		if !strings.Contains(body, "\n"+prefix) {
			t.Errorf("runtime series %q missing", strings.TrimSpace(prefix))
		}
	}
}

func TestCountersMove(t *testing.T) {
	m := New("banners")
	m.PageStarted()
	m.PageStarted()
	m.PageDone(context.Background(), aggregator.Summary{Elapsed: 120 * time.Millisecond, Complete: true, Format: "json"})
	m.TileDone(context.Background(), aggregator.Result{Name: "banners", Outcome: tiles.Outcome{Status: tiles.StatusOK}, Elapsed: 40 * time.Millisecond})
	m.TileDone(context.Background(), aggregator.Result{Name: "banners", Outcome: tiles.Outcome{Status: tiles.StatusStale}, Elapsed: 2 * time.Millisecond})
	m.CacheHit("banners")
	m.CacheHit("banners")
	m.CacheMiss("banners")
	m.StaleServed("banners")
	m.FallbackServed("banners")
	m.Coalesced("banners")
	m.Refreshed("banners", nil)
	m.Refreshed("banners", errors.New("down"))
	m.BackendFetch(context.Background(), "banners", 40*time.Millisecond, nil)
	m.BackendFetch(context.Background(), "banners", 10*time.Millisecond, context.Canceled)
	m.BackendFetch(context.Background(), "banners", 2*time.Second, context.DeadlineExceeded)
	m.HedgeStarted("banners")
	m.HedgeWon("banners")
	m.Detached("banners", 1)
	m.Detached("banners", 1)
	m.Detached("banners", -1)
	m.DetachedCapped("banners")
	m.DetachedCapped("banners")
	m.BreakerState("banners", resilience.BreakerOpen)
	m.CacheHit("unknown") // a tile New was not told of still counts

	body := scrape(t, m.Handler())
	for series, want := range map[string]string{
		`vitrine_pages_in_flight`:                                          "1",
		`vitrine_pages_total{complete="true"}`:                             "1",
		`vitrine_page_duration_seconds_sum{format="json"}`:                 "0.12",
		`vitrine_tile_results_total{status="ok",tile="banners"}`:           "1",
		`vitrine_tile_results_total{status="stale",tile="banners"}`:        "1",
		`vitrine_tile_duration_seconds_count{tile="banners"}`:              "2",
		`vitrine_tile_duration_seconds_sum{tile="banners"}`:                "0.042",
		`vitrine_cache_hits_total{tile="banners"}`:                         "2",
		`vitrine_cache_misses_total{tile="banners"}`:                       "1",
		`vitrine_cache_stale_served_total{tile="banners"}`:                 "1",
		`vitrine_fallbacks_served_total{tile="banners"}`:                   "1",
		`vitrine_coalesced_fetches_total{tile="banners"}`:                  "1",
		`vitrine_cache_refreshes_total{result="ok",tile="banners"}`:        "1",
		`vitrine_cache_refreshes_total{result="error",tile="banners"}`:     "1",
		`vitrine_backend_fetches_total{result="ok",tile="banners"}`:        "1",
		`vitrine_backend_fetches_total{result="cancelled",tile="banners"}`: "1",
		`vitrine_backend_fetches_total{result="timeout",tile="banners"}`:   "1",
		`vitrine_backend_duration_seconds_count{tile="banners"}`:           "3",
		`vitrine_hedges_started_total{tile="banners"}`:                     "1",
		`vitrine_hedges_won_total{tile="banners"}`:                         "1",
		`vitrine_detached_fetches{tile="banners"}`:                         "1",
		`vitrine_detached_capped_total{tile="banners"}`:                    "2",
		`vitrine_breaker_state{tile="banners"}`:                            "2",
		`vitrine_cache_hits_total{tile="unknown"}`:                         "1",
	} {
		if got := value(body, series); got != want {
			t.Errorf("%s: got %q; want %q", series, got, want)
		}
	}

	m.BreakerState("banners", resilience.BreakerHalfOpen)
	m.Detached("banners", -1)
	m.PageDone(context.Background(), aggregator.Summary{Elapsed: 600 * time.Millisecond, Format: "json"})
	body = scrape(t, m.Handler())
	for series, want := range map[string]string{
		`vitrine_breaker_state{tile="banners"}`:            "1",
		`vitrine_detached_fetches{tile="banners"}`:         "0",
		`vitrine_pages_in_flight`:                          "0",
		`vitrine_pages_total{complete="false"}`:            "1",
		`vitrine_page_duration_seconds_sum{format="json"}`: "0.72",
	} {
		if got := value(body, series); got != want {
			t.Errorf("after more events, %s: got %q; want %q", series, got, want)
		}
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New("banners"), New("banners") // would panic on a shared registry
	a.CacheHit("banners")
	if got := value(scrape(t, b.Handler()), `vitrine_cache_hits_total{tile="banners"}`); got != "0" {
		t.Errorf("b counted a's hit: got %q; want 0", got)
	}
}

// TestRequestsInFlight counts requests by route while they are served.
func TestRequestsInFlight(t *testing.T) {
	m := New()
	homeDone := m.RequestStarted("/home")
	m.RequestStarted("/home")
	tileDone := m.RequestStarted("/tiles/:name")

	steps := []struct {
		name string
		do   func()
		want map[string]string
	}{
		{"three started", func() {}, map[string]string{
			`vitrine_http_requests_in_flight{route="/home"}`:        "2",
			`vitrine_http_requests_in_flight{route="/tiles/:name"}`: "1",
		}},
		{"one of each done", func() { homeDone(); tileDone() }, map[string]string{
			`vitrine_http_requests_in_flight{route="/home"}`:        "1",
			`vitrine_http_requests_in_flight{route="/tiles/:name"}`: "0",
		}},
	}
	for _, step := range steps {
		step.do()
		body := scrape(t, m.Handler())
		for series, want := range step.want {
			if got := value(body, series); got != want {
				t.Errorf("%s: %s: got %q; want %q", step.name, series, got, want)
			}
		}
	}
}

// TestWritesCut counts the responses the web layer cut, by route.
func TestWritesCut(t *testing.T) {
	m := New()
	m.WriteCut("/home")
	m.WriteCut("/home")
	m.WriteCut("/test")
	body := scrape(t, m.Handler())
	for series, want := range map[string]string{
		`vitrine_http_writes_cut_total{route="/home"}`: "2",
		`vitrine_http_writes_cut_total{route="/test"}`: "1",
	} {
		if got := value(body, series); got != want {
			t.Errorf("%s: got %q; want %q", series, got, want)
		}
	}
}

// TestWiredThroughAggregator runs pages through the aggregator with a
// resilience-wrapped tile, as main.go wires them, and checks the figures.
func TestWiredThroughAggregator(t *testing.T) {
	m := New("banners")
	tile := resilience.Wrap(simulatedBanners(t), resilience.Policy{TTL: time.Hour}, resilience.Options{Recorder: m})
	defer tile.Close()
	agg, err := aggregator.New([]tiles.Fetcher{tile}, aggregator.Options{Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if p := agg.Page(t.Context(), tiles.Request{}); !p.Complete {
			t.Fatalf("page incomplete: %+v", p.Results)
		}
	}
	body := scrape(t, m.Handler())
	for series, want := range map[string]string{
		`vitrine_pages_total{complete="true"}`:                      "3",
		`vitrine_tile_results_total{status="ok",tile="banners"}`:    "3",
		`vitrine_cache_misses_total{tile="banners"}`:                "1",
		`vitrine_cache_hits_total{tile="banners"}`:                  "2",
		`vitrine_backend_fetches_total{result="ok",tile="banners"}`: "1",
		`vitrine_pages_in_flight`:                                   "0",
		// The miss's shared fetch ran detached and gave its slot back
		// before answering.
		`vitrine_detached_fetches{tile="banners"}`:      "0",
		`vitrine_detached_capped_total{tile="banners"}`: "0",
	} {
		if got := value(body, series); got != want {
			t.Errorf("%s: got %q; want %q", series, got, want)
		}
	}
}

// simulatedBanners is the built-in banners tile on the shipped catalogue,
// answering at once.
func simulatedBanners(tb testing.TB) *sim.Simulated {
	tb.Helper()
	def := sim.Builtins()[0]
	if def.Name != "banners" {
		tb.Fatalf("first built-in tile is %q; want banners", def.Name)
	}
	s, err := sim.New(def, catalogue.Default(), sim.Backend{})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestResultLabel(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{errors.New("boom"), "error"},
		{context.DeadlineExceeded, "timeout"},
		{context.Canceled, "cancelled"},
	} {
		if got := result(tt.err); got != tt.want {
			t.Errorf("result(%v): got %q; want %q", tt.err, got, tt.want)
		}
	}
}

// BenchmarkRecorderHit is what a cache hit costs the metrics.
func BenchmarkRecorderHit(b *testing.B) {
	m := New("banners")
	b.ReportAllocs()
	for b.Loop() {
		m.CacheHit("banners")
	}
}

// BenchmarkObserveTile is what one tile of a page costs the metrics.
func BenchmarkObserveTile(b *testing.B) {
	m := New("banners")
	r := aggregator.Result{Name: "banners", Outcome: tiles.Outcome{Status: tiles.StatusOK}, Elapsed: 40 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		m.TileDone(context.Background(), r)
	}
}

// BenchmarkCachedFetchWithMetrics is the resilience hit path with these
// metrics recording it, as main.go wires them.
func BenchmarkCachedFetchWithMetrics(b *testing.B) {
	m := New("banners")
	tile := resilience.Wrap(simulatedBanners(b), resilience.Policy{TTL: time.Hour}, resilience.Options{Recorder: m})
	defer tile.Close()
	ctx, req := context.Background(), tiles.Request{}
	if _, err := tile.Fetch(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tile.Fetch(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
