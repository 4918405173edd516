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

// DefaultBreakerOpen is the default of Policy.BreakerOpen.
const DefaultBreakerOpen = 5 * time.Second

// ErrCircuitOpen is the error of a fetch the breaker refused.
var ErrCircuitOpen = errors.New("circuit open: the backend failed repeatedly and is not called for a while")

// BreakerState is the state of a tile's circuit breaker.
type BreakerState string

// The breaker states.
const (
	BreakerClosed   BreakerState = "closed"    // calling the backend
	BreakerHalfOpen BreakerState = "half-open" // letting probes through
	BreakerOpen     BreakerState = "open"      // not calling the backend
)

// breaker is the circuit breaker layer (gobreaker). BreakerFailures
// consecutive failures open it: for BreakerOpen it refuses fetches at once,
// then lets BreakerProbes through, which close it if they succeed. A caller
// that left, a page's deadline, a bulkhead's refusal and a 404 or 410
// count neither way.
type breaker struct {
	base
	cb *gobreaker.TwoStepCircuitBreaker[struct{}]
}

func (b *breaker) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	done, err := b.cb.Allow()
	if b.traced {
		span := trace.SpanFromContext(ctx)
		span.SetAttributes(attrBreaker.String(string(breakerStates[b.cb.State()])))
		if err != nil {
			span.AddEvent("circuit open")
		}
	}
	if err != nil {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", b.name, ErrCircuitOpen)
	}
	out, err := b.next.Fetch(ctx, req)
	if err != nil && errors.Is(context.Cause(ctx), tiles.ErrPageDeadline) {
		done(tiles.ErrPageDeadline) // the page's time ran out (it may have waited in line), not the backend's
	} else {
		done(err)
	}
	return out, err
}

// newBreaker returns a tile's breaker, and tells rec it starts closed.
func newBreaker(name string, p Policy, rec Recorder) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	rec.BreakerState(name, BreakerClosed)
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: uint32(p.BreakerProbes),
		Timeout:     p.BreakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(p.BreakerFailures) },
		IsExcluded: func(err error) bool {
			var be *tiles.BackendError
			return errors.Is(err, context.Canceled) || errors.Is(err, tiles.ErrPageDeadline) ||
				errors.Is(err, ErrBulkheadFull) || errors.As(err, &be) && be.Gone()
		},
		OnStateChange: func(_ string, _, to gobreaker.State) { rec.BreakerState(name, breakerStates[to]) },
	})
}

var breakerStates = map[gobreaker.State]BreakerState{
	gobreaker.StateClosed: BreakerClosed, gobreaker.StateHalfOpen: BreakerHalfOpen, gobreaker.StateOpen: BreakerOpen,
}
