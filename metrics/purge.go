package metrics

import "github.com/prometheus/client_golang/prometheus"

// purgeMetrics are vitrine_purges_total and vitrine_purge_marked_total, by
// kind (soft, hard), both kinds at zero from the first scrape.
type purgeMetrics struct {
	purges, marked [2]prometheus.Counter // by kind: hard, soft
}

func newPurgeMetrics(reg prometheus.Registerer) *purgeMetrics {
	purges := counter(reg, "purges_total", "Purges this replica carried out, by kind (soft: the entries "+
		"served stale while one fetch refreshes each; hard: dropped).", "kind")
	marked := counter(reg, "purge_marked_total", "Cached entries purges marked on this replica, by kind.", "kind")
	return &purgeMetrics{
		purges: [2]prometheus.Counter{purges.WithLabelValues("hard"), purges.WithLabelValues("soft")},
		marked: [2]prometheus.Counter{marked.WithLabelValues("hard"), marked.WithLabelValues("soft")},
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
