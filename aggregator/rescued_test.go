package aggregator_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// TestRescuedAtDeadline checks that a tile a cache rescues at its deadline
// (stale or fallback content, returned once the tile's context is done) is
// reported with that status and the same "no answer within" message a
// timeout has, and takes the timeout.
func TestRescuedAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rescuer := &fakeFetcher{name: "recs", FetchFn: func(ctx context.Context, _ tiles.Request) (any, error) {
			<-ctx.Done()
			return &tiles.Served{Status: "fallback", Data: "bestsellers", Cause: ctx.Err()}, nil
		}}
		agg := mustNew(t, aggregator.Options{TileTimeout: 500 * time.Millisecond}, rescuer)
		start := time.Now()
		page := agg.Page(t.Context(), tiles.Request{})
		r := page.Tiles["recs"]
		if got, want := r.Status, aggregator.StatusFallback; got != want {
			t.Errorf("status: got %q; want %q", got, want)
		}
		if got, want := r.Error, "recs: no answer within 500ms"; got != want {
			t.Errorf("error: got %q; want %q", got, want)
		}
		if got, want := time.Since(start), 500*time.Millisecond; got != want {
			t.Errorf("page took %v; want %v", got, want)
		}
		if page.Complete {
			t.Error("complete: got true; want false for a fallback tile")
		}
	})
}

// TestRescuedAtPageDeadline: a tile rescued when the page deadline (not its
// own) ends it says so.
func TestRescuedAtPageDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rescuer := &fakeFetcher{name: "recs", FetchFn: func(ctx context.Context, _ tiles.Request) (any, error) {
			<-ctx.Done()
			return &tiles.Served{Status: "fallback", Data: "bestsellers", Cause: ctx.Err()}, nil
		}}
		agg := mustNew(t, aggregator.Options{TileTimeout: 3 * time.Second, PageTimeout: time.Second}, rescuer)
		r := agg.Page(t.Context(), tiles.Request{}).Tiles["recs"]
		if got, want := r.Error, "recs: no answer within the page deadline of 1s"; got != want {
			t.Errorf("error: got %q; want %q", got, want)
		}
	})
}
