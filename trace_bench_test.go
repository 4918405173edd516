package main

import (
	"net/http"
	"testing"

	"vitrine/tracing/tracingtest"
)

// BenchmarkTracing measures what tracing costs on the shared bench's work
// (its project-http contender: GET /home, every tile over HTTP from
// `vitrine backends` at the default latencies), through runLoad (256
// closed-loop clients, see BenchmarkLoad), with the cache on (the default)
// and off, and tracing off (the default), on at the default sampling (10 %)
// and on at 100 %, exporting over OTLP/HTTP to a receiver in the test
// process that decodes and counts the spans:
//
//	go test -run XXX -bench Tracing -benchtime 4000x -count 3 .
//
// spans/page is the spans Vitrine exported per page over the server's
// life (warm-up included); the backends are not traced.
func BenchmarkTracing(b *testing.B) {
	for _, sc := range []struct {
		name   string
		sample string // "" for tracing off, "default" for no -trace-sample
		args   []string
	}{
		{name: "cache-on/off"},
		{name: "cache-on/default", sample: "default"},
		{name: "cache-on/100pct", sample: "1"},
		{name: "cache-off/off", args: []string{"-cache=false"}},
		{name: "cache-off/default", sample: "default", args: []string{"-cache=false"}},
		{name: "cache-off/100pct", sample: "1", args: []string{"-cache=false"}},
	} {
		b.Run(sc.name, func(b *testing.B) {
			recv := tracingtest.NewReceiver(b, false)
			b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
			args := sc.args
			if sc.sample != "" {
				args = append(args, "-trace", "otlp")
			}
			if sc.sample != "" && sc.sample != "default" {
				args = append(args, "-trace-sample", sc.sample)
			}
			res, m := runLoad(b, loadScenario{name: sc.name, args: args, http: true}, max(b.N, 2*loadWorkers))
			ls := res.latencies()
			b.ReportMetric(float64(len(ls))/res.elapsed.Seconds(), "pages/s")
			b.ReportMetric(float64(res.elapsed.Nanoseconds())/float64(max(len(ls), 1)), "ns/op")
			b.ReportMetric(millis(quantile(ls, 0.50)), "p50-ms")
			b.ReportMetric(millis(quantile(ls, 0.99)), "p99-ms")
			b.ReportMetric(float64(recv.Count())/max(m.sum("vitrine_pages_total"), 1), "spans/page")
			if bad := res.count(func(p pageRecord) bool { return p.code != http.StatusOK }); bad > 0 {
				b.Errorf("%d pages not 200; want none", bad)
			}
		})
	}
}
