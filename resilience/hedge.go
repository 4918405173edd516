package resilience

import (
	"math"
	"slices"
	"sync"
	"time"
)

const (
	// windowSize is how many recent successful fetch latencies the adaptive
	// hedge delay is computed over: enough for a stable p95 (10 samples
	// above it), few enough to follow a backend that slows down.
	windowSize = 200
	// minSamples is how many latencies are needed before the p95 is
	// trusted; until then the hedge waits HedgeMax.
	minSamples = 20
	// recomputeEvery spreads the cost of sorting the window: the p95 is
	// recomputed once per this many new samples, not on every fetch.
	recomputeEvery = 10
	// creditUnit is one hedge in the budget's fixed-point units, so that
	// adding HedgeCap per fetch is exact (0.1 added ten times in floating
	// point is less than 1).
	creditUnit = 1_000_000
	// maxCreditHedges bounds the credit saved during calm periods, so a long
	// healthy run cannot pay for a burst that hedges every fetch. It must
	// still cover a wave of concurrent fetches: 256 pages starting together
	// earn 25.6 hedges, and a bound of 10 threw most of that away before the
	// wave's slow fetches could spend it (the load benchmark saw unhedged
	// 1 s tails). Over any run hedges stay below HedgeCap of fetches.
	maxCreditHedges = 100
)

// hedger decides when to hedge a tile's fetches and how many: it holds the
// sliding window of observed latencies and the hedge budget.
type hedger struct {
	fixed    time.Duration
	adaptive bool
	lo, hi   time.Duration
	perFetch int64 // credit earned per fetch: HedgeCap in creditUnits

	mu      sync.Mutex
	window  [windowSize]time.Duration // ring buffer of recent latencies
	next    int                       // where the next sample goes
	samples int                       // how many of window are filled
	fresh   int                       // samples since p95 was computed
	p95     time.Duration
	credit  int64 // budget left, in creditUnits
}

func newHedger(p Policy) *hedger {
	return &hedger{
		fixed:    p.HedgeDelay,
		adaptive: p.HedgeAdaptive,
		lo:       p.HedgeMin,
		hi:       p.HedgeMax,
		perFetch: int64(p.HedgeCap * creditUnit),
	}
}

// delay returns how long to wait before hedging the fetch that is starting,
// and credits the budget with that fetch's share.
func (h *hedger) delay() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.credit = min(h.credit+h.perFetch, maxCreditHedges*creditUnit)
	if !h.adaptive {
		return h.fixed
	}
	if h.samples < minSamples {
		return h.hi
	}
	if h.fresh >= recomputeEvery || h.p95 == 0 {
		h.p95 = percentile(h.window[:h.samples], 0.95)
		h.fresh = 0
	}
	return min(max(h.p95, h.lo), h.hi)
}

// allow spends one hedge from the budget if there is one. Each fetch earns
// HedgeCap of a hedge, so hedges never exceed HedgeCap of fetches.
func (h *hedger) allow() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.credit < creditUnit {
		return false
	}
	h.credit -= creditUnit
	return true
}

// observe adds the latency of a successful attempt to the window.
func (h *hedger) observe(d time.Duration) {
	if !h.adaptive {
		return
	}
	h.mu.Lock()
	h.window[h.next] = d
	h.next = (h.next + 1) % windowSize
	h.samples = min(h.samples+1, windowSize)
	h.fresh++
	h.mu.Unlock()
}

// percentile returns the q-quantile of ds (nearest rank), leaving ds as it
// was.
func percentile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
