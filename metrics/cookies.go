package metrics

import "github.com/prometheus/client_golang/prometheus"

// newCookieMetrics registers vitrine_set_cookie_dropped_total.
func newCookieMetrics(reg prometheus.Registerer) *prometheus.CounterVec {
	return counter(reg, "set_cookie_dropped_total", "Set-Cookie lines from a backend kept from the browser, "+
		"by tile: the tile is neither primary nor allowed to set cookies (set-cookie: true).", "tile")
}

// CookiesDropped counts n Set-Cookie lines of tile kept from the browser
// (see web.Options.CookiesDropped).
func (m *Metrics) CookiesDropped(tile string, n int) { m.cookies.WithLabelValues(tile).Add(float64(n)) }
