package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// purgeMetrics are vitrine_purges_total and vitrine_purge_marked_total, by
// kind (soft, hard), both kinds at zero from the first scrape, and
// vitrine_purge_propagation_seconds.
type purgeMetrics struct {
	purges, marked [2]prometheus.Counter // by kind: hard, soft
	propagation    prometheus.Observer
}

func newPurgeMetrics(reg prometheus.Registerer) *purgeMetrics {
	purges := counter(reg, "purges_total", "Purges asked of this replica (POST /purge), by kind (soft: the entries "+
		"served stale while one fetch refreshes each; hard: dropped).", "kind")
	marked := counter(reg, "purge_marked_total", "Cached entries purges marked on this replica, "+
		"whichever replica they were asked of, by kind.", "kind")
	propagation := histogram(reg, "purge_propagation_seconds", "How long after it was asked for another "+
		"replica's purge reached this one (this replica's clock minus the purging one's).",
		[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 60})
	return &purgeMetrics{
		propagation: propagation.WithLabelValues(),
		purges:      [2]prometheus.Counter{purges.WithLabelValues("hard"), purges.WithLabelValues("soft")},
		marked:      [2]prometheus.Counter{marked.WithLabelValues("hard"), marked.WithLabelValues("soft")},
	}
}

// Purged counts one purge, soft or hard, that marked entries.
func (m *Metrics) Purged(soft bool, entries int) {
	kind := 0
	if soft {
		kind = 1
	}
	m.purge.purges[kind].Inc()
	m.purge.marked[kind].Add(float64(entries))
}

// PurgeReceived counts the entries another replica's purge, soft or hard,
// marked here, and how long after it was asked for it arrived (late).
func (m *Metrics) PurgeReceived(soft bool, entries int, late time.Duration) {
	kind := 0
	if soft {
		kind = 1
	}
	m.purge.marked[kind].Add(float64(entries))
	m.purge.propagation.Observe(max(late, 0).Seconds())
}
