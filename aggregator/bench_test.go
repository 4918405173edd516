package aggregator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// builtinFetchers returns the built-in tiles' simulated backends over the
// default catalogue, answering after latency(def) and never failing.
func builtinFetchers(b *testing.B, latency func(sim.Def) time.Duration) []tiles.Fetcher {
	b.Helper()
	c := catalogue.Default()
	var fs []tiles.Fetcher
	for _, d := range sim.Builtins() {
		s, err := sim.New(d, c, sim.Backend{Latency: latency(d)})
		if err != nil {
			b.Fatalf("sim.New(%s): %v", d.Name, err)
		}
		fs = append(fs, s)
	}
	return fs
}

// defaultLatency is each built-in tile's own latency (40/80/120ms).
func defaultLatency(d sim.Def) time.Duration { return d.Latency }

// sequential is the baseline the aggregator is measured against: the same
// fetchers, each under the same timeout, one after another. It returns how
// many answered.
func sequential(ctx context.Context, fs []tiles.Fetcher, timeout time.Duration, req tiles.Request) int {
	ok := 0
	for _, f := range fs {
		tctx, cancel := context.WithTimeout(ctx, timeout)
		if _, err := f.Fetch(tctx, req); err == nil {
			ok++
		}
		cancel()
	}
	return ok
}

// msPerOp is the benchmark's mean time per iteration in milliseconds; call
// it after the b.Loop loop.
func msPerOp(b *testing.B) float64 {
	return float64(b.Elapsed()) / float64(b.N) / float64(time.Millisecond)
}

func BenchmarkPage(b *testing.B) {
	fs := builtinFetchers(b, defaultLatency)
	a := mustNew(b, aggregator.Options{}, fs...)
	req := tiles.Request{User: "alice"}

	b.Run("fanout", func(b *testing.B) {
		for b.Loop() {
			if p := a.Page(b.Context(), req); !p.Complete {
				b.Fatalf("page incomplete: %+v", p.Results)
			}
		}
		b.ReportMetric(msPerOp(b), "ms/page")
	})
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			if got := sequential(b.Context(), fs, aggregator.DefaultTileTimeout, req); got != len(fs) {
				b.Fatalf("%d of %d tiles answered", got, len(fs))
			}
		}
		b.ReportMetric(msPerOp(b), "ms/page")
	})
}

// BenchmarkFanoutVsSequential fetches the built-in tiles both ways in each
// iteration and reports how many times slower the sequential page is.
func BenchmarkFanoutVsSequential(b *testing.B) {
	fs := builtinFetchers(b, defaultLatency)
	a := mustNew(b, aggregator.Options{}, fs...)
	req := tiles.Request{User: "alice"}
	var fan, seq time.Duration
	for b.Loop() {
		start := time.Now()
		if p := a.Page(b.Context(), req); !p.Complete {
			b.Fatalf("page incomplete: %+v", p.Results)
		}
		mid := time.Now()
		if got := sequential(b.Context(), fs, aggregator.DefaultTileTimeout, req); got != len(fs) {
			b.Fatalf("%d of %d tiles answered", got, len(fs))
		}
		fan += mid.Sub(start)
		seq += time.Since(mid)
	}
	n := float64(b.N)
	b.ReportMetric(float64(fan)/n/float64(time.Millisecond), "fanout-ms/page")
	b.ReportMetric(float64(seq)/n/float64(time.Millisecond), "sequential-ms/page")
	b.ReportMetric(float64(seq)/float64(fan), "seq/fanout")
}

// BenchmarkPageOverhead measures the aggregator itself: tiles that answer at
// once, so the time and allocations are those of the fan-out and merge.
func BenchmarkPageOverhead(b *testing.B) {
	fakes := func(n int) []tiles.Fetcher {
		fs := make([]tiles.Fetcher, n)
		for i := range fs {
			name := fmt.Sprintf("tile%d", i)
			fs[i] = tilestest.Serving(name, tiles.Fresh(dataOf(name)))
		}
		return fs
	}
	cases := []struct {
		name string
		fs   []tiles.Fetcher
	}{
		{"fakes=3", fakes(3)},
		{"fakes=30", fakes(30)},
		// Includes building the personalised tile's data for alice.
		{"builtins=3", builtinFetchers(b, func(sim.Def) time.Duration { return 0 })},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			a := mustNew(b, aggregator.Options{}, bc.fs...)
			req := tiles.Request{User: "alice"}
			b.ReportAllocs()
			for b.Loop() {
				if p := a.Page(b.Context(), req); !p.Complete {
					b.Fatalf("page incomplete: %+v", p.Results)
				}
			}
			b.ReportMetric(float64(len(bc.fs)), "tiles/page")
		})
	}
}
