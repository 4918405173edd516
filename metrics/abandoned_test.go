package metrics

import "testing"

// TestAbandonedFetchesCounted: the shared fetches the resilience layer
// cancels because their last waiter left are counted per tile, from zero.
func TestAbandonedFetchesCounted(t *testing.T) {
	m := New("recommendations")
	const series = `vitrine_abandoned_fetches_total{tile="recommendations"}`
	if got := value(scrape(t, m.Handler()), series); got != "0" {
		t.Errorf("%s before any event: got %q; want 0", series, got)
	}
	m.Abandoned("recommendations")
	m.Abandoned("recommendations")
	if got := value(scrape(t, m.Handler()), series); got != "2" {
		t.Errorf("%s: got %q; want 2", series, got)
	}
}
