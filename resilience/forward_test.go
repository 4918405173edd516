package resilience

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// languageTile is a tile that forwards Accept-Language, whose backend
// answers in the language asked and counts its calls.
func languageTile(p Policy, rec Recorder) (*Tile, *atomic.Int64) {
	var calls atomic.Int64
	f := &tilestest.Fetcher{TileName: "offers", FetchFn: func(_ context.Context, req tiles.Request) (tiles.Outcome, error) {
		calls.Add(1)
		lang := "none"
		p.Forward.Each(req, func(v tiles.Passed) { lang = v.Value })
		return tiles.Fresh(tilestest.String(lang)), nil
	}}
	p.Forward = tiles.Forward{Headers: []string{"Accept-Language"}}
	return Wrap(f, p, Options{Recorder: rec}), &calls
}

func lang(v string) tiles.Request {
	return tiles.Request{Forwarded: []tiles.Passed{{From: tiles.FromHeader, Name: "Accept-Language", Value: v}}}
}

// TestForwardKeysTheCache: each language is cached apart; the same one
// again is a hit; one tile's answer in de never serves en.
func TestForwardKeysTheCache(t *testing.T) {
	tile, calls := languageTile(Policy{TTL: time.Minute}, nil)
	defer tile.Close()
	for i, tt := range []struct {
		req   tiles.Request
		want  string
		calls int64
	}{{lang("de"), "de", 1}, {lang("en"), "en", 2}, {lang("de"), "de", 2}, {lang("en"), "en", 2},
		{tiles.Request{}, "none", 3}} {
		out, err := tile.Fetch(t.Context(), tt.req)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(out.Data), text(tt.want); got != want {
			t.Errorf("fetch %d: data = %s; want %s", i, got, want)
		}
		if got := calls.Load(); got != tt.calls {
			t.Errorf("fetch %d: backend calls = %d; want %d", i, got, tt.calls)
		}
	}
}

// TestForwardMax: past ForwardMax distinct values a new value is fetched,
// served, never cached, and counted; the values seen first stay cached.
func TestForwardMax(t *testing.T) {
	rec := newRecorder()
	tile, calls := languageTile(Policy{TTL: time.Minute, ForwardMax: 3, Fallback: []byte(`"fb"`)}, rec)
	defer tile.Close()
	for i := range 3 {
		tile.Fetch(t.Context(), lang(fmt.Sprint(i)))
	}
	for range 2 {
		out, err := tile.Fetch(t.Context(), lang("new"))
		if err != nil || string(out.Data) != text("new") {
			t.Fatalf("Fetch = %s, %v; want %s", out.Data, err, text("new"))
		}
	}
	if got := calls.Load(); got != 5 {
		t.Errorf("backend calls = %d; want 5 (3 cached values, then the 4th fetched twice)", got)
	}
	if got := rec.Count("ForwardUncached"); got != 2 {
		t.Errorf("ForwardUncached = %d; want 2", got)
	}
	tile.Fetch(t.Context(), lang("0"))
	if got := calls.Load(); got != 5 {
		t.Errorf("backend calls = %d after a value seen first; want 5 (cached)", got)
	}
}

// TestVaryKey: the key is a hash, of the tile's own values only, and no
// value can pose as two.
func TestVaryKey(t *testing.T) {
	keys := NewUserKeys([]byte("secret"))
	fw := tiles.Forward{Query: []string{"a", "b"}}
	q := func(pairs ...string) tiles.Request {
		var req tiles.Request
		for i := 0; i < len(pairs); i += 2 {
			req.Forwarded = append(req.Forwarded, tiles.Passed{From: tiles.FromQuery, Name: pairs[i], Value: pairs[i+1]})
		}
		return req
	}
	if got := varyKey(keys, Policy{Forward: fw}, q("c", "x")); got != "" {
		t.Errorf("key of a value the tile does not forward = %q; want \"\"", got)
	}
	if a, b := varyKey(keys, Policy{Forward: fw}, q("a", "x")), varyKey(keys, Policy{Forward: fw}, q("a", "x", "c", "y")); a != b || a == "" {
		t.Errorf("keys %q and %q; want the same, not empty: c is not the tile's", a, b)
	}
	if a, b := varyKey(keys, Policy{Forward: fw}, q("a", "x", "b", "y")), varyKey(keys, Policy{Forward: fw}, q("a", "x3b:y")); a == b {
		t.Errorf("two values and one posing as them share the key %q", a)
	}
}
