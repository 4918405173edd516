package aggregator_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// rescuer is a tile a cache rescues at its deadline: it waits for its
// context to end and then serves its fallback, as resilience does.
func rescuer() *tilestest.Fetcher {
	return &tilestest.Fetcher{TileName: "recs", FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
		<-ctx.Done()
		return tiles.Outcome{Status: tiles.StatusFallback, Data: json.RawMessage(`"bestsellers"`), Cause: ctx.Err()}, nil
	}}
}

// TestRescuedAtDeadline checks that a tile rescued at a deadline (stale or
// fallback content, returned once the tile's context is done) is reported
// with that status, its data, and the same "no answer within" message a
// timeout has, naming the deadline that ended it (its own or the page's),
// and takes that deadline.
func TestRescuedAtDeadline(t *testing.T) {
	tests := []struct {
		name string
		opts aggregator.Options
		want resultView
	}{
		{"tile deadline", aggregator.Options{TileTimeout: 500 * time.Millisecond}, resultView{
			Name: "recs", Status: tiles.StatusFallback, Data: `"bestsellers"`,
			Cause: "recs: no answer within 500ms", Elapsed: 500 * time.Millisecond,
		}},
		{"page deadline", aggregator.Options{TileTimeout: 3 * time.Second, PageTimeout: time.Second}, resultView{
			Name: "recs", Status: tiles.StatusFallback, Data: `"bestsellers"`,
			Cause: "recs: no answer within the page deadline of 1s", Elapsed: time.Second,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				agg := mustNew(t, tt.opts, rescuer())
				start := time.Now()
				page := agg.Page(t.Context(), tiles.Request{})
				if got := viewsOf(page.Results); !slices.Equal(got, []resultView{tt.want}) {
					t.Errorf("Results = %+v; want [%+v]", got, tt.want)
				}
				if got, want := time.Since(start), tt.want.Elapsed; got != want {
					t.Errorf("page took %v; want %v", got, want)
				}
				if page.Complete {
					t.Error("Complete = true; want false for a fallback tile")
				}
			})
		})
	}
}
