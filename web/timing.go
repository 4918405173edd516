package web

import (
	"strconv"
	"strings"

	"vitrine/aggregator"
)

// serverTiming formats the Server-Timing value for results and the total:
// "banners;dur=40.3, products;dur=80.2, total;dur=80.6". A tile that was not
// ok says why in its desc, which browsers show in their network panel.
func serverTiming(results []aggregator.Result, totalMS float64) string {
	var b strings.Builder
	for _, r := range results {
		b.WriteString(r.Name)
		if r.Status != aggregator.StatusOK {
			b.WriteString(`;desc="` + string(r.Status) + `"`)
		}
		b.WriteString(";dur=")
		b.WriteString(strconv.FormatFloat(r.ElapsedMS, 'f', -1, 64))
		b.WriteString(", ")
	}
	b.WriteString("total;dur=")
	b.WriteString(strconv.FormatFloat(totalMS, 'f', -1, 64))
	return b.String()
}
