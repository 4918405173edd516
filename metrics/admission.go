package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"vitrine/aggregator"
)

// admission are the series of pages that waited before they started, and
// of those shed for it (aggregator.Summary.Waited and Shed).
type admission struct {
	wait prometheus.Observer
	shed map[string]prometheus.Counter // by reason
}

// newAdmissionMetrics registers vitrine_admission_wait_seconds and
// vitrine_pages_shed_total, each reason at zero.
func newAdmissionMetrics(reg prometheus.Registerer) admission {
	a := admission{shed: map[string]prometheus.Counter{}}
	a.wait = histogram(reg, "admission_wait_seconds", "Time a page waited from its request's arrival (the "+
		"connection's accept, or the first byte read of the request) to its start.", latencyBuckets).WithLabelValues()
	shed := counter(reg, "pages_shed_total", "Pages whose tiles answered only from what they held (cached "+
		"content, else their fallback) without asking their backends, by reason: waited, the page waited past "+
		"half its deadline; expired, past all of it.", "reason")
	for _, r := range []string{aggregator.ShedWaited, aggregator.ShedExpired} {
		a.shed[r] = shed.WithLabelValues(r)
	}
	return a
}

// admitted records how long a page waited, and why it was shed if it was.
func (a admission) admitted(s aggregator.Summary) {
	a.wait.Observe(s.Waited.Seconds())
	if c, ok := a.shed[s.Shed]; ok {
		c.Inc()
	}
}
