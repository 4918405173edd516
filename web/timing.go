package web

import (
	"strconv"
	"strings"
	"time"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// serverTiming formats the Server-Timing value for results and the total:
// "banners;dur=40.3, products;dur=80.2, total;dur=80.6". A tile that was not
// ok says why in its desc, which browsers show in their network panel.
func serverTiming(results []aggregator.Result, total time.Duration) string {
	var b strings.Builder
	for _, r := range results {
		b.WriteString(r.Name)
		if r.Status != tiles.StatusOK {
			b.WriteString(`;desc="` + string(r.Status) + `"`)
		}
		b.WriteString(";dur=")
		b.WriteString(strconv.FormatFloat(millis(r.Elapsed), 'f', -1, 64))
		b.WriteString(", ")
	}
	b.WriteString("total;dur=")
	b.WriteString(strconv.FormatFloat(millis(total), 'f', -1, 64))
	return b.String()
}
