package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"vitrine/rediscache"
)

var _ rediscache.Recorder = (*Metrics)(nil)

// TestRedisSeriesAbsentUntilUp: without a shared tier /metrics shows no
// vitrine_redis_* series; once the tier reports (Up at its start), every
// known tile's and operation's series exist, at zero.
func TestRedisSeriesAbsentUntilUp(t *testing.T) {
	m := New("banners", "products")
	if body := scrape(t, m.Handler()); strings.Contains(body, "vitrine_redis_") {
		t.Errorf("before any Up, /metrics has vitrine_redis_ series; want none:\n%s", grepLines(body, "vitrine_redis_"))
	}
	m.Up(true)
	body := scrape(t, m.Handler())
	for series, want := range map[string]string{
		`vitrine_redis_up`:                                          "1",
		`vitrine_redis_hits_total{tile="banners"}`:                  "0",
		`vitrine_redis_misses_total{tile="products"}`:               "0",
		`vitrine_redis_writes_total{tile="banners"}`:                "0",
		`vitrine_redis_leases_total{result="won",tile="banners"}`:   "0",
		`vitrine_redis_leases_total{result="lost",tile="banners"}`:  "0",
		`vitrine_redis_undecodable_total{tile="products"}`:          "0",
		`vitrine_redis_corrupt_total{tile="products"}`:              "0",
		`vitrine_redis_errors_total{op="claim"}`:                    "0",
		`vitrine_redis_call_seconds_count{op="store"}`:              "0",
		`vitrine_redis_call_seconds_bucket{op="claim",le="0.0005"}`: "0",
		`vitrine_redis_call_seconds_bucket{op="claim",le="0.1"}`:    "0",
	} {
		if got := value(body, series); got != want {
			t.Errorf("%s: got %q; want %q", series, got, want)
		}
	}
}

// TestRedisCountersMove: each Recorder call moves its series, for known
// tiles and others, and Up follows the tier's state.
func TestRedisCountersMove(t *testing.T) {
	m := New("banners")
	m.Up(true)
	m.Hit("banners")
	m.Hit("banners")
	m.Miss("banners")
	m.Write("banners")
	m.Lock("banners", true)
	m.Lock("banners", false)
	m.Lock("banners", false)
	m.Undecodable("banners")
	m.Corrupt("banners")
	m.Corrupt("banners")
	m.Hit("weather") // a tile New was not told of still counts
	m.Call(context.Background(), "claim", 300*time.Microsecond, nil)
	m.Call(context.Background(), "claim", 100*time.Millisecond, context.DeadlineExceeded)
	m.Call(context.Background(), "store", 2*time.Millisecond, errors.New("connection refused"))
	m.Call(context.Background(), "flush", time.Millisecond, errors.New("boom")) // an operation not listed still counts
	m.Up(false)

	body := scrape(t, m.Handler())
	for series, want := range map[string]string{
		`vitrine_redis_up`:                                          "0",
		`vitrine_redis_hits_total{tile="banners"}`:                  "2",
		`vitrine_redis_hits_total{tile="weather"}`:                  "1",
		`vitrine_redis_misses_total{tile="banners"}`:                "1",
		`vitrine_redis_writes_total{tile="banners"}`:                "1",
		`vitrine_redis_leases_total{result="won",tile="banners"}`:   "1",
		`vitrine_redis_leases_total{result="lost",tile="banners"}`:  "2",
		`vitrine_redis_undecodable_total{tile="banners"}`:           "1",
		`vitrine_redis_corrupt_total{tile="banners"}`:               "2",
		`vitrine_redis_errors_total{op="claim"}`:                    "1",
		`vitrine_redis_errors_total{op="store"}`:                    "1",
		`vitrine_redis_errors_total{op="flush"}`:                    "1",
		`vitrine_redis_errors_total{op="drop"}`:                     "0",
		`vitrine_redis_call_seconds_count{op="claim"}`:              "2",
		`vitrine_redis_call_seconds_bucket{op="claim",le="0.0005"}`: "1",
		`vitrine_redis_call_seconds_bucket{op="claim",le="0.05"}`:   "1",
		`vitrine_redis_call_seconds_bucket{op="claim",le="0.1"}`:    "2",
		`vitrine_redis_call_seconds_count{op="store"}`:              "1",
		`vitrine_redis_call_seconds_count{op="flush"}`:              "1",
	} {
		if got := value(body, series); got != want {
			t.Errorf("%s: got %q; want %q", series, got, want)
		}
	}

	m.Up(true)
	if got := value(scrape(t, m.Handler()), `vitrine_redis_up`); got != "1" {
		t.Errorf("after Up(true), vitrine_redis_up: got %q; want 1", got)
	}
}

// grepLines returns body's lines that hold s.
func grepLines(body, s string) string {
	var b strings.Builder
	for line := range strings.Lines(body) {
		if strings.Contains(line, s) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// BenchmarkRedisHit is what a shared-tier hit costs the metrics.
func BenchmarkRedisHit(b *testing.B) {
	m := New("banners")
	m.Up(true)
	b.ReportAllocs()
	for b.Loop() {
		m.Hit("banners")
	}
}

// BenchmarkRedisCall is what a round trip's timing costs the metrics.
func BenchmarkRedisCall(b *testing.B) {
	m := New("banners")
	m.Up(true)
	b.ReportAllocs()
	for b.Loop() {
		m.Call(context.Background(), "claim", time.Millisecond, nil)
	}
}

// TestRedisPersonalBytes: the gauge reads its function at each scrape.
func TestRedisPersonalBytes(t *testing.T) {
	m := New("recommendations")
	n := int64(1234)
	m.RedisPersonalBytes(func() int64 { return n })
	if body := scrape(t, m.Handler()); !strings.Contains(body, "\nvitrine_redis_personal_bytes 1234\n") {
		t.Errorf("/metrics lacks vitrine_redis_personal_bytes 1234:\n%s", grepLines(body, "personal"))
	}
	n = 0
	if body := scrape(t, m.Handler()); !strings.Contains(body, "\nvitrine_redis_personal_bytes 0\n") {
		t.Errorf("/metrics lacks vitrine_redis_personal_bytes 0:\n%s", grepLines(body, "personal"))
	}
}
