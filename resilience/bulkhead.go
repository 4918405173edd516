package resilience

import (
	"context"
	"errors"
	"fmt"

	"vitrine/tiles"
)

// DefaultBulkhead is the default of Policy.Bulkhead.
const DefaultBulkhead = 1024

// ErrBulkheadFull is the error of an attempt the bulkhead refused.
var ErrBulkheadFull = errors.New("too many requests to the backend in flight")

// bulkhead bounds the attempts in flight to the backend, so that a slow
// backend cannot tie up every connection: past Policy.Bulkhead, an attempt
// is refused at once.
type bulkhead struct {
	base
	slots chan struct{}
}

func (b *bulkhead) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	select {
	case b.slots <- struct{}{}:
		defer func() { <-b.slots }()
		return b.next.Fetch(ctx, req)
	default:
		b.rec.BulkheadFull(b.name)
		return tiles.Outcome{}, fmt.Errorf("%s: %w", b.name, ErrBulkheadFull)
	}
}
