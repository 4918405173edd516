package resilience

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"vitrine/tiles"
)

// DefaultHedgeCap is the largest share of fetches hedged when
// Policy.HedgeCap is 0.
const DefaultHedgeCap = 0.10

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
	// healthy run cannot pay for a burst that hedges every fetch, while
	// still covering a wave of concurrent fetches (256 pages starting
	// together earn 25.6 hedges). Hedges stay below HedgeCap of fetches.
	maxCreditHedges = 100
	// outcomeWindow is how many recent hedges the futility check looks
	// at, and futileWins the fewest of them that must have won for hedging
	// at the p95 to go on (one in ten).
	outcomeWindow = 20
	futileWins    = 2
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

	outcomes [outcomeWindow]bool // ring of recent hedges: true if it won
	nextOut  int
	hedges   int // how many of outcomes are filled
	wins     int // how many of them are true
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
	if h.samples < minSamples || h.futile() {
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

// observe adds an attempt's latency to the window: a successful attempt's,
// or the time a slow first attempt had run when a winning hedge cancelled
// it (its latency was at least that).
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

// settled records whether a hedge won (answered first) or lost.
func (h *hedger) settled(won bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hedges == outcomeWindow && h.outcomes[h.nextOut] {
		h.wins--
	}
	h.outcomes[h.nextOut] = won
	h.nextOut = (h.nextOut + 1) % outcomeWindow
	h.hedges = min(h.hedges+1, outcomeWindow)
	if won {
		h.wins++
	}
}

// futile reports whether hedging at the p95 has stopped paying: fewer than
// one in ten of the last 20 hedges won. That is what happens when fetches
// are slow because this process or the backend is saturated rather than
// because a few are unlucky: the second attempt queues behind the first
// and only adds load. The adaptive delay then falls back to HedgeMax, so
// that a fetch far slower than the rest is still hedged, and those hedges,
// if they win, turn hedging at the p95 back on. h.mu must be held.
func (h *hedger) futile() bool {
	return h.hedges == outcomeWindow && h.wins < futileWins
}

// percentile returns the q-quantile of ds (nearest rank), leaving ds as it
// was.
func percentile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// hedging is the hedge layer ("The Tail at Scale"; HedgeDelay or
// HedgeAdaptive set): a fetch still unanswered after the hedge delay gets a
// second attempt if the budget allows (HedgeCap of fetches). The first
// success wins; the other attempt is cancelled, and the layer waits for it
// to stop (promptly, as fetchers honour cancellation) so that no attempt
// outlives the fetch. It names each attempt in its context, and ends the
// attempt's span once it knows which won (attemptTrace).
type hedging struct {
	base
	h *hedger
}

// attemptResult is the outcome of one attempt at the backend.
type attemptResult struct {
	out     tiles.Outcome
	elapsed time.Duration
	err     error
	trace   *attemptTrace
}

// end ends the attempt's span; won says its answer was the one used.
func (r attemptResult) end(won bool) { r.trace.end(r.err, won) }

func (l *hedging) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	// The first attempt runs on the caller's goroutine and a timer starts
	// the hedge only if the delay passes: a fetch that answers in time, the
	// common case, costs no goroutine and no channel.
	first, cancelFirst := context.WithCancel(ctx)
	defer cancelFirst()
	h := &hedge{first: attemptTrace{kind: attemptFirst}, second: attemptTrace{kind: attemptHedge}}
	h.timer = time.AfterFunc(l.h.delay(), func() { h.launch(ctx, l, req, cancelFirst) })
	r1 := l.try(first, req, &h.first)
	second := h.stop()
	if r1.err == nil {
		r1.end(true)
		l.h.observe(r1.elapsed)
		if second != nil { // the first attempt won: stop the hedge, and wait for it
			h.cancel()
			(<-second).end(false)
			l.h.settled(false)
		}
		return r1.out, nil
	}
	if second == nil { // no hedge was launched, and none will be
		r1.end(false)
		return tiles.Outcome{}, l.failed(ctx, r1.err)
	}
	// The first attempt failed: on its own, or because the hedge won and
	// cancelled it. Either way the hedge's answer decides.
	r2 := <-second
	h.cancel()
	r1.end(false)
	r2.end(r2.err == nil)
	if r2.err != nil {
		return tiles.Outcome{}, l.failed(ctx, r1.err)
	}
	l.h.observe(r2.elapsed)
	if ctx.Err() == nil && errors.Is(r1.err, context.Canceled) {
		// The first attempt was cut short by the winner: count how long it
		// had run, or the window would see only the fast answers and its
		// p95 would be biased low.
		l.h.observe(r1.elapsed)
	}
	l.rec.HedgeWon(l.name)
	l.h.settled(true)
	return r2.out, nil
}

// try makes one attempt, named by a, through the rest of the chain.
func (l *hedging) try(ctx context.Context, req tiles.Request, a *attemptTrace) attemptResult {
	start := time.Now()
	out, err := l.next.Fetch(withAttempt(ctx, a), req)
	return attemptResult{out: out, elapsed: time.Since(start), err: err, trace: a}
}

// failed is the error of a fetch whose attempts failed with err: the
// caller's own end, if that came first.
func (l *hedging) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", l.name, ctx.Err())
	}
	return err
}

// hedge is the second attempt of one fetch, launched by a timer.
type hedge struct {
	timer         *time.Timer
	first, second attemptTrace
	mu            sync.Mutex
	finished      bool               // the first attempt has returned
	result        chan attemptResult // set once the hedge is launched
	cancel        context.CancelFunc // cancels the hedge
}

// launch starts the second attempt unless the first has returned or the
// budget is spent. A winning hedge cancels the first attempt.
func (h *hedge) launch(ctx context.Context, l *hedging, req tiles.Request, cancelFirst context.CancelFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finished || !l.h.allow() {
		return
	}
	l.rec.HedgeStarted(l.name)
	var second context.Context
	second, h.cancel = context.WithCancel(ctx)
	h.result = make(chan attemptResult, 1)
	go func() {
		r := l.try(second, req, &h.second)
		if r.err == nil {
			cancelFirst()
		}
		h.result <- r
	}()
}

// stop stops the timer and returns the hedge's result channel, nil if no
// hedge was launched (and none will be).
func (h *hedge) stop() chan attemptResult {
	h.timer.Stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.finished = true
	return h.result
}
