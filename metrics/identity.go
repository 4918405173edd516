package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"vitrine/identity"
)

// newIdentityMetrics registers vitrine_identity_total, each result's series
// at zero from the first scrape. No label holds an id.
func newIdentityMetrics(reg prometheus.Registerer) map[identity.Result]prometheus.Counter {
	vec := counter(reg, "identity_total", "Requests by how the shopper's credential fared: valid, absent "+
		"(anonymous), invalid (malformed, forged, or an id that breaks the rules) or expired.", "result")
	series := map[identity.Result]prometheus.Counter{}
	for _, r := range identity.Results {
		series[r] = vec.WithLabelValues(string(r))
	}
	return series
}

// Identified counts a request's identity result (an identity.Observed observer).
func (m *Metrics) Identified(r identity.Result) {
	if c, ok := m.identity[r]; ok {
		c.Inc()
	}
}
