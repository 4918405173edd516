package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is wrapped by the error of a call not sent: the tier is down.
var ErrUnavailable = errors.New("redis tier unavailable")

const (
	// failuresToDown consecutive failed calls make the tier down.
	failuresToDown = 3
	// probeEvery is how often a down tier lets one call through.
	probeEvery = 500 * time.Millisecond
	// An up tier is degraded while at least degradedPercent of its calls,
	// and degradedMin of them, failed in the last errorWindow or two: Redis
	// answers but refuses (full, read-only) or often times out. Every call
	// may write: a claim takes a lease.
	errorWindow     = 30 * time.Second
	degradedPercent = 10
	degradedMin     = 10
	// warnEvery is how often a degraded tier's failures are logged at most.
	warnEvery = time.Minute
)

// State is the tier's health as last observed, for /readyz.
type State struct {
	Up       bool
	Degraded bool      // up, but too many calls fail
	Since    time.Time // when it became up, degraded or down
	Err      string    // the last failure while down or degraded
}

// window counts the calls and failures of two errorWindow buckets.
type window struct {
	bucket       int64  // the current bucket: a time / errorWindow
	calls, fails [2]int // the current bucket's, then the one before's
}

// roll makes now's bucket the current one, and returns the two buckets' sums.
func (w *window) roll(now time.Time) (calls, fails int) {
	b := now.UnixNano() / int64(errorWindow)
	switch b - w.bucket {
	case 0:
	case 1:
		w.calls, w.fails = [2]int{0, w.calls[0]}, [2]int{0, w.fails[0]}
	default:
		w.calls, w.fails = [2]int{}, [2]int{}
	}
	w.bucket = b
	return w.calls[0] + w.calls[1], w.fails[0] + w.fails[1]
}

// health is the tier's circuit: up, or down with one probe call let through
// every probeEvery. Not gobreaker, which reads the wall clock: the tests
// drive this one with a fake clock (now).
type health struct {
	now func() time.Time
	rec Recorder
	log *slog.Logger

	mu        sync.Mutex
	state     State
	failures  int
	lastProbe time.Time
	rate      window    // while up
	lastWarn  time.Time // of the degraded tier's failures
}

// admit returns nil if a call may go, else (down, not a probe) ErrUnavailable.
func (h *health) admit() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state.Up {
		return nil
	}
	now := h.now()
	if now.Sub(h.lastProbe) < probeEvery {
		return fmt.Errorf("%w (down since %s: %s)", ErrUnavailable, h.state.Since.Format(time.RFC3339), h.state.Err)
	}
	h.lastProbe = now
	return nil
}

// report counts the outcome of op, a call made with the caller's ctx.
func (h *health) report(ctx context.Context, op string, err error) {
	if err != nil && callerEnded(ctx) {
		return // the caller gave up: says nothing of Redis
	}
	h.mu.Lock()
	defer h.mu.Unlock() // Up and the logs in state order
	now := h.now()
	if h.state.Up {
		h.count(now, op, err)
	}
	var reply redis.Error
	if errors.As(err, &reply) && !refusesUs(reply) {
		err = nil // Redis answered, with an error reply: it is reachable
	}
	if err == nil {
		h.failures = 0
		if !h.state.Up {
			h.state, h.rate = State{Up: true, Since: now}, window{}
			h.log.Info("redis reachable again")
			h.rec.Up(true)
		}
		return
	}
	h.failures++
	switch {
	case !h.state.Up:
		h.state.Err = err.Error()
	case h.failures >= failuresToDown:
		h.state = State{Up: false, Since: now, Err: err.Error()}
		h.lastProbe = now
		h.log.Warn("redis unreachable", "err", err, "failures", h.failures)
		h.rec.Up(false)
	}
}

// refusesUs reports whether reply says this client may not use Redis at
// all (a wrong or missing password, an ACL that forbids it): for the tier
// that is as good as down, and the log should say why.
func refusesUs(reply redis.Error) bool {
	msg := reply.Error()
	return strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "NOPERM")
}

// callerEnded reports whether the caller's ctx ended the call: cancelled,
// or past its deadline (a socket deadline may fire before ctx's timer).
func callerEnded(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// count adds op's outcome to the up tier's rate; a degraded tier's
// failures are logged at most every warnEvery. The caller holds h.mu.
func (h *health) count(now time.Time, op string, err error) {
	h.rate.roll(now)
	h.rate.calls[0]++
	if err != nil {
		h.rate.fails[0]++
	}
	calls, fails := h.assess(now, err != nil)
	if h.state.Degraded && err != nil {
		h.state.Err = err.Error()
		if now.Sub(h.lastWarn) >= warnEvery {
			h.lastWarn = now
			h.log.Warn("redis calls failing: the tier is degraded", "op", op, "err", err,
				"calls", calls, "failed", fails, "window", 2*errorWindow)
		}
	}
}

// assess says whether the up tier is degraded by its failures in the
// window (a failure just seen never ends it), and logs its recovery. The
// caller holds h.mu.
func (h *health) assess(now time.Time, failed bool) (calls, fails int) {
	calls, fails = h.rate.roll(now)
	degraded := fails >= degradedMin && fails*100 >= calls*degradedPercent || failed && h.state.Degraded
	if degraded != h.state.Degraded {
		h.state.Degraded, h.state.Since = degraded, now
		if !degraded {
			h.state.Err = ""
			h.log.Info("redis calls succeed again", "calls", calls, "failed", fails)
		}
	}
	return calls, fails
}

// get returns the state, no longer degraded once its failures are past.
func (h *health) get() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state.Up {
		h.assess(h.now(), false)
	}
	return h.state
}
