package web

import (
	"time"

	"vitrine/aggregator"
)

// timingView lays out the page's timing waterfall as SVG coordinates: one
// bar per tile on a shared time axis, then the page total, so that a person
// sees at a glance that the page took its slowest tile, not the sum.
type timingView struct {
	TotalMS, SlowestMS, SumMS float64
	Width, Height, AxisX      float64
	Bars                      []timingBar
	// TraceID is the page's trace, for a person to find it; "" untraced.
	TraceID string
}

type timingBar struct {
	Label, Status string
	ElapsedMS     float64
	X, Y, W, H    float64
	TextY, LabelX float64
}

const (
	waterfallWidth = 640.0
	labelWidth     = 140.0
	durWidth       = 130.0
	rowHeight      = 26.0
	barHeight      = 16.0
)

func newTimingView(results []aggregator.Result, total time.Duration) timingView {
	totalMS := millis(total)
	v := timingView{TotalMS: totalMS, Width: waterfallWidth}
	span := totalMS
	for _, r := range results {
		v.SumMS += millis(r.Elapsed)
		v.SlowestMS = max(v.SlowestMS, millis(r.Elapsed))
		span = max(span, millis(r.Start)+millis(r.Elapsed))
	}
	if span <= 0 {
		span = 1
	}
	scale := (waterfallWidth - labelWidth - durWidth) / span
	bar := func(i int, label, status string, start, elapsed float64) timingBar {
		y := float64(i)*rowHeight + (rowHeight-barHeight)/2
		w := max(elapsed*scale, 2) // a 0 ms tile still shows
		x := labelWidth + start*scale
		return timingBar{Label: label, Status: status, ElapsedMS: elapsed,
			X: round1(x), Y: y, W: round1(w), H: barHeight, TextY: y + barHeight - 3, LabelX: round1(x + w + 6)}
	}
	for i, r := range results {
		v.Bars = append(v.Bars, bar(i, r.Name, string(r.Status), millis(r.Start), millis(r.Elapsed)))
	}
	v.Bars = append(v.Bars, bar(len(results), "page total", "total", 0, totalMS))
	v.Height = float64(len(v.Bars)) * rowHeight
	v.AxisX = round1(labelWidth + totalMS*scale)
	return v
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
