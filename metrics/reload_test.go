package metrics

import (
	"testing"

	"vitrine/resilience"
)

// TestAddTiles: a tile added by a reload has its series at zero before its
// first fetch, as New's own tiles do.
func TestAddTiles(t *testing.T) {
	m := New("banners")
	m.AddTiles("notice")
	body := scrape(t, m.Handler())
	for _, series := range []string{
		`vitrine_tile_results_total{status="ok",tile="notice"}`,
		`vitrine_cache_hits_total{tile="notice"}`,
		`vitrine_bulkhead_refused_total{tile="notice"}`,
		`vitrine_revalidated_total{tile="notice"}`,
	} {
		if got := value(body, series); got != "0" {
			t.Errorf("%s = %q; want 0", series, got)
		}
	}
}

// TestConfigReloaded: every result is exposed at zero, then counted.
func TestConfigReloaded(t *testing.T) {
	m := New()
	for _, r := range ReloadResults {
		if got := value(scrape(t, m.Handler()), `vitrine_config_reloads_total{result="`+r+`"}`); got != "0" {
			t.Errorf("reloads %s before any = %q; want 0", r, got)
		}
	}
	m.ConfigReloaded("invalid")
	m.ConfigReloaded("invalid")
	if got := value(scrape(t, m.Handler()), `vitrine_config_reloads_total{result="invalid"}`); got != "2" {
		t.Errorf("reloads invalid = %q; want 2", got)
	}
}

// TestRemoveTiles: a removed tile's breaker state is no longer exposed;
// another tile's is.
func TestRemoveTiles(t *testing.T) {
	m := New("banners", "notice")
	m.BreakerState("banners", resilience.BreakerOpen)
	m.BreakerState("notice", resilience.BreakerOpen)
	m.RemoveTiles("notice")
	body := scrape(t, m.Handler())
	if got := value(body, `vitrine_breaker_state{tile="notice"}`); got != "" {
		t.Errorf("the removed tile's breaker state = %q; want no series", got)
	}
	if got := value(body, `vitrine_breaker_state{tile="banners"}`); got != "2" {
		t.Errorf("banners' breaker state = %q; want 2 (open)", got)
	}
}
