package resilience

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// slugTile is a tile whose backend answers with the page's slug, or "any"
// without one, and counts its calls.
func slugTile(p Policy) (*Tile, *atomic.Int64) {
	var calls atomic.Int64
	f := &tilestest.Fetcher{TileName: "t", FetchFn: func(_ context.Context, req tiles.Request) (tiles.Outcome, error) {
		calls.Add(1)
		return tiles.Fresh(tilestest.String(req.Params["slug"] + "/" + req.Params["page"])), nil
	}}
	return Wrap(f, p, Options{}), &calls
}

func slug(s string) tiles.Request {
	return tiles.Request{Params: map[string]string{"slug": s, "page": "2"}}
}

// TestParamsKeyTheCache: a tile that uses {slug} caches each value apart
// (one value never serves another, nor a value that is a prefix of it);
// one that uses none is one entry for every value; a parameter the tile
// does not use is no part of its key.
func TestParamsKeyTheCache(t *testing.T) {
	per, perCalls := slugTile(Policy{TTL: time.Minute, Params: []string{"slug"}})
	defer per.Close()
	shared, sharedCalls := slugTile(Policy{TTL: time.Minute})
	defer shared.Close()
	for i, s := range []string{"outdoor", "kitchen", "outdoor", "kitchen", "out"} {
		out, err := per.Fetch(t.Context(), slug(s))
		if err != nil || string(out.Data) != text(s+"/2") {
			t.Errorf("fetch %d of %s = %s, %v; want %s", i, s, out.Data, err, text(s+"/2"))
		}
		shared.Fetch(t.Context(), slug(s))
	}
	req := slug("outdoor")
	req.Params["page"] = "3"
	if out, _ := per.Fetch(t.Context(), req); string(out.Data) != text("outdoor/2") {
		t.Errorf("another value of an unused parameter = %s; want the cached %s", out.Data, text("outdoor/2"))
	}
	if got := perCalls.Load(); got != 3 {
		t.Errorf("backend calls of the tile using {slug} = %d; want 3 (outdoor, kitchen, out)", got)
	}
	if got := sharedCalls.Load(); got != 1 {
		t.Errorf("backend calls of the tile using none = %d; want 1 (one entry for every slug)", got)
	}
}
