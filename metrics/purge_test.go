package metrics

import (
	"testing"
	"time"
)

// TestPurged: purges and the entries they marked count by kind, both kinds
// exposed at zero from the start.
func TestPurged(t *testing.T) {
	m := New()
	if body := scrape(t, m.Handler()); value(body, `vitrine_purges_total{kind="hard"}`) != "0" ||
		value(body, `vitrine_purge_marked_total{kind="soft"}`) != "0" {
		t.Fatalf("before any purge, the series are not at zero:\n%s", body)
	}
	m.Purged(true, 3)
	m.Purged(true, 0)
	m.Purged(false, 2)
	body := scrape(t, m.Handler())
	for series, want := range map[string]string{
		`vitrine_purges_total{kind="soft"}`: "2", `vitrine_purge_marked_total{kind="soft"}`: "3",
		`vitrine_purges_total{kind="hard"}`: "1", `vitrine_purge_marked_total{kind="hard"}`: "2",
	} {
		if got := value(body, series); got != want {
			t.Errorf("%s: got %q; want %q", series, got, want)
		}
	}
}

// TestPurgeReceived: another replica's purge counts the entries it marked
// here, not a purge of this replica's, and how late it arrived.
func TestPurgeReceived(t *testing.T) {
	m := New()
	m.PurgeReceived(true, 4, 30*time.Millisecond)
	m.PurgeReceived(false, 1, -time.Millisecond) // the purging replica's clock ahead: 0
	body := scrape(t, m.Handler())
	for series, want := range map[string]string{
		`vitrine_purges_total{kind="soft"}`: "0", `vitrine_purge_marked_total{kind="soft"}`: "4",
		`vitrine_purge_marked_total{kind="hard"}`: "1", `vitrine_purge_propagation_seconds_count`: "2",
		`vitrine_purge_propagation_seconds_sum`: "0.03", `vitrine_purge_propagation_seconds_bucket{le="0.001"}`: "1",
	} {
		if got := value(body, series); got != want {
			t.Errorf("%s: got %q; want %q", series, got, want)
		}
	}
}
