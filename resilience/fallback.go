package resilience

import (
	"context"
	"encoding/json"

	"vitrine/tiles"
)

// fallback is the outermost layer (Policy.Fallback set): when the rest of
// the chain fails, it answers with the tile's static default, marked
// fallback, the error as its cause.
type fallback struct {
	base
	data json.RawMessage
}

func (f *fallback) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	out, err := f.next.Fetch(ctx, req)
	if err == nil {
		return out, nil
	}
	f.rec.FallbackServed(f.name)
	f.note(ctx, cacheFallback)
	return tiles.Outcome{Data: f.data, Status: tiles.StatusFallback, Cause: err}, nil
}
