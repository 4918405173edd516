// Package metrics provides Vitrine's Prometheus metrics: pages and tiles
// (as an aggregator.Observer), the resilience layers (a resilience.Recorder),
// the shared Redis tier (a rediscache.Recorder), and the Go runtime and
// process collectors, on a registry of its own rather than the global one.
// Latency histograms keep exemplars (the trace id of a sampled request),
// which only OpenMetrics carries.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/identity"
	"vitrine/resilience"
	"vitrine/tiles"
)

const namespace = "vitrine"

// latencyBuckets suit tiles answering in tens to hundreds of milliseconds,
// with a tail up to seconds.
var latencyBuckets = []float64{.001, .005, .01, .025, .05, .075, .1, .125, .15, .2, .25, .3, .4, .5, .75, 1, 2, 5}

// Metrics records Vitrine's metrics; its methods are safe for concurrent
// use. The series of the tiles New was told of are resolved once, so that
// the hot path skips the label hashing of WithLabelValues.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	tileDuration    *prometheus.HistogramVec
	tileResults     *prometheus.CounterVec
	pageDuration    *prometheus.HistogramVec
	pageBy          map[string]exemplarObserver // pageDuration's series by format, resolved once
	pagesInFlight   prometheus.Gauge
	pages           *prometheus.CounterVec
	pagesBy         [2]prometheus.Counter // pages by complete: false, true
	cacheHits       *prometheus.CounterVec
	cacheMisses     *prometheus.CounterVec
	staleServed     *prometheus.CounterVec
	fallbacks       *prometheus.CounterVec
	coalesced       *prometheus.CounterVec
	refreshes       *prometheus.CounterVec
	backendFetches  *prometheus.CounterVec
	backendDuration *prometheus.HistogramVec
	hedgesStarted   *prometheus.CounterVec
	hedgesWon       *prometheus.CounterVec
	breakerState    *prometheus.GaugeVec
	detached        *prometheus.GaugeVec
	detachedCapped  *prometheus.CounterVec
	abandoned       *prometheus.CounterVec
	requests        *prometheus.GaugeVec
	writesCut       *prometheus.CounterVec
	bulkheadFull    *prometheus.CounterVec
	revalidated     *prometheus.CounterVec
	forwardUncached *prometheus.CounterVec
	upstream        *prometheus.CounterVec
	upstreamSeen    sync.Map // upstreamKey -> prometheus.Counter, resolved once

	// known is written only by New, so reads need no lock.
	known  map[string]*tileSeries
	others sync.Map // tile name -> *tileSeries, for tiles New was not told of
	names  []string // the tiles New was told of

	redisTier *redisMetrics                          // the shared tier's (redis.go)
	identity  map[identity.Result]prometheus.Counter // by result (identity.go)
	cookies   *prometheus.CounterVec                 // Set-Cookie dropped, by tile (cookies.go)
	reloads   *prometheus.CounterVec                 // configuration reloads, by result (reload.go)
	purge     *purgeMetrics                          // purges and the entries they marked (purge.go)
	admission admission                              // pages' waits and sheds (admission.go)
}

// tileSeries are one tile's series without labels left to fill.
type tileSeries struct {
	duration    exemplarObserver
	cacheHits   prometheus.Counter
	cacheMisses prometheus.Counter
	staleServed prometheus.Counter
	fallbacks   prometheus.Counter
	coalesced   prometheus.Counter
	hedgesStart prometheus.Counter
	hedgesWon   prometheus.Counter
	backendDur  exemplarObserver
	detached    prometheus.Gauge
	results     map[tiles.Status]prometheus.Counter // tile_results_total by status
	fetches     map[string]prometheus.Counter       // backend_fetches_total by result
}

var (
	_ aggregator.Observer = (*Metrics)(nil)
	_ resilience.Recorder = (*Metrics)(nil)
)

// New returns Metrics on a fresh registry. names are the tiles to expect:
// their series exist, at zero, from the first scrape. Other tile names
// still work, on a slower path.
func New(names ...string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg, known: make(map[string]*tileSeries, len(names)),
		names: names, redisTier: newRedisMetrics(reg), identity: newIdentityMetrics(reg),
		cookies: newCookieMetrics(reg), reloads: newReloadMetrics(reg), purge: newPurgeMetrics(reg),
		admission: newAdmissionMetrics(reg)}
	m.register()
	m.pagesBy = [2]prometheus.Counter{m.pages.WithLabelValues("false"), m.pages.WithLabelValues("true")}
	for _, name := range names {
		m.known[name] = m.resolve(name) // creates tile_results_total's series too
		m.zero(name)
	}
	m.handler = promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:           m.reg, // counts its own errors in promhttp_metric_handler_errors_total
		CoalesceGather:     true,  // concurrent scrapes share one gathering
		DisableCompression: true,  // the web layer compresses
		EnableOpenMetrics:  true,  // for exemplars, when the scraper asks
	}))
	return m
}

// register creates and registers every family, and the Go collectors.
func (m *Metrics) register() {
	reg, tile := m.reg, []string{"tile"}
	m.tileDuration = histogram(reg, "tile_duration_seconds",
		"Time to answer a tile, as the aggregator saw it, whatever its status.", latencyBuckets, tile...)
	m.tileResults = counter(reg, "tile_results_total",
		"Tiles answered, by status (ok, timeout, error, stale, fallback).", "tile", "status")
	m.pageDuration = histogram(reg, "page_duration_seconds", "Time to assemble a whole page, by the form it "+
		"was served in (json, html, ndjson).", latencyBuckets, "format")
	m.pageBy = map[string]exemplarObserver{}
	for _, f := range []string{"json", "html", "ndjson"} {
		m.pageBy[f] = m.pageDuration.WithLabelValues(f).(exemplarObserver)
	}
	m.pagesInFlight = gauge(reg, "pages_in_flight", "Pages being assembled now.").WithLabelValues()
	m.pages = counter(reg, "pages_total", "Pages assembled, by whether every tile was ok.", "complete")
	m.cacheHits = counter(reg, "cache_hits_total", "Fetches answered with fresh content from the cache.", tile...)
	m.cacheMisses = counter(reg, "cache_misses_total",
		"Fetches that found nothing fresh in the cache and waited for the backend.", tile...)
	m.staleServed = counter(reg, "cache_stale_served_total",
		"Fetches answered with content past its TTL (while revalidating, or because the backend failed).", tile...)
	m.fallbacks = counter(reg, "fallbacks_served_total", "Fetches answered with the tile's static default.", tile...)
	m.coalesced = counter(reg, "coalesced_fetches_total",
		"Fetches answered by a backend fetch another request had started.", tile...)
	m.refreshes = counter(reg, "cache_refreshes_total",
		"Background refreshes of stale entries, by result (ok, error).", "tile", "result")
	m.backendFetches = counter(reg, "backend_fetches_total",
		"Attempts at a tile's backend, hedges included, by result (ok, error, timeout, cancelled).", "tile", "result")
	m.backendDuration = histogram(reg, "backend_duration_seconds",
		"Time of one attempt at a tile's backend, whatever its result.", latencyBuckets, tile...)
	m.hedgesStarted = counter(reg, "hedges_started_total", "Second attempts started because the first was slow.", tile...)
	m.hedgesWon = counter(reg, "hedges_won_total", "Hedged attempts that answered first.", tile...)
	m.breakerState = gauge(reg, "breaker_state",
		"State of the tile's circuit breaker: 0 closed, 1 half-open, 2 open.", tile...)
	m.detached = gauge(reg, "detached_fetches",
		"Backend fetches running detached from their callers (shared fetches, background refreshes).", tile...)
	m.detachedCapped = counter(reg, "detached_capped_total", "Fetches that could not run detached because the "+
		"tile's cap was reached: run under the caller's context, or a refresh skipped.", tile...)
	m.abandoned = counter(reg, "abandoned_fetches_total", "Shared fetches cancelled because their last waiter "+
		"left and nobody else would read the result (a personalised key, or no cache).", tile...)
	m.requests = gauge(reg, "http_requests_in_flight", "HTTP requests being served now, by route.", "route")
	m.writesCut = counter(reg, "http_writes_cut_total", "Responses cut by the server, by route: a write the client "+
		"left waiting past the write stall (it stopped reading), or one on a connection closed at the end of a "+
		"shutdown's drain. Clients that hang up are not counted.", "route")
	m.bulkheadFull = counter(reg, "bulkhead_refused_total", "Backend requests refused at once because the tile's "+
		"bulkhead was full (the tile answered from stale content or its fallback).", tile...)
	m.revalidated = counter(reg, "revalidated_total", "Cached entries renewed by a backend's 304 Not Modified.", tile...)
	m.forwardUncached = counter(reg, "forward_uncached_total", "Fetches not cached because the tile had cached "+
		"its most distinct forwarded values (forward: max-values).", tile...)
	m.upstream = counter(reg, "upstream_responses_total", "Answers of HTTP tile backends, by tile, backend host "+
		"(its label where /metrics is public) and result (the HTTP status, or what went wrong: timeout, refused, "+
		"reset, too_large, bad_json, ...).",
		"tile", "host", "result")
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// counter, gauge and histogram create a family of series and register it.
func counter(reg prometheus.Registerer, name, help string, labels ...string) *prometheus.CounterVec {
	return registered(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help},
		labels))
}

func gauge(reg prometheus.Registerer, name, help string, labels ...string) *prometheus.GaugeVec {
	return registered(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help},
		labels))
}

func histogram(reg prometheus.Registerer, name, help string, buckets []float64,
	labels ...string) *prometheus.HistogramVec {
	return registered(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: name, Help: help, Buckets: buckets,
	}, labels))
}

func registered[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	reg.MustRegister(c)
	return c
}

var tileStatuses = []tiles.Status{
	tiles.StatusOK, tiles.StatusTimeout, tiles.StatusError, tiles.StatusStale, tiles.StatusFallback,
}

// resolve creates name's label-free series.
func (m *Metrics) resolve(name string) *tileSeries {
	results := map[tiles.Status]prometheus.Counter{}
	for _, st := range tileStatuses {
		results[st] = m.tileResults.WithLabelValues(name, string(st))
	}
	fetches := map[string]prometheus.Counter{}
	for _, r := range []string{"ok", "error", "timeout", "cancelled"} {
		fetches[r] = m.backendFetches.WithLabelValues(name, r)
	}
	return &tileSeries{
		duration:    m.tileDuration.WithLabelValues(name).(exemplarObserver),
		cacheHits:   m.cacheHits.WithLabelValues(name),
		cacheMisses: m.cacheMisses.WithLabelValues(name),
		staleServed: m.staleServed.WithLabelValues(name),
		fallbacks:   m.fallbacks.WithLabelValues(name),
		coalesced:   m.coalesced.WithLabelValues(name),
		hedgesStart: m.hedgesStarted.WithLabelValues(name),
		hedgesWon:   m.hedgesWon.WithLabelValues(name),
		backendDur:  m.backendDuration.WithLabelValues(name).(exemplarObserver),
		detached:    m.detached.WithLabelValues(name),
		results:     results,
		fetches:     fetches,
	}
}

// zero creates name's series that resolve does not, at zero.
func (m *Metrics) zero(name string) {
	m.detachedCapped.WithLabelValues(name)
	m.abandoned.WithLabelValues(name)
	m.bulkheadFull.WithLabelValues(name)
	m.revalidated.WithLabelValues(name)
	m.refreshes.WithLabelValues(name, "ok")
	m.refreshes.WithLabelValues(name, "error")
}

// tile returns name's series.
func (m *Metrics) tile(name string) *tileSeries { return series(m.known, &m.others, name, m.resolve) }

// series returns name's series from known, or else from others, resolved
// on first use.
func series[S any](known map[string]S, others *sync.Map, name string, resolve func(string) S) S {
	if s, ok := known[name]; ok {
		return s
	}
	if s, ok := others.Load(name); ok {
		return s.(S)
	}
	s, _ := others.LoadOrStore(name, resolve(name))
	return s.(S)
}

// Handler serves the registry in the Prometheus text format, or in
// OpenMetrics when the request's Accept asks for it.
func (m *Metrics) Handler() http.Handler { return m.handler }

// RequestStarted counts an HTTP request to route in flight until the
// returned function is called.
func (m *Metrics) RequestStarted(route string) (done func()) {
	g := m.requests.WithLabelValues(route)
	g.Inc()
	return g.Dec
}

// WriteCut counts a response to route cut by the server (see
// web.Options.WriteCut).
func (m *Metrics) WriteCut(route string) { m.writesCut.WithLabelValues(route).Inc() }

// The methods below implement aggregator.Observer.

func (m *Metrics) PageStarted() { m.pagesInFlight.Inc() }

func (m *Metrics) PageDone(ctx context.Context, s aggregator.Summary) {
	m.pagesInFlight.Dec()
	o, ok := m.pageBy[s.Format]
	if !ok {
		o = m.pageDuration.WithLabelValues(s.Format).(exemplarObserver)
	}
	observe(ctx, o, s.Elapsed.Seconds())
	complete := 0
	if s.Complete {
		complete = 1
	}
	m.pagesBy[complete].Inc()
	m.admission.admitted(s)
}

func (m *Metrics) TileDone(ctx context.Context, r aggregator.Result) {
	s := m.tile(r.Name)
	observe(ctx, s.duration, r.Elapsed.Seconds())
	if c, ok := s.results[r.Status]; ok {
		c.Inc()
	} else {
		m.tileResults.WithLabelValues(r.Name, string(r.Status)).Inc()
	}
}

// observe records v in o, with the trace id of ctx's span as the exemplar
// when that span is sampled (a trace that exists).
func observe(ctx context.Context, o exemplarObserver, v float64) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() || !sc.IsValid() {
		o.Observe(v)
		return
	}
	o.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String()})
}

// exemplarObserver is a histogram's series: client_golang's histograms
// implement both, asserted once when the series is resolved.
type exemplarObserver interface {
	prometheus.Observer
	prometheus.ExemplarObserver
}

// The methods below implement resilience.Recorder.

func (m *Metrics) CacheHit(tile string)       { m.tile(tile).cacheHits.Inc() }
func (m *Metrics) CacheMiss(tile string)      { m.tile(tile).cacheMisses.Inc() }
func (m *Metrics) StaleServed(tile string)    { m.tile(tile).staleServed.Inc() }
func (m *Metrics) FallbackServed(tile string) { m.tile(tile).fallbacks.Inc() }
func (m *Metrics) Coalesced(tile string)      { m.tile(tile).coalesced.Inc() }
func (m *Metrics) Refreshed(tile string, err error) {
	m.refreshes.WithLabelValues(tile, result(err)).Inc()
}
func (m *Metrics) BackendFetch(ctx context.Context, tile string, elapsed time.Duration, err error) {
	s := m.tile(tile)
	observe(ctx, s.backendDur, elapsed.Seconds())
	s.fetches[result(err)].Inc()
}
func (m *Metrics) Detached(tile string, delta int) { m.tile(tile).detached.Add(float64(delta)) }
func (m *Metrics) DetachedCapped(tile string)      { m.detachedCapped.WithLabelValues(tile).Inc() }
func (m *Metrics) Abandoned(tile string)           { m.abandoned.WithLabelValues(tile).Inc() }
func (m *Metrics) HedgeStarted(tile string)        { m.tile(tile).hedgesStart.Inc() }
func (m *Metrics) HedgeWon(tile string)            { m.tile(tile).hedgesWon.Inc() }
func (m *Metrics) BulkheadFull(tile string)        { m.bulkheadFull.WithLabelValues(tile).Inc() }
func (m *Metrics) Revalidated(tile string)         { m.revalidated.WithLabelValues(tile).Inc() }
func (m *Metrics) ForwardUncached(tile string)     { m.forwardUncached.WithLabelValues(tile).Inc() }

// Upstream counts one answer of an HTTP backend (upstream.Options.Observe).
// The caller picks host: the backend's host only where /metrics is the
// operator port's, else the backend's label, as clients may see it.
func (m *Metrics) Upstream(tile, host, result string) {
	k := upstreamKey{tile, host, result}
	c, ok := m.upstreamSeen.Load(k)
	if !ok {
		c, _ = m.upstreamSeen.LoadOrStore(k, m.upstream.WithLabelValues(tile, host, result))
	}
	c.(prometheus.Counter).Inc()
}

type upstreamKey struct{ tile, host, result string }

func (m *Metrics) BreakerState(tile string, s resilience.BreakerState) {
	v := 0.0
	switch s {
	case resilience.BreakerHalfOpen:
		v = 1
	case resilience.BreakerOpen:
		v = 2
	}
	m.breakerState.WithLabelValues(tile).Set(v)
}

// result is the result label of an outcome: a small fixed vocabulary, never
// the error's text, which would make a series per message.
func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	default:
		return "error"
	}
}
