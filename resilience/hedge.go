package resilience

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// DefaultHedgeCap is the default of Policy.HedgeCap.
const DefaultHedgeCap = 0.10

const (
	windowSize      = 200       // latencies the adaptive delay's p95 is taken over
	minSamples      = 20        // latencies needed before the p95 is trusted (HedgeMax until then)
	recomputeEvery  = 10        // new samples between two sorts of the window
	creditUnit      = 1_000_000 // one hedge in the budget's fixed-point units: adding HedgeCap is exact
	maxCreditHedges = 100       // the credit saved in calm periods cannot pay for a burst of hedges
	outcomeWindow   = 20        // recent hedges the futility check looks at
	futileWins      = 2         // the fewest of them that must have won for hedging at the p95
)

// hedging is the hedge layer ("The Tail at Scale"): a fetch unanswered
// after the hedge delay gets a second attempt, if the budget allows
// (HedgeCap of fetches). The first success wins; the other attempt is
// cancelled and waited for, so that no attempt outlives the fetch.
type hedging struct {
	base
	h *hedger
}

// hedger decides when to hedge a tile's fetches, and how many.
type hedger struct {
	fixed, lo, hi        time.Duration
	adaptive             bool
	perFetch             int64                     // credit earned per fetch: HedgeCap in creditUnits
	mu                   sync.Mutex                // guards what follows
	window               [windowSize]time.Duration // a ring of recent latencies
	next, samples, fresh int                       // next slot, slots filled, samples since p95
	p95                  time.Duration
	credit               int64               // budget left, in creditUnits
	outcomes             [outcomeWindow]bool // a ring of recent hedges: true if it won
	nextOut, hedges      int                 // next slot, slots filled
	wins                 int                 // trues in outcomes
}

func newHedger(p Policy) *hedger {
	return &hedger{fixed: p.HedgeDelay, adaptive: p.HedgeAdaptive, lo: p.HedgeMin, hi: p.HedgeMax,
		perFetch: int64(p.HedgeCap * creditUnit)}
}

// delay returns how long to wait before hedging the fetch that starts, and
// credits the budget with its share. While hedges rarely win (futile: on a
// saturated backend the second attempt queues behind the first) it is
// HedgeMax; if hedges of fetches that slow win, the p95 is back.
func (h *hedger) delay() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.credit = min(h.credit+h.perFetch, maxCreditHedges*creditUnit)
	futile := h.hedges == outcomeWindow && h.wins < futileWins
	switch {
	case !h.adaptive:
		return h.fixed
	case h.samples < minSamples || futile:
		return h.hi
	case h.fresh >= recomputeEvery || h.p95 == 0:
		h.p95, h.fresh = percentile(h.window[:h.samples], 0.95), 0
	}
	return min(max(h.p95, h.lo), h.hi)
}

// allow spends one hedge from the budget if there is one.
func (h *hedger) allow() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ok := h.credit >= creditUnit
	if ok {
		h.credit -= creditUnit
	}
	return ok
}

// observe adds an attempt's latency to the window: a successful one's, or
// how long a first attempt ran until a winning hedge cancelled it.
func (h *hedger) observe(d time.Duration) {
	if h.adaptive {
		h.mu.Lock()
		h.window[h.next], h.next = d, (h.next+1)%windowSize
		h.samples, h.fresh = min(h.samples+1, windowSize), h.fresh+1
		h.mu.Unlock()
	}
}

// settled records whether a hedge won (answered first) or lost.
func (h *hedger) settled(won bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hedges == outcomeWindow && h.outcomes[h.nextOut] {
		h.wins--
	}
	if won {
		h.wins++
	}
	h.outcomes[h.nextOut], h.nextOut = won, (h.nextOut+1)%outcomeWindow
	h.hedges = min(h.hedges+1, outcomeWindow)
}

// percentile returns the q-quantile of ds (nearest rank), leaving ds as is.
func percentile(ds []time.Duration, q float64) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// hedgeAttempt is an attempt of a hedged fetch, named in its context
// (attemptKey) for the attempts layer, which leaves its span there.
type hedgeAttempt struct {
	kind    string
	span    trace.Span // nil without tracing, or if refused
	out     tiles.Outcome
	elapsed time.Duration
	err     error
}

type attemptKey struct{}

func (l *hedging) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	// The first attempt runs on the caller's goroutine, and a timer starts
	// the hedge: a fetch answered in time costs no goroutine.
	first, cancelFirst := context.WithCancel(ctx)
	defer cancelFirst()
	h := &hedge{first: hedgeAttempt{kind: attemptFirst}, second: hedgeAttempt{kind: attemptHedge}}
	h.timer = time.AfterFunc(l.h.delay(), func() { h.launch(ctx, l, req, cancelFirst) })
	r1 := l.try(first, req, &h.first)
	second := h.stop()
	switch {
	case r1.err == nil:
		r1.end(true)
		l.h.observe(r1.elapsed)
		if second != nil { // the first attempt won: stop the hedge, and wait for it
			h.cancel()
			(<-second).end(false)
			l.h.settled(false)
		}
		return r1.out, nil
	case second == nil: // no hedge was launched, and none will be
		r1.end(false)
	default: // the first attempt failed, maybe cancelled by the winning hedge
		r2 := <-second
		h.cancel()
		r1.end(false)
		r2.end(r2.err == nil)
		if r2.err == nil {
			l.h.observe(r2.elapsed)
			if ctx.Err() == nil && errors.Is(r1.err, context.Canceled) {
				l.h.observe(r1.elapsed) // or the window would see only the fast answers
			}
			l.rec.HedgeWon(l.name)
			l.h.settled(true)
			return r2.out, nil
		}
	}
	if ctx.Err() != nil {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", l.name, ctx.Err())
	}
	return tiles.Outcome{}, r1.err
}

// try makes attempt a through the rest of the chain, named for its span.
func (l *hedging) try(ctx context.Context, req tiles.Request, a *hedgeAttempt) *hedgeAttempt {
	if l.traced {
		ctx = context.WithValue(ctx, attemptKey{}, a)
	}
	start := time.Now()
	a.out, a.err = l.next.Fetch(ctx, req)
	a.elapsed = time.Since(start)
	return a
}

// hedge is the second attempt of one fetch, launched by a timer.
type hedge struct {
	timer         *time.Timer
	first, second hedgeAttempt
	mu            sync.Mutex
	finished      bool               // the first attempt has returned
	result        chan *hedgeAttempt // set once the hedge is launched
	cancel        context.CancelFunc // cancels the hedge
}

// launch starts the second attempt unless the first has returned or the
// budget is spent.
func (h *hedge) launch(ctx context.Context, l *hedging, req tiles.Request, cancelFirst context.CancelFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finished || !l.h.allow() {
		return
	}
	l.rec.HedgeStarted(l.name)
	ctx, h.cancel = context.WithCancel(ctx)
	h.result = make(chan *hedgeAttempt, 1)
	go func() {
		r := l.try(ctx, req, &h.second)
		if r.err == nil {
			cancelFirst()
		}
		h.result <- r
	}()
}

// stop returns the hedge's result channel, nil if none was (or will be)
// launched.
func (h *hedge) stop() chan *hedgeAttempt {
	h.timer.Stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.finished = true
	return h.result
}
