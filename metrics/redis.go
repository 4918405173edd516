package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// redisCallBuckets suit Redis round trips, up to the default timeout.
var redisCallBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25}

// redisOps are the shared tier's round trips (rediscache.Recorder.Call).
var redisOps = []string{"claim", "store", "drop", "release"}

// redisMetrics are the shared tier's families. They hold no series until
// the tier first reports (Up at its start): without -redis, /metrics shows
// no vitrine_redis_* at all, rather than an up of 0 that reads as down.
type redisMetrics struct {
	once    sync.Once
	hits    *prometheus.CounterVec
	misses  *prometheus.CounterVec
	writes  *prometheus.CounterVec
	leases  *prometheus.CounterVec
	errors  *prometheus.CounterVec
	undec   *prometheus.CounterVec
	corrupt *prometheus.CounterVec
	calls   *prometheus.HistogramVec
	up      *prometheus.GaugeVec // no labels: a Vec so that it is absent until set
	upValue prometheus.Gauge

	// Resolved by start, then only read.
	known  map[string]*redisTileSeries
	ops    map[string]redisOpSeries
	others sync.Map // tile name -> *redisTileSeries, for tiles New was not told of
}

type redisTileSeries struct {
	hits, misses, writes, won, lost, undecodable, corrupt prometheus.Counter
}

type redisOpSeries struct {
	duration exemplarObserver
	errors   prometheus.Counter
}

// newRedisMetrics creates the shared tier's families and registers them.
func newRedisMetrics(reg prometheus.Registerer) *redisMetrics {
	tile := []string{"tile"}
	return &redisMetrics{
		hits: counter(reg, "redis_hits_total",
			"Shared-tier lookups (after a memory miss) that found an entry to serve.", tile...),
		misses: counter(reg, "redis_misses_total",
			"Shared-tier lookups that found no entry, or one too old to serve.", tile...),
		writes: counter(reg, "redis_writes_total", "Entries written to the shared tier.", tile...),
		leases: counter(reg, "redis_leases_total", "Refresh leases asked for on a shared-tier miss, by result: "+
			"won (this replica fetches) or lost (another one does).", "tile", "result"),
		errors: counter(reg, "redis_errors_total", "Shared-tier round trips that failed (timeout, refused, ...), "+
			"by operation; the replica carried on without the tier.", "op"),
		undec: counter(reg, "redis_undecodable_total",
			"Shared-tier entries that did not decode, or not as an entry Vitrine stores, served as misses.", tile...),
		corrupt: counter(reg, "redis_corrupt_total", "Shared-tier values no Vitrine can have written, healed: "+
			"entries deleted (the undecodable ones) and leases without an expiry taken over.", tile...),
		calls: histogram(reg, "redis_call_seconds",
			"Time of one shared-tier round trip, whatever its result, by operation.", redisCallBuckets, "op"),
		up: gauge(reg, "redis_up",
			"1 while the shared tier answers, 0 while it is down; absent without -redis."),
	}
}

// start creates, at zero, the series of every known tile and operation,
// and resolves them so that the calls below skip label hashing.
func (r *redisMetrics) start(names []string) {
	r.known = make(map[string]*redisTileSeries, len(names))
	for _, name := range names {
		r.known[name] = r.resolve(name)
	}
	r.ops = make(map[string]redisOpSeries, len(redisOps))
	for _, op := range redisOps {
		r.ops[op] = redisOpSeries{r.calls.WithLabelValues(op).(exemplarObserver), r.errors.WithLabelValues(op)}
	}
	r.upValue = r.up.WithLabelValues()
}

func (r *redisMetrics) resolve(name string) *redisTileSeries {
	return &redisTileSeries{
		hits:        r.hits.WithLabelValues(name),
		misses:      r.misses.WithLabelValues(name),
		writes:      r.writes.WithLabelValues(name),
		won:         r.leases.WithLabelValues(name, "won"),
		lost:        r.leases.WithLabelValues(name, "lost"),
		undecodable: r.undec.WithLabelValues(name),
		corrupt:     r.corrupt.WithLabelValues(name),
	}
}

// redis returns the shared tier's metrics, started.
func (m *Metrics) redis() *redisMetrics {
	m.redisTier.once.Do(func() { m.redisTier.start(m.names) })
	return m.redisTier
}

// redisTile returns tile's shared-tier series.
func (m *Metrics) redisTile(tile string) *redisTileSeries {
	r := m.redis()
	return series(r.known, &r.others, tile, r.resolve)
}

// The methods below implement rediscache.Recorder.

func (m *Metrics) Hit(tile string)         { m.redisTile(tile).hits.Inc() }
func (m *Metrics) Miss(tile string)        { m.redisTile(tile).misses.Inc() }
func (m *Metrics) Write(tile string)       { m.redisTile(tile).writes.Inc() }
func (m *Metrics) Undecodable(tile string) { m.redisTile(tile).undecodable.Inc() }
func (m *Metrics) Corrupt(tile string)     { m.redisTile(tile).corrupt.Inc() }

func (m *Metrics) Lock(tile string, won bool) {
	s := m.redisTile(tile)
	if won {
		s.won.Inc()
	} else {
		s.lost.Inc()
	}
}

func (m *Metrics) Call(ctx context.Context, op string, d time.Duration, err error) {
	r := m.redis()
	s, ok := r.ops[op]
	if !ok {
		s = redisOpSeries{r.calls.WithLabelValues(op).(exemplarObserver), r.errors.WithLabelValues(op)}
	}
	observe(ctx, s.duration, d.Seconds())
	if err != nil {
		s.errors.Inc()
	}
}

func (m *Metrics) Up(up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.redis().upValue.Set(v)
}

// RedisPersonalBytes reports bytes() at each scrape as
// vitrine_redis_personal_bytes: about what the personalised entries this
// replica wrote to the shared tier hold there until they expire.
func (m *Metrics) RedisPersonalBytes(bytes func() int64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace,
		Name: "redis_personal_bytes", Help: "About how many bytes the personalised entries this replica wrote " +
			"to the shared tier hold there until they expire (a rewrite counts twice until the first copy " +
			"would have expired)."},
		func() float64 { return float64(bytes()) }))
}
