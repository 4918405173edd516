package metrics

import "github.com/prometheus/client_golang/prometheus"

// ReloadResults are the results of vitrine_config_reloads_total: ok (in
// effect), invalid (the file or flags do not validate) and refused (a
// setting only a restart applies changed, or there is no -config). Nothing
// changes unless ok.
var ReloadResults = []string{"ok", "invalid", "refused"}

// newReloadMetrics registers vitrine_config_reloads_total, each result at zero.
func newReloadMetrics(reg prometheus.Registerer) *prometheus.CounterVec {
	c := counter(reg, "config_reloads_total", "Reloads of the configuration (SIGHUP, POST /reload on the admin "+
		"port), by result: ok; invalid, the file or flags do not validate; refused, a setting only a restart "+
		"applies changed, or there is no -config. Nothing changes unless ok.", "result")
	for _, r := range ReloadResults {
		c.WithLabelValues(r)
	}
	return c
}

// ConfigReloaded counts a reload with its result, one of ReloadResults.
func (m *Metrics) ConfigReloaded(result string) { m.reloads.WithLabelValues(result).Inc() }

// AddTiles expects the tiles names as New does its own, for a reload that
// adds them: their series exist, at zero, from the next scrape.
func (m *Metrics) AddTiles(names ...string) {
	for _, name := range names {
		m.tile(name)
		m.zero(name)
	}
}

// RemoveTiles drops the state series of tiles a reload removed: their
// breaker's state would otherwise show its last value (open, say) for as
// long as the process runs. Their counters stay, as counters do.
func (m *Metrics) RemoveTiles(names ...string) {
	for _, name := range names {
		m.breakerState.DeleteLabelValues(name)
	}
}
