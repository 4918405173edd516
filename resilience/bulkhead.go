package resilience

import (
	"context"
	"errors"
	"fmt"

	"vitrine/tiles"
)

// DefaultBulkhead bounds a tile's requests in flight to its backend when
// Policy.Bulkhead is 0.
const DefaultBulkhead = 1024

// ErrBulkheadFull is the error of a backend request refused because the
// tile already has Policy.Bulkhead requests in flight to its backend.
var ErrBulkheadFull = errors.New("too many requests to the backend in flight")

// bulkhead bounds the attempts in flight to the backend (Policy.Bulkhead),
// first attempts, hedges and refreshes alike: past it an attempt is refused
// at once with an error wrapping ErrBulkheadFull, so that a slow backend
// cannot tie up every connection and goroutine. The breaker does not count
// a refusal, and the tile answers it from stale content or its fallback.
type bulkhead struct {
	base
	slots chan struct{} // a slot per request in flight
}

func (b *bulkhead) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	select {
	case b.slots <- struct{}{}:
		defer func() { <-b.slots }()
	default:
		b.rec.BulkheadFull(b.name)
		return tiles.Outcome{}, fmt.Errorf("%s: %w", b.name, ErrBulkheadFull)
	}
	return b.next.Fetch(ctx, req)
}
