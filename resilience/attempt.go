package resilience

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"vitrine/tiles"
)

// attempt is the innermost layer: one call of the backend, timed for
// Recorder.BackendFetch. A panic becomes its error: attempts run on this
// package's goroutines (a hedge, a flight), where a panic would kill the
// process instead of reaching the aggregator's recover.
type attempt struct{ base }

func (a *attempt) Fetch(ctx context.Context, req tiles.Request) (out tiles.Outcome, err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			a.logger.ErrorContext(ctx, "tile panicked", "tile", a.name, "request_id", req.ID, "panic", p,
				"stack", string(debug.Stack()))
			out, err = tiles.Outcome{}, fmt.Errorf("%s: internal error (panic)", a.name) // the value stays in the log
		}
		a.rec.BackendFetch(ctx, a.name, time.Since(start), err)
	}()
	return a.next.Fetch(ctx, req)
}
