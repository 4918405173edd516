package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
)

// State is the tier's health as last observed, for /readyz.
type State struct {
	Up    bool
	Since time.Time // when it became up or down
	Err   string    // the last failure while down
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

// report counts the outcome of a call made with the caller's ctx.
func (h *health) report(ctx context.Context, err error) {
	if err != nil && callerEnded(ctx) {
		return // the caller gave up: says nothing of Redis
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		err = nil // Redis answered, with an error reply: it is reachable
	}
	h.mu.Lock()
	defer h.mu.Unlock() // Up and the logs in state order
	now := h.now()
	if err == nil {
		h.failures = 0
		if !h.state.Up {
			h.state = State{Up: true, Since: now}
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

// callerEnded reports whether the caller's ctx ended the call: cancelled,
// or past its deadline (a socket deadline may fire before ctx's timer).
func callerEnded(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

func (h *health) get() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}
