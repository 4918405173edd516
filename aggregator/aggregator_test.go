package aggregator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// msOf is d in the contract's milliseconds.
func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func TestPageTakesTheSlowestTile(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		latencies []time.Duration
	}{
		{"40/80/120", []time.Duration{40 * ms, 80 * ms, 120 * ms}},
		{"120/80/40", []time.Duration{120 * ms, 80 * ms, 40 * ms}},
		{"equal", []time.Duration{10 * ms, 10 * ms, 10 * ms}},
		{"0/300/5", []time.Duration{0, 300 * ms, 5 * ms}},
		{"all zero", []time.Duration{0, 0, 0}},
		{"one tile", []time.Duration{70 * ms}},
		{"just under the timeout", []time.Duration{499 * ms, 1 * ms}},
		{"50 tiles", func() []time.Duration {
			ds := make([]time.Duration, 50)
			for i := range ds {
				ds[i] = time.Duration(i+1) * ms // sum 1275ms, max 50ms
			}
			return ds
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var fs []tiles.Fetcher
				var names []string
				for i, d := range tt.latencies {
					name := fmt.Sprintf("tile%d", i)
					names = append(names, name)
					fs = append(fs, sleeper(name, d, nil))
				}
				a := mustNew(t, aggregator.Options{}, fs...)

				start := time.Now()
				p := a.Page(t.Context(), tiles.Request{})
				elapsed := time.Since(start)

				want := slices.Max(tt.latencies)
				if elapsed != want {
					t.Errorf("Page took %v; want %v (the slowest tile)", elapsed, want)
				}
				if got := p.ElapsedMS; got != msOf(want) {
					t.Errorf("ElapsedMS = %v; want %v", got, msOf(want))
				}
				if !p.Complete {
					t.Errorf("Complete = false; want true")
				}
				if got, want := len(p.Tiles), len(tt.latencies); got != want {
					t.Fatalf("len(Tiles) = %d; want %d", got, want)
				}
				for i, name := range names {
					r, ok := p.Tiles[name]
					if !ok {
						t.Errorf("tile %q missing from %v", name, p.Tiles)
						continue
					}
					if r.Name != name || r.Status != aggregator.StatusOK || r.Error != "" {
						t.Errorf("tile %q = {%q %q %q}; want {%q ok \"\"}", name, r.Name, r.Status, r.Error, name)
					}
					if got, want := r.Data, name+" data"; got != want {
						t.Errorf("tile %q data = %v; want %v", name, got, want)
					}
					if got, want := r.ElapsedMS, msOf(tt.latencies[i]); got != want {
						t.Errorf("tile %q ElapsedMS = %v; want %v", name, got, want)
					}
					if r.StartMS != 0 {
						t.Errorf("tile %q StartMS = %v; want 0 (every tile starts at once)", name, r.StartMS)
					}
					if got := p.Results[i]; got != r {
						t.Errorf("Results[%d] = %+v; want %+v (page order)", i, got, r)
					}
				}
			})
		})
	}
}

func TestPageNoTiles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustNew(t, aggregator.Options{})
		p := a.Page(t.Context(), tiles.Request{})
		if !p.Complete || p.ElapsedMS != 0 || len(p.Tiles) != 0 || len(p.Results) != 0 {
			t.Errorf("Page() = %+v; want an empty, complete page in 0ms", p)
		}
	})
}

func TestPageTileTimeout(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // Options.TileTimeout
		want    time.Duration // effective
	}{
		{"500ms", 500 * time.Millisecond, 500 * time.Millisecond},
		{"default", 0, aggregator.DefaultTileTimeout},
		{"negative means default", -time.Second, aggregator.DefaultTileTimeout},
		{"300ms", 300 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var cancelled atomic.Int32
				a := mustNew(t, aggregator.Options{TileTimeout: tt.timeout},
					sleeper("fast", 40*time.Millisecond, nil),
					sleeper("slow", 5*time.Second, &cancelled),
					sleeper("mid", 100*time.Millisecond, nil),
				)
				if got := a.TileTimeout(); got != tt.want {
					t.Errorf("TileTimeout() = %v; want %v", got, tt.want)
				}
				start := time.Now()
				p := a.Page(t.Context(), tiles.Request{})
				if got := time.Since(start); got != tt.want {
					t.Errorf("Page took %v; want the tile timeout %v", got, tt.want)
				}
				if got := p.ElapsedMS; got != msOf(tt.want) {
					t.Errorf("ElapsedMS = %v; want %v", got, msOf(tt.want))
				}
				if p.Complete {
					t.Error("Complete = true; want false")
				}
				slow := p.Tiles["slow"]
				if got, want := slow.Status, aggregator.StatusTimeout; got != want {
					t.Errorf("slow status = %q; want %q", got, want)
				}
				if got, want := slow.Error, fmt.Sprintf("slow: no answer within %s", tt.want); got != want {
					t.Errorf("slow error = %q; want %q", got, want)
				}
				if got, want := slow.ElapsedMS, msOf(tt.want); got != want {
					t.Errorf("slow ElapsedMS = %v; want %v", got, want)
				}
				if slow.Data != nil {
					t.Errorf("slow data = %v; want nil", slow.Data)
				}
				if got := cancelled.Load(); got != 1 {
					t.Errorf("%d fetches saw their context end; want 1", got)
				}
				for _, name := range []string{"fast", "mid"} {
					if got := p.Tiles[name].Status; got != aggregator.StatusOK {
						t.Errorf("%s status = %q; want ok", name, got)
					}
				}
			})
		})
	}
}

func TestPageFailingTile(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain error", errors.New("database down"), "bad: database down"},
		{"already prefixed", errors.New("bad: database down"), "bad: database down"},
		{"wrapped", fmt.Errorf("bad: %w", tiles.ErrSimulated), "bad: " + tiles.ErrSimulated.Error()},
		{"other tile's prefix", errors.New("badge: nope"), "bad: badge: nope"},
		{"tiles.Error", tiles.Errorf(tiles.EINTERNAL, "upstream 500"), "bad: upstream 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := mustNew(t, aggregator.Options{},
					sleeper("first", 20*time.Millisecond, nil),
					failing("bad", tt.err),
					sleeper("last", 60*time.Millisecond, nil),
				)
				start := time.Now()
				p := a.Page(t.Context(), tiles.Request{})
				if got, want := time.Since(start), 60*time.Millisecond; got != want {
					t.Errorf("Page took %v; want %v (a failure cancels nothing)", got, want)
				}
				bad := p.Tiles["bad"]
				if got, want := bad.Status, aggregator.StatusError; got != want {
					t.Errorf("bad status = %q; want %q", got, want)
				}
				if got := bad.Error; got != tt.want {
					t.Errorf("bad error = %q; want %q", got, tt.want)
				}
				if bad.Data != nil {
					t.Errorf("bad data = %v; want nil", bad.Data)
				}
				for _, name := range []string{"first", "last"} {
					if got := p.Tiles[name]; got.Status != aggregator.StatusOK || got.Error != "" {
						t.Errorf("%s = %q %q; want ok", name, got.Status, got.Error)
					}
				}
				if p.Complete {
					t.Error("Complete = true; want false")
				}
			})
		})
	}
}

func TestPagePanickingTile(t *testing.T) {
	tests := []struct {
		name  string
		panic func()
		want  string // in the error and the log
	}{
		{"string", func() { panic("kaboom") }, "kaboom"},
		{"error", func() { panic(errors.New("bad state")) }, "bad state"},
		{"runtime error", func() {
			var m map[string]int
			m["x"] = 1
		}, "assignment to entry in nil map"},
		{"nil", func() { panic(nil) }, "panic called with nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs bytes.Buffer
				logger := slog.New(slog.NewTextHandler(&logs, nil))
				boom := &fakeFetcher{name: "boom", FetchFn: func(ctx context.Context, _ tiles.Request) (any, error) {
					if err := tiles.Wait(ctx, 30*time.Millisecond); err != nil {
						return nil, err
					}
					tt.panic()
					return "unreachable", nil
				}}
				a := mustNew(t, aggregator.Options{Logger: logger},
					sleeper("before", 10*time.Millisecond, nil),
					boom,
					sleeper("after", 50*time.Millisecond, nil),
				)
				p := a.Page(t.Context(), tiles.Request{})

				r := p.Tiles["boom"]
				if got, want := r.Status, aggregator.StatusError; got != want {
					t.Errorf("boom status = %q; want %q", got, want)
				}
				if !strings.HasPrefix(r.Error, "boom: internal error (panic: ") || !strings.Contains(r.Error, tt.want) {
					t.Errorf("boom error = %q; want \"boom: internal error (panic: ...%s...)\"", r.Error, tt.want)
				}
				if got, want := r.ElapsedMS, 30.0; got != want {
					t.Errorf("boom ElapsedMS = %v; want %v", got, want)
				}
				if r.Data != nil {
					t.Errorf("boom data = %v; want nil", r.Data)
				}
				for _, name := range []string{"before", "after"} {
					if got := p.Tiles[name].Status; got != aggregator.StatusOK {
						t.Errorf("%s status = %q; want ok", name, got)
					}
				}
				if p.Complete {
					t.Error("Complete = true; want false")
				}
				log := logs.String()
				for _, want := range []string{"level=ERROR", "tile panicked", "tile=boom", tt.want, "stack="} {
					if !strings.Contains(log, want) {
						t.Errorf("log %q; want it to contain %q", log, want)
					}
				}
				if got := strings.Count(log, "tile panicked"); got != 1 {
					t.Errorf("%d panics logged; want 1", got)
				}

				// The aggregator is still usable after a panic.
				if got := a.Page(t.Context(), tiles.Request{}).Tiles["after"].Status; got != aggregator.StatusOK {
					t.Errorf("after a panic, next page's tile status = %q; want ok", got)
				}
			})
		})
	}
}

func TestClientCancellation(t *testing.T) {
	for _, mode := range []string{"Page", "Stream"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var cancelled atomic.Int32
				a := mustNew(t, aggregator.Options{TileTimeout: 10 * time.Second},
					sleeper("fast", 10*time.Millisecond, &cancelled),
					sleeper("slow", time.Second, &cancelled),
					sleeper("slower", 3*time.Second, &cancelled),
				)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()

				start := time.Now()
				var (
					results []aggregator.Result
					sum     aggregator.Summary
					err     error
					done    = make(chan struct{})
				)
				go func() {
					defer close(done)
					if mode == "Page" {
						p := a.Page(ctx, tiles.Request{})
						results, sum = p.Results, p.Summary
						return
					}
					sum, err = a.Stream(ctx, tiles.Request{}, func(r aggregator.Result) error {
						results = append(results, r)
						return nil
					})
				}()

				time.Sleep(50 * time.Millisecond)
				cancel()
				synctest.Wait()
				select {
				case <-done:
				default:
					t.Fatalf("%s still running after the client went away", mode)
				}
				if got, want := time.Since(start), 50*time.Millisecond; got != want {
					t.Errorf("%s returned after %v; want %v", mode, got, want)
				}
				if err != nil {
					t.Errorf("Stream error = %v; want nil (emit never failed)", err)
				}
				if got, want := cancelled.Load(), int32(2); got != want {
					t.Errorf("%d fetches saw ctx.Done; want %d (every fetch still running)", got, want)
				}
				if got, want := len(results), 3; got != want {
					t.Fatalf("%d results; want %d", got, want)
				}
				for _, r := range results {
					want := aggregator.StatusError
					if r.Name == "fast" {
						want = aggregator.StatusOK
					}
					if r.Status != want {
						t.Errorf("%s status = %q (%s); want %q", r.Name, r.Status, r.Error, want)
					}
					if want == aggregator.StatusError && !strings.HasPrefix(r.Error, r.Name+": cancelled") {
						t.Errorf("%s error = %q; want %q", r.Name, r.Error, r.Name+": cancelled...")
					}
				}
				if sum.Complete || sum.ElapsedMS != 50 {
					t.Errorf("summary = %+v; want incomplete in 50ms", sum)
				}
			})
			goleak.VerifyNone(t)
		})
	}

	t.Run("before the page", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var cancelled atomic.Int32
			a := mustNew(t, aggregator.Options{}, sleeper("a", time.Second, &cancelled), sleeper("b", time.Second, &cancelled))
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			start := time.Now()
			p := a.Page(ctx, tiles.Request{})
			if got := time.Since(start); got != 0 {
				t.Errorf("Page took %v; want 0", got)
			}
			if got := cancelled.Load(); got != 2 {
				t.Errorf("%d fetches saw ctx.Done; want 2", got)
			}
			for _, r := range p.Results {
				if r.Status != aggregator.StatusError {
					t.Errorf("%s status = %q; want error", r.Name, r.Status)
				}
			}
		})
	})
}

func TestStreamCompletionOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		latency := map[string]time.Duration{
			"a": 30 * time.Millisecond, "b": 10 * time.Millisecond,
			"c": 20 * time.Millisecond, "d": 0,
		}
		a := mustNew(t, aggregator.Options{},
			sleeper("a", latency["a"], nil), sleeper("b", latency["b"], nil),
			sleeper("c", latency["c"], nil), sleeper("d", latency["d"], nil),
		)
		start := time.Now()
		var order []string
		sum, err := a.Stream(t.Context(), tiles.Request{}, func(r aggregator.Result) error {
			order = append(order, r.Name)
			// Each result is emitted as soon as its tile is done.
			if got, want := time.Since(start), latency[r.Name]; got != want {
				t.Errorf("%s emitted at %v; want %v", r.Name, got, want)
			}
			if r.Status != aggregator.StatusOK {
				t.Errorf("%s status = %q; want ok", r.Name, r.Status)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Stream = %v; want nil", err)
		}
		if want := []string{"d", "b", "c", "a"}; !slices.Equal(order, want) {
			t.Errorf("emit order = %v; want %v (completion order)", order, want)
		}
		if want := (aggregator.Summary{ElapsedMS: 30, Complete: true}); sum != want {
			t.Errorf("summary = %+v; want %+v", sum, want)
		}
	})
}

func TestStreamEmitError(t *testing.T) {
	errGone := errors.New("client went away")
	tests := []struct {
		name      string
		failAt    int           // emit call that fails, from 1
		wantTime  time.Duration // when Stream returns
		cancelled int32         // fetches that see ctx.Done
	}{
		{"first", 1, 10 * time.Millisecond, 2},
		{"second", 2, 100 * time.Millisecond, 1},
		{"last", 3, 200 * time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var cancelled atomic.Int32
				a := mustNew(t, aggregator.Options{},
					sleeper("slow", 200*time.Millisecond, &cancelled),
					sleeper("mid", 100*time.Millisecond, &cancelled),
					sleeper("fast", 10*time.Millisecond, &cancelled),
				)
				calls := 0
				start := time.Now()
				sum, err := a.Stream(t.Context(), tiles.Request{}, func(aggregator.Result) error {
					calls++
					if calls == tt.failAt {
						return fmt.Errorf("writing tile: %w", errGone)
					}
					return nil
				})
				if !errors.Is(err, errGone) {
					t.Errorf("Stream error = %v; want %v", err, errGone)
				}
				if calls != tt.failAt {
					t.Errorf("emit called %d times; want %d (none after it failed)", calls, tt.failAt)
				}
				if got := time.Since(start); got != tt.wantTime {
					t.Errorf("Stream returned after %v; want %v", got, tt.wantTime)
				}
				if got := cancelled.Load(); got != tt.cancelled {
					t.Errorf("%d fetches saw ctx.Done; want %d", got, tt.cancelled)
				}
				if got, want := sum.ElapsedMS, msOf(tt.wantTime); got != want {
					t.Errorf("summary ElapsedMS = %v; want %v", got, want)
				}
				if want := tt.cancelled == 0; sum.Complete != want {
					t.Errorf("summary Complete = %v; want %v", sum.Complete, want)
				}
			})
		})
	}
}

func TestPageTimeout(t *testing.T) {
	tests := []struct {
		name     string
		tile     time.Duration
		page     time.Duration
		wantTime time.Duration
		wantErr  map[string]string // per timed-out tile
	}{
		{"page shorter", 500 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, map[string]string{
			"mid":  "mid: no answer within the page deadline of 200ms",
			"slow": "slow: no answer within the page deadline of 200ms",
		}},
		{"page longer", 500 * time.Millisecond, time.Second, 500 * time.Millisecond, map[string]string{
			"slow": "slow: no answer within 500ms",
		}},
		{"no page timeout", 250 * time.Millisecond, 0, 250 * time.Millisecond, map[string]string{
			"mid":  "mid: no answer within 250ms",
			"slow": "slow: no answer within 250ms",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := mustNew(t, aggregator.Options{TileTimeout: tt.tile, PageTimeout: tt.page},
					sleeper("fast", 50*time.Millisecond, nil),
					sleeper("mid", 300*time.Millisecond, nil),
					sleeper("slow", 5*time.Second, nil),
				)
				start := time.Now()
				p := a.Page(t.Context(), tiles.Request{})
				if got := time.Since(start); got != tt.wantTime {
					t.Errorf("Page took %v; want %v", got, tt.wantTime)
				}
				if got := p.ElapsedMS; got != msOf(tt.wantTime) {
					t.Errorf("ElapsedMS = %v; want %v", got, msOf(tt.wantTime))
				}
				for _, r := range p.Results {
					want, late := tt.wantErr[r.Name]
					switch {
					case late && (r.Status != aggregator.StatusTimeout || r.Error != want):
						t.Errorf("%s = %q %q; want timeout %q", r.Name, r.Status, r.Error, want)
					case !late && r.Status != aggregator.StatusOK:
						t.Errorf("%s = %q %q; want ok", r.Name, r.Status, r.Error)
					}
				}
				if p.Complete {
					t.Error("Complete = true; want false")
				}
			})
		})
	}
}

func TestServed(t *testing.T) {
	data := map[string]any{"items": []any{"x"}}
	age := 3 * time.Second
	tests := []struct {
		name      string
		served    *tiles.Served
		want      aggregator.Status
		wantAgeMS *float64
		wantErr   string
	}{
		{"stale", &tiles.Served{Status: "stale", Age: age, Data: data, Cause: errors.New("boom")},
			aggregator.StatusStale, new(3000.0), "cached: boom"},
		{"stale without cause", &tiles.Served{Status: "stale", Age: 1500 * time.Millisecond, Data: data},
			aggregator.StatusStale, new(1500.0), ""},
		{"fallback", &tiles.Served{Status: "fallback", Data: data, Cause: errors.New("cached: backend down")},
			aggregator.StatusFallback, nil, "cached: backend down"},
		{"fallback ignores age", &tiles.Served{Status: "fallback", Age: age, Data: data},
			aggregator.StatusFallback, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := mustNew(t, aggregator.Options{}, serving("cached", tt.served), serving("fresh", "ok data"))
				p := a.Page(t.Context(), tiles.Request{})
				r := p.Tiles["cached"]
				if r.Status != tt.want {
					t.Errorf("status = %q; want %q", r.Status, tt.want)
				}
				switch {
				case tt.wantAgeMS == nil && r.AgeMS != nil:
					t.Errorf("AgeMS = %v; want nil", *r.AgeMS)
				case tt.wantAgeMS != nil && (r.AgeMS == nil || *r.AgeMS != *tt.wantAgeMS):
					t.Errorf("AgeMS = %v; want %v", r.AgeMS, *tt.wantAgeMS)
				}
				if !reflect.DeepEqual(r.Data, data) {
					t.Errorf("data = %#v; want the served data %#v, unwrapped", r.Data, data)
				}
				if r.Error != tt.wantErr {
					t.Errorf("error = %q; want %q", r.Error, tt.wantErr)
				}
				if p.Complete {
					t.Error("Complete = true; want false (only ok counts)")
				}
				if got := p.Tiles["fresh"]; got.Status != aggregator.StatusOK || got.AgeMS != nil {
					t.Errorf("fresh = %q age %v; want ok, no age", got.Status, got.AgeMS)
				}

				b, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				if got, want := m["status"], string(tt.want); got != want {
					t.Errorf("JSON status = %v; want %v", got, want)
				}
				ageJSON, hasAge := m["age_ms"]
				if tt.wantAgeMS == nil && hasAge {
					t.Errorf("JSON %s has age_ms; want none", b)
				}
				if tt.wantAgeMS != nil && ageJSON != *tt.wantAgeMS {
					t.Errorf("JSON age_ms = %v; want %v", ageJSON, *tt.wantAgeMS)
				}
			})
		})
	}
}

func TestObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &fakeObserver{}
		a := mustNew(t, aggregator.Options{Observer: obs},
			sleeper("a", 10*time.Millisecond, nil),
			failing("b", errors.New("down")),
			sleeper("c", 30*time.Millisecond, nil),
		)
		var sums []aggregator.Summary
		for range 2 {
			sums = append(sums, a.Page(t.Context(), tiles.Request{}).Summary)
		}
		sum, err := a.Stream(t.Context(), tiles.Request{}, func(aggregator.Result) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum)
		if _, err := a.Tile(t.Context(), "a", tiles.Request{}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Tile(t.Context(), "nope", tiles.Request{}); err == nil {
			t.Fatal("Tile(nope) = nil error; want one")
		}

		obs.mu.Lock()
		defer obs.mu.Unlock()
		if got, want := obs.started, 3; got != want {
			t.Errorf("PageStarted called %d times; want %d", got, want)
		}
		if !slices.Equal(obs.pages, sums) {
			t.Errorf("PageDone got %+v; want %+v", obs.pages, sums)
		}
		if got, want := len(obs.tiles), 3*3+1; got != want {
			t.Errorf("TileDone called %d times; want %d (3 pages of 3 tiles, 1 single tile)", got, want)
		}
		count := map[string]int{}
		for _, r := range obs.tiles {
			count[r.Name+"/"+string(r.Status)]++
		}
		if want := map[string]int{"a/ok": 4, "b/error": 3, "c/ok": 3}; !maps.Equal(count, want) {
			t.Errorf("TileDone results %v; want %v", count, want)
		}
	})
}

func TestTile(t *testing.T) {
	newAgg := func(calls *atomic.Int32) *aggregator.Aggregator {
		count := func(f *fakeFetcher) *fakeFetcher {
			fn := f.FetchFn
			f.FetchFn = func(ctx context.Context, req tiles.Request) (any, error) {
				calls.Add(1)
				return fn(ctx, req)
			}
			return f
		}
		return mustNew(t, aggregator.Options{TileTimeout: 500 * time.Millisecond},
			count(sleeper("banners", 40*time.Millisecond, nil)),
			count(failing("products", errors.New("down"))),
			count(sleeper("slow", 5*time.Second, nil)),
			count(&fakeFetcher{name: "echo", FetchFn: func(_ context.Context, req tiles.Request) (any, error) {
				return "hello " + req.User, nil
			}}),
		)
	}

	t.Run("unknown", func(t *testing.T) {
		for _, name := range []string{"nope", "", "Banners", strings.Repeat("x", 1000)} {
			var calls atomic.Int32
			a := newAgg(&calls)
			r, err := a.Tile(t.Context(), name, tiles.Request{})
			var e *tiles.Error
			if !errors.As(err, &e) {
				t.Fatalf("Tile(%.20q) error = %T %v; want *tiles.Error", name, err, err)
			}
			if got, want := e.Code, tiles.ENOTFOUND; got != want {
				t.Errorf("Code = %q; want %q", got, want)
			}
			if want := "banners, products, slow, echo"; !strings.Contains(e.Message, want) {
				t.Errorf("message %q; want it to list the known tiles %q", e.Message, want)
			}
			if want := fmt.Sprintf("%q", tiles.Clip(name, 64)); !strings.Contains(e.Message, want) {
				t.Errorf("message %q; want it to name %s", e.Message, want)
			}
			if got, max := len(e.Message), 200; got > max {
				t.Errorf("len(message) = %d; want <= %d", got, max)
			}
			if r != (aggregator.Result{}) {
				t.Errorf("result = %+v; want zero", r)
			}
			if got := calls.Load(); got != 0 {
				t.Errorf("%d fetches; want none for an unknown tile", got)
			}
		}
	})

	tests := []struct {
		name     string
		status   aggregator.Status
		data     any
		errText  string
		wantTime time.Duration
	}{
		{"banners", aggregator.StatusOK, "banners data", "", 40 * time.Millisecond},
		{"products", aggregator.StatusError, nil, "products: down", 0},
		{"slow", aggregator.StatusTimeout, nil, "slow: no answer within 500ms", 500 * time.Millisecond},
		{"echo", aggregator.StatusOK, "hello alice", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int32
				a := newAgg(&calls)
				start := time.Now()
				r, err := a.Tile(t.Context(), tt.name, tiles.Request{User: "alice"})
				if err != nil {
					t.Fatalf("Tile(%q) error = %v; want nil (a tile's failure is its status)", tt.name, err)
				}
				if got := time.Since(start); got != tt.wantTime {
					t.Errorf("Tile took %v; want %v", got, tt.wantTime)
				}
				if r.Name != tt.name || r.Status != tt.status || r.Data != tt.data || r.Error != tt.errText {
					t.Errorf("Tile = {%q %q %v %q}; want {%q %q %v %q}",
						r.Name, r.Status, r.Data, r.Error, tt.name, tt.status, tt.data, tt.errText)
				}
				if got, want := r.ElapsedMS, msOf(tt.wantTime); got != want {
					t.Errorf("ElapsedMS = %v; want %v", got, want)
				}
				if got := calls.Load(); got != 1 {
					t.Errorf("%d fetches; want exactly 1", got)
				}
			})
		})
	}
}

func TestNew(t *testing.T) {
	f := func(name string) tiles.Fetcher { return serving(name, nil) }
	tests := []struct {
		name     string
		fetchers []tiles.Fetcher
		wantErr  string // "" for success
	}{
		{"none", nil, ""},
		{"one", []tiles.Fetcher{f("a")}, ""},
		{"several", []tiles.Fetcher{f("a"), f("b"), f("c")}, ""},
		{"empty name", []tiles.Fetcher{f("a"), f("")}, "tile 1 has no name"},
		{"duplicate", []tiles.Fetcher{f("a"), f("b"), f("a")}, `two tiles named "a"`},
		{"duplicate empty", []tiles.Fetcher{f(""), f("")}, "tile 0 has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := aggregator.New(tt.fetchers, aggregator.Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v; want one containing %q", err, tt.wantErr)
				}
				if a != nil {
					t.Errorf("New = %v with an error; want nil", a)
				}
				return
			}
			if err != nil {
				t.Fatalf("New error = %v; want nil", err)
			}
			var want []string
			for _, f := range tt.fetchers {
				want = append(want, f.Name())
			}
			if got := a.Names(); !slices.Equal(got, want) {
				t.Errorf("Names() = %v; want %v", got, want)
			}
		})
	}
}

func TestTiles(t *testing.T) {
	c := tiles.DefaultCatalogue()
	def := tiles.Builtins()[2]
	a := mustNew(t, aggregator.Options{TileTimeout: 300 * time.Millisecond},
		serving("plain", nil),
		tiles.Simulate(def, c, 120*time.Millisecond, 0.5),
	)
	want := []tiles.Info{
		{Name: "plain", TimeoutMS: 300, URL: "/tiles/plain"},
		{Name: def.Name, LatencyMS: 120, FailRate: 0.5, TimeoutMS: 300, Personalised: true, URL: "/tiles/" + def.Name},
	}
	if got := a.Tiles(); !slices.Equal(got, want) {
		t.Errorf("Tiles() = %+v; want %+v", got, want)
	}
}

func TestPageJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustNew(t, aggregator.Options{},
			&fakeFetcher{name: "banners", FetchFn: func(ctx context.Context, _ tiles.Request) (any, error) {
				if err := tiles.Wait(ctx, 40*time.Millisecond); err != nil {
					return nil, err
				}
				return map[string]any{"items": []string{"sale"}}, nil
			}},
			failing("products", errors.New("down")),
			sleeper("recommendations", 5*time.Second, nil),
		)
		b, err := json.Marshal(a.Page(t.Context(), tiles.Request{}))
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}

		var page map[string]json.RawMessage
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		var keys []string
		for k := range page {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"complete", "elapsed_ms", "tiles"}; !slices.Equal(keys, want) {
			t.Errorf("page keys = %v; want %v (in %s)", keys, want, b)
		}
		if got, want := string(page["elapsed_ms"]), "500"; got != want {
			t.Errorf("elapsed_ms = %s; want %s", got, want)
		}
		if got, want := string(page["complete"]), "false"; got != want {
			t.Errorf("complete = %s; want %s", got, want)
		}

		var ts map[string]map[string]any
		if err := json.Unmarshal(page["tiles"], &ts); err != nil {
			t.Fatalf("tiles is not an object keyed by name: %v (%s)", err, page["tiles"])
		}
		want := map[string]map[string]any{
			"banners": {"name": "banners", "status": "ok", "start_ms": 0.0, "elapsed_ms": 40.0,
				"data": map[string]any{"items": []any{"sale"}}},
			"products": {"name": "products", "status": "error", "start_ms": 0.0, "elapsed_ms": 0.0,
				"error": "products: down"},
			"recommendations": {"name": "recommendations", "status": "timeout", "start_ms": 0.0, "elapsed_ms": 500.0,
				"error": "recommendations: no answer within 500ms"},
		}
		if !reflect.DeepEqual(ts, want) {
			t.Errorf("tiles = %v; want %v", ts, want)
		}
	})
}

func TestConcurrentPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fetches atomic.Int32
		users := &fakeFetcher{name: "user", FetchFn: func(ctx context.Context, req tiles.Request) (any, error) {
			fetches.Add(1)
			if err := tiles.Wait(ctx, 100*time.Millisecond); err != nil {
				return nil, err
			}
			return req.User, nil
		}}
		a := mustNew(t, aggregator.Options{}, users, sleeper("other", 50*time.Millisecond, nil))
		const n = 100
		start := time.Now()
		var wg sync.WaitGroup
		pages := make([]aggregator.Page, n)
		for i := range n {
			wg.Go(func() {
				pages[i] = a.Page(t.Context(), tiles.Request{User: fmt.Sprint("u", i)})
			})
		}
		wg.Wait()
		if got, want := time.Since(start), 100*time.Millisecond; got != want {
			t.Errorf("%d concurrent pages took %v; want %v", n, got, want)
		}
		if got := fetches.Load(); got != n {
			t.Errorf("%d fetches; want %d", got, n)
		}
		for i, p := range pages {
			if got, want := p.Tiles["user"].Data, fmt.Sprint("u", i); got != want || !p.Complete {
				t.Errorf("page %d: user data = %v, complete %v; want %v, true", i, got, p.Complete, want)
			}
		}
	})
}
