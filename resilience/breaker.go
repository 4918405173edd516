package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tiles"
)

// DefaultBreakerOpen is how long an open breaker stays open when
// Policy.BreakerOpen is 0.
const DefaultBreakerOpen = 5 * time.Second

// ErrCircuitOpen is the error of a fetch refused because the tile's circuit
// breaker is open (or half-open with its probes already in flight).
var ErrCircuitOpen = errors.New("circuit open: the backend failed repeatedly and is not called for a while")

// BreakerState is the state of a tile's circuit breaker.
type BreakerState string

// The breaker states.
const (
	BreakerClosed   BreakerState = "closed"    // calling the backend
	BreakerHalfOpen BreakerState = "half-open" // letting probes through
	BreakerOpen     BreakerState = "open"      // not calling the backend
)

// breaker is the circuit breaker layer (Policy.BreakerFailures > 0, with
// github.com/sony/gobreaker/v2). After BreakerFailures consecutive failed
// fetches it opens: for BreakerOpen it refuses every fetch at once with an
// error wrapping ErrCircuitOpen (which the layers above answer from stale
// content or the fallback). Then it lets BreakerProbes fetches through,
// which close it if they all succeed.
type breaker struct {
	base
	cb *gobreaker.TwoStepCircuitBreaker[struct{}]
}

func (b *breaker) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	done, err := b.cb.Allow()
	if b.traced {
		// The state that let the fetch through or refused it.
		span := trace.SpanFromContext(ctx)
		span.SetAttributes(attrBreaker.String(string(breakerState(b.cb.State()))))
		if err != nil {
			span.AddEvent("circuit open")
		}
	}
	if err != nil {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", b.name, ErrCircuitOpen)
	}
	out, err := b.next.Fetch(ctx, req)
	done(err)
	return out, err
}

// newBreaker returns the breaker of a tile whose policy has one, and tells
// rec it starts closed.
func newBreaker(name string, p Policy, rec Recorder) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	b := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: uint32(p.BreakerProbes),
		Timeout:     p.BreakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= uint32(p.BreakerFailures)
		},
		// A caller that left (the client went away) says nothing about the
		// backend, nor does a request the bulkhead refused, nor a backend's
		// "no such content" (404, 410), which is an answer: such a fetch
		// counts neither way.
		IsExcluded: func(err error) bool {
			var be *tiles.BackendError
			return errors.Is(err, context.Canceled) || errors.Is(err, ErrBulkheadFull) ||
				errors.As(err, &be) && be.Gone()
		},
		OnStateChange: func(_ string, _, to gobreaker.State) {
			rec.BreakerState(name, breakerState(to))
		},
	})
	rec.BreakerState(name, BreakerClosed)
	return b
}

// breakerState translates gobreaker's states.
func breakerState(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateOpen:
		return BreakerOpen
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	default:
		return BreakerClosed
	}
}
