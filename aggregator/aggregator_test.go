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
	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

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
				var want []resultView
				for i, d := range tt.latencies {
					name := fmt.Sprintf("tile%d", i)
					fs = append(fs, after(name, d))
					// Every tile starts at once, at 0.
					want = append(want, resultView{Name: name, Status: tiles.StatusOK, Data: string(dataOf(name)), Elapsed: d})
				}
				a := mustNew(t, aggregator.Options{}, fs...)

				start := time.Now()
				p := a.Page(t.Context(), tiles.Request{})
				elapsed := time.Since(start)

				slowest := slices.Max(tt.latencies)
				if elapsed != slowest {
					t.Errorf("Page took %v; want %v (the slowest tile)", elapsed, slowest)
				}
				if want := (aggregator.Summary{Elapsed: slowest, Complete: true}); p.Summary != want {
					t.Errorf("Summary = %+v; want %+v", p.Summary, want)
				}
				if got := viewsOf(p.Results); !slices.Equal(got, want) {
					t.Errorf("Results =\n%+v\nwant (in page order)\n%+v", got, want)
				}
			})
		})
	}
}

func TestPageNoTiles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustNew(t, aggregator.Options{})
		p := a.Page(t.Context(), tiles.Request{})
		if !p.Complete || p.Elapsed != 0 || len(p.Results) != 0 {
			t.Errorf("Page() = %+v; want an empty, complete page in 0s", p)
		}
	})
}

// TestResultOrder checks that Page returns its results in page order
// whatever order the tiles finish in, and that Stream emits them in
// completion order, each as soon as its tile is done, and then returns the
// same page as Page, in page order.
func TestResultOrder(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		latencies []time.Duration // of tiles a, b, c, d in page order
		wantEmit  []string        // completion order
	}{
		{"page order", []time.Duration{0, 10 * ms, 20 * ms, 30 * ms}, []string{"a", "b", "c", "d"}},
		{"reversed", []time.Duration{30 * ms, 20 * ms, 10 * ms, 0}, []string{"d", "c", "b", "a"}},
		{"shuffled", []time.Duration{30 * ms, 10 * ms, 20 * ms, 0}, []string{"d", "b", "c", "a"}},
		{"last first", []time.Duration{10 * ms, 20 * ms, 30 * ms, 5 * ms}, []string{"d", "a", "b", "c"}},
	}
	names := []string{"a", "b", "c", "d"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			latency := map[string]time.Duration{}
			var fs []tiles.Fetcher
			for i, name := range names {
				latency[name] = tt.latencies[i]
				fs = append(fs, after(name, tt.latencies[i]))
			}
			a := mustNew(t, aggregator.Options{}, fs...)

			var page aggregator.Page
			t.Run("Page", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					page = a.Page(t.Context(), tiles.Request{})
					var got []string
					for _, r := range page.Results {
						got = append(got, r.Name)
					}
					if !slices.Equal(got, names) {
						t.Errorf("Page results in order %v; want %v (page order)", got, names)
					}
				})
			})

			t.Run("Stream", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					start := time.Now()
					var emitted []aggregator.Result
					p, err := a.Stream(t.Context(), tiles.Request{}, func(r aggregator.Result) error {
						emitted = append(emitted, r)
						if got, want := time.Since(start), latency[r.Name]; got != want {
							t.Errorf("%s emitted at %v; want %v (as soon as it is done)", r.Name, got, want)
						}
						return nil
					})
					if err != nil {
						t.Fatalf("Stream error = %v; want nil", err)
					}
					var order []string
					for _, r := range emitted {
						order = append(order, r.Name)
					}
					if !slices.Equal(order, tt.wantEmit) {
						t.Errorf("emit order = %v; want %v (completion order)", order, tt.wantEmit)
					}
					// The returned page is Page's: the emitted results,
					// back in page order.
					if got, want := viewsOf(p.Results), viewsOf(page.Results); !slices.Equal(got, want) {
						t.Errorf("Stream page =\n%+v\nwant Page's\n%+v", got, want)
					}
					for _, r := range emitted {
						i := slices.Index(names, r.Name)
						if i < 0 {
							t.Errorf("emitted %+v; want a tile of the page", viewOf(r))
							continue
						}
						if got, want := viewOf(p.Results[i]), viewOf(r); got != want {
							t.Errorf("Stream page Results[%d] = %+v; want the emitted %+v", i, got, want)
						}
					}
					if want := (aggregator.Summary{Elapsed: slices.Max(tt.latencies), Complete: true}); p.Summary != want || page.Summary != want {
						t.Errorf("summaries: Stream %+v, Page %+v; want %+v", p.Summary, page.Summary, want)
					}
				})
			})
		})
	}
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
					countCancelled(after("fast", 40*time.Millisecond), &cancelled),
					countCancelled(after("slow", 5*time.Second), &cancelled),
					countCancelled(after("mid", 100*time.Millisecond), &cancelled),
				)
				for _, info := range a.Tiles() {
					if info.Timeout != tt.want {
						t.Errorf("Tiles(): %s timeout = %v; want %v", info.Name, info.Timeout, tt.want)
					}
				}
				start := time.Now()
				p := a.Page(t.Context(), tiles.Request{})
				if got := time.Since(start); got != tt.want {
					t.Errorf("Page took %v; want the tile timeout %v", got, tt.want)
				}
				if want := (aggregator.Summary{Elapsed: tt.want, Complete: false}); p.Summary != want {
					t.Errorf("Summary = %+v; want %+v", p.Summary, want)
				}
				want := []resultView{
					{Name: "fast", Status: tiles.StatusOK, Data: string(dataOf("fast")), Elapsed: 40 * time.Millisecond},
					{Name: "slow", Status: tiles.StatusTimeout, Cause: fmt.Sprintf("slow: no answer within %s", tt.want), Elapsed: tt.want},
					{Name: "mid", Status: tiles.StatusOK, Data: string(dataOf("mid")), Elapsed: 100 * time.Millisecond},
				}
				if got := viewsOf(p.Results); !slices.Equal(got, want) {
					t.Errorf("Results =\n%+v\nwant\n%+v", got, want)
				}
				if got := cancelled.Load(); got != 1 {
					t.Errorf("%d fetches saw their context end; want 1", got)
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
		{"wrapped", fmt.Errorf("bad: %w", sim.ErrSimulated), "bad: " + sim.ErrSimulated.Error()},
		{"other tile's prefix", errors.New("badge: nope"), "bad: badge: nope"},
		{"tiles.Error", tiles.Errorf(tiles.ENOTFOUND, "upstream 404"), "bad: upstream 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := mustNew(t, aggregator.Options{},
					after("first", 20*time.Millisecond),
					tilestest.Failing("bad", tt.err),
					after("last", 60*time.Millisecond),
				)
				start := time.Now()
				p := a.Page(t.Context(), tiles.Request{})
				if got, want := time.Since(start), 60*time.Millisecond; got != want {
					t.Errorf("Page took %v; want %v (a failure cancels nothing)", got, want)
				}
				want := []resultView{
					{Name: "first", Status: tiles.StatusOK, Data: string(dataOf("first")), Elapsed: 20 * time.Millisecond},
					{Name: "bad", Status: tiles.StatusError, Cause: tt.want},
					{Name: "last", Status: tiles.StatusOK, Data: string(dataOf("last")), Elapsed: 60 * time.Millisecond},
				}
				if got := viewsOf(p.Results); !slices.Equal(got, want) {
					t.Errorf("Results =\n%+v\nwant\n%+v", got, want)
				}
				if cause := p.Results[1].Cause; !errors.Is(cause, tt.err) {
					t.Errorf("bad cause %v does not wrap the fetcher's error %v", cause, tt.err)
				}
				if p.Complete {
					t.Error("Complete = true; want false")
				}
			})
		})
	}
}

// panicsAfter is a tile that panics by calling boom after d.
func panicsAfter(d time.Duration, boom func()) *tilestest.Fetcher {
	return &tilestest.Fetcher{TileName: "boom", FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
		if err := tiles.Wait(ctx, d); err != nil {
			return tiles.Outcome{}, err
		}
		boom()
		return tiles.Fresh(tilestest.String("unreachable")), nil
	}}
}

func TestPagePanickingTile(t *testing.T) {
	tests := []struct {
		name    string
		boom    *tilestest.Fetcher
		elapsed time.Duration
		want    string // in the error and the log
	}{
		{"at once", tilestest.Panicking("boom", "kaboom"), 0, "kaboom"},
		{"string", panicsAfter(30*time.Millisecond, func() { panic("kaboom") }), 30 * time.Millisecond, "kaboom"},
		{"error", panicsAfter(30*time.Millisecond, func() { panic(errors.New("bad state")) }), 30 * time.Millisecond, "bad state"},
		{"runtime error", panicsAfter(30*time.Millisecond, func() {
			var m map[string]int
			m["x"] = 1
		}), 30 * time.Millisecond, "assignment to entry in nil map"},
		{"nil", panicsAfter(30*time.Millisecond, func() { panic(nil) }), 30 * time.Millisecond, "panic called with nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs bytes.Buffer
				logger := slog.New(slog.NewTextHandler(&logs, nil))
				a := mustNew(t, aggregator.Options{Logger: logger},
					after("before", 10*time.Millisecond),
					tt.boom,
					after("after", 50*time.Millisecond),
				)
				p := a.Page(t.Context(), tiles.Request{ID: "req-7"})

				r := viewOf(p.Results[1])
				if r.Cause != "boom: internal error (panic)" { // the cause reaches clients: never the value
					t.Errorf("boom cause = %q; want \"boom: internal error (panic)\"", r.Cause)
				}
				r.Cause = ""
				if want := (resultView{Name: "boom", Status: tiles.StatusError, Elapsed: tt.elapsed}); r != want {
					t.Errorf("boom = %+v; want %+v", r, want)
				}
				for _, r := range []aggregator.Result{p.Results[0], p.Results[2]} {
					if r.Status != tiles.StatusOK {
						t.Errorf("%s status = %q; want ok", r.Name, r.Status)
					}
				}
				if p.Complete {
					t.Error("Complete = true; want false")
				}
				log := logs.String()
				for _, want := range []string{"level=ERROR", "tile panicked", "tile=boom", "request_id=req-7", tt.want, "stack="} {
					if !strings.Contains(log, want) {
						t.Errorf("log %q; want it to contain %q", log, want)
					}
				}
				if got := strings.Count(log, "tile panicked"); got != 1 {
					t.Errorf("%d panics logged; want 1", got)
				}

				// The aggregator is still usable after a panic.
				if got := a.Page(t.Context(), tiles.Request{}).Results[2].Status; got != tiles.StatusOK {
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
					countCancelled(after("fast", 10*time.Millisecond), &cancelled),
					countCancelled(after("slow", time.Second), &cancelled),
					countCancelled(after("slower", 3*time.Second), &cancelled),
				)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()

				start := time.Now()
				var (
					page    aggregator.Page
					emitted []aggregator.Result
					err     error
					done    = make(chan struct{})
				)
				go func() {
					defer close(done)
					if mode == "Page" {
						page = a.Page(ctx, tiles.Request{})
						return
					}
					page, err = a.Stream(ctx, tiles.Request{}, func(r aggregator.Result) error {
						emitted = append(emitted, r)
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
				if mode == "Stream" && len(emitted) != 3 {
					t.Errorf("%d results emitted; want 3", len(emitted))
				}
				want := []resultView{
					{Name: "fast", Status: tiles.StatusOK, Data: string(dataOf("fast")), Elapsed: 10 * time.Millisecond},
					{Name: "slow", Status: tiles.StatusError, Cause: "slow: cancelled: context canceled", Elapsed: 50 * time.Millisecond},
					{Name: "slower", Status: tiles.StatusError, Cause: "slower: cancelled: context canceled", Elapsed: 50 * time.Millisecond},
				}
				if got := viewsOf(page.Results); !slices.Equal(got, want) {
					t.Errorf("Results =\n%+v\nwant\n%+v", got, want)
				}
				for _, r := range page.Results[1:] {
					if !errors.Is(r.Cause, context.Canceled) {
						t.Errorf("%s cause %v; want it to wrap context.Canceled", r.Name, r.Cause)
					}
				}
				if want := (aggregator.Summary{Elapsed: 50 * time.Millisecond, Complete: false}); page.Summary != want {
					t.Errorf("summary = %+v; want %+v", page.Summary, want)
				}
			})
			goleak.VerifyNone(t)
		})
	}

	t.Run("before the page", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var cancelled atomic.Int32
			a := mustNew(t, aggregator.Options{},
				countCancelled(after("a", time.Second), &cancelled),
				countCancelled(after("b", time.Second), &cancelled))
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
				if r.Status != tiles.StatusError {
					t.Errorf("%s status = %q; want error", r.Name, r.Status)
				}
			}
		})
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
					countCancelled(after("slow", 200*time.Millisecond), &cancelled),
					countCancelled(after("mid", 100*time.Millisecond), &cancelled),
					countCancelled(after("fast", 10*time.Millisecond), &cancelled),
				)
				calls := 0
				start := time.Now()
				p, err := a.Stream(t.Context(), tiles.Request{}, func(aggregator.Result) error {
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
				if want := (aggregator.Summary{Elapsed: tt.wantTime, Complete: tt.cancelled == 0}); p.Summary != want {
					t.Errorf("summary = %+v; want %+v", p.Summary, want)
				}
				if got := len(p.Results); got != 3 {
					t.Errorf("%d results in the page; want 3 (the cancelled ones too)", got)
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
	latency := map[string]time.Duration{"fast": 50 * time.Millisecond, "mid": 300 * time.Millisecond, "slow": 5 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var fs []tiles.Fetcher
				var want []resultView
				for _, name := range []string{"fast", "mid", "slow"} {
					fs = append(fs, after(name, latency[name]))
					if cause, late := tt.wantErr[name]; late {
						want = append(want, resultView{Name: name, Status: tiles.StatusTimeout, Cause: cause, Elapsed: tt.wantTime})
					} else {
						want = append(want, resultView{Name: name, Status: tiles.StatusOK, Data: string(dataOf(name)), Elapsed: latency[name]})
					}
				}
				a := mustNew(t, aggregator.Options{TileTimeout: tt.tile, PageTimeout: tt.page}, fs...)
				start := time.Now()
				p := a.Page(t.Context(), tiles.Request{})
				if got := time.Since(start); got != tt.wantTime {
					t.Errorf("Page took %v; want %v", got, tt.wantTime)
				}
				if want := (aggregator.Summary{Elapsed: tt.wantTime, Complete: false}); p.Summary != want {
					t.Errorf("Summary = %+v; want %+v", p.Summary, want)
				}
				if got := viewsOf(p.Results); !slices.Equal(got, want) {
					t.Errorf("Results =\n%+v\nwant\n%+v", got, want)
				}
			})
		})
	}
}

// TestOutcomePassesThrough checks that what a fetcher serves (stale or
// fallback content, its age and cause) reaches the page as it was served,
// its cause prefixed with the tile's name; such a tile does not make the
// page complete. Which statuses show an age is the wire format's business.
func TestOutcomePassesThrough(t *testing.T) {
	data := json.RawMessage(`{"items":["x"]}`)
	age := 3 * time.Second
	down := errors.New("cached: backend down")
	tests := []struct {
		name     string
		served   tiles.Outcome
		want     resultView
		complete bool
	}{
		{"stale", tiles.Outcome{Status: tiles.StatusStale, Age: age, Data: data, Cause: errors.New("boom")},
			resultView{Name: "cached", Status: tiles.StatusStale, Age: age, Data: string(data), Cause: "cached: boom"}, false},
		{"stale without cause", tiles.Outcome{Status: tiles.StatusStale, Age: 1500 * time.Millisecond, Data: data},
			resultView{Name: "cached", Status: tiles.StatusStale, Age: 1500 * time.Millisecond, Data: string(data)}, false},
		{"fallback", tiles.Outcome{Status: tiles.StatusFallback, Data: data, Cause: down},
			resultView{Name: "cached", Status: tiles.StatusFallback, Data: string(data), Cause: "cached: backend down"}, false},
		{"fallback with an age", tiles.Outcome{Status: tiles.StatusFallback, Age: age, Data: data},
			resultView{Name: "cached", Status: tiles.StatusFallback, Age: age, Data: string(data)}, false},
		{"no status is ok", tiles.Outcome{Data: data},
			resultView{Name: "cached", Status: tiles.StatusOK, Data: string(data)}, true},
		{"fresh", tiles.Fresh(data),
			resultView{Name: "cached", Status: tiles.StatusOK, Data: string(data)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := mustNew(t, aggregator.Options{},
					tilestest.Serving("cached", tt.served),
					tilestest.Serving("fresh", tiles.Fresh(dataOf("fresh"))))
				p := a.Page(t.Context(), tiles.Request{})
				if got := viewOf(p.Results[0]); got != tt.want {
					t.Errorf("cached = %+v; want %+v", got, tt.want)
				}
				if tt.served.Cause != nil && !errors.Is(p.Results[0].Cause, tt.served.Cause) {
					t.Errorf("cause %v does not wrap the served cause %v", p.Results[0].Cause, tt.served.Cause)
				}
				if p.Complete != tt.complete {
					t.Errorf("Complete = %v; want %v (only ok counts)", p.Complete, tt.complete)
				}
				want := resultView{Name: "fresh", Status: tiles.StatusOK, Data: string(dataOf("fresh"))}
				if got := viewOf(p.Results[1]); got != want {
					t.Errorf("fresh = %+v; want %+v", got, want)
				}
			})
		})
	}
}

func TestObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &fakeObserver{}
		a := mustNew(t, aggregator.Options{Observer: obs},
			after("a", 10*time.Millisecond),
			tilestest.Failing("b", errors.New("down")),
			after("c", 30*time.Millisecond),
			tilestest.Panicking("d", "kaboom"),
		)
		var sums []aggregator.Summary
		for range 2 {
			sums = append(sums, a.Page(t.Context(), tiles.Request{}).Summary)
		}
		p, err := a.Stream(t.Context(), tiles.Request{}, func(aggregator.Result) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, p.Summary)
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
		if want := (aggregator.Summary{Elapsed: 30 * time.Millisecond}); sums[0] != want {
			t.Errorf("page summary = %+v; want %+v", sums[0], want)
		}
		if got, want := len(obs.tiles), 3*4+1; got != want {
			t.Errorf("TileDone called %d times; want %d (3 pages of 4 tiles, 1 single tile)", got, want)
		}
		count := map[string]int{}
		for _, r := range obs.tiles {
			count[r.Name+"/"+string(r.Status)]++
		}
		if want := map[string]int{"a/ok": 4, "b/error": 3, "c/ok": 3, "d/error": 3}; !maps.Equal(count, want) {
			t.Errorf("TileDone results %v; want %v", count, want)
		}
		// The observer sees each result as the page does, timing included.
		for _, r := range obs.tiles {
			if r.Name == "c" && r.Elapsed != 30*time.Millisecond {
				t.Errorf("TileDone(c) elapsed %v; want 30ms", r.Elapsed)
			}
		}
	})
}

func TestTile(t *testing.T) {
	newAgg := func() (*aggregator.Aggregator, []*tilestest.Fetcher) {
		fs := []*tilestest.Fetcher{
			after("banners", 40*time.Millisecond),
			tilestest.Failing("products", errors.New("down")),
			after("slow", 5*time.Second),
			{TileName: "echo", FetchFn: func(_ context.Context, req tiles.Request) (tiles.Outcome, error) {
				return tiles.Fresh(tilestest.String("hello " + req.User)), nil
			}},
		}
		var tfs []tiles.Fetcher
		for _, f := range fs {
			tfs = append(tfs, f)
		}
		return mustNew(t, aggregator.Options{TileTimeout: 500 * time.Millisecond}, tfs...), fs
	}
	calls := func(fs []*tilestest.Fetcher) int64 {
		var n int64
		for _, f := range fs {
			n += f.Calls()
		}
		return n
	}

	t.Run("unknown", func(t *testing.T) {
		for _, name := range []string{"nope", "", "Banners", strings.Repeat("x", 1000)} {
			a, fs := newAgg()
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
			if !reflect.DeepEqual(r, aggregator.Result{}) {
				t.Errorf("result = %+v; want zero", r)
			}
			if got := calls(fs); got != 0 {
				t.Errorf("%d fetches; want none for an unknown tile", got)
			}
		}
	})

	tests := []resultView{
		{Name: "banners", Status: tiles.StatusOK, Data: string(dataOf("banners")), Elapsed: 40 * time.Millisecond},
		{Name: "products", Status: tiles.StatusError, Cause: "products: down"},
		{Name: "slow", Status: tiles.StatusTimeout, Cause: "slow: no answer within 500ms", Elapsed: 500 * time.Millisecond},
		{Name: "echo", Status: tiles.StatusOK, Data: `"hello alice"`},
	}
	for i, want := range tests {
		t.Run(want.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, fs := newAgg()
				start := time.Now()
				r, err := a.Tile(t.Context(), want.Name, tiles.Request{User: "alice"})
				if err != nil {
					t.Fatalf("Tile(%q) error = %v; want nil (a tile's failure is its status)", want.Name, err)
				}
				if got := time.Since(start); got != want.Elapsed {
					t.Errorf("Tile took %v; want %v", got, want.Elapsed)
				}
				if got := viewOf(r); got != want {
					t.Errorf("Tile = %+v; want %+v", got, want)
				}
				if got := fs[i].Calls(); got != 1 {
					t.Errorf("%d fetches of %s; want exactly 1", got, want.Name)
				}
				if got := calls(fs); got != 1 {
					t.Errorf("%d fetches in all; want exactly 1", got)
				}
			})
		})
	}
}

func TestNew(t *testing.T) {
	f := func(name string) tiles.Fetcher { return tilestest.Serving(name, tiles.Outcome{}) }
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
	def := sim.Builtins()[2]
	s, err := sim.New(def, catalogue.Default(), sim.Backend{Latency: 120 * time.Millisecond, Fail: 0.5, Tail: time.Second, TailRate: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, aggregator.Options{TileTimeout: 300 * time.Millisecond},
		tilestest.Serving("plain", tiles.Outcome{}),
		s,
	)
	want := []tiles.Info{
		{Name: "plain", Timeout: 300 * time.Millisecond},
		{Name: def.Name, Source: "simulator", Latency: 120 * time.Millisecond, FailRate: 0.5, Tail: time.Second, TailRate: 0.01,
			Timeout: 300 * time.Millisecond, Personalised: true},
	}
	if got := a.Tiles(); !slices.Equal(got, want) {
		t.Errorf("Tiles() = %+v; want %+v", got, want)
	}
}

// TestPageResults checks a whole page of mixed tiles: each result carries
// data only when it has some to show and a cause only when it is not ok.
func TestPageResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		items := json.RawMessage(`{"items":["sale"]}`)
		a := mustNew(t, aggregator.Options{},
			tilestest.After("banners", 40*time.Millisecond, items),
			tilestest.Failing("products", errors.New("down")),
			after("recommendations", 5*time.Second),
		)
		p := a.Page(t.Context(), tiles.Request{})
		if want := (aggregator.Summary{Elapsed: 500 * time.Millisecond, Complete: false}); p.Summary != want {
			t.Errorf("Summary = %+v; want %+v", p.Summary, want)
		}
		want := []resultView{
			{Name: "banners", Status: tiles.StatusOK, Data: string(items), Elapsed: 40 * time.Millisecond},
			{Name: "products", Status: tiles.StatusError, Cause: "products: down"},
			{Name: "recommendations", Status: tiles.StatusTimeout, Cause: "recommendations: no answer within 500ms", Elapsed: 500 * time.Millisecond},
		}
		if got := viewsOf(p.Results); !slices.Equal(got, want) {
			t.Errorf("Results =\n%+v\nwant\n%+v", got, want)
		}
		for _, r := range p.Results[1:] {
			if r.Data != nil {
				t.Errorf("%s data = %q; want nil", r.Name, r.Data)
			}
		}
	})
}

func TestConcurrentPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		users := &tilestest.Fetcher{TileName: "user", FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
			if err := tiles.Wait(ctx, 100*time.Millisecond); err != nil {
				return tiles.Outcome{}, err
			}
			return tiles.Fresh(tilestest.String(req.User)), nil
		}}
		a := mustNew(t, aggregator.Options{}, users, after("other", 50*time.Millisecond))
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
		if got := users.Calls(); got != n {
			t.Errorf("%d fetches; want %d", got, n)
		}
		for i, p := range pages {
			if got, want := string(p.Results[0].Data), string(tilestest.String(fmt.Sprint("u", i))); got != want || !p.Complete {
				t.Errorf("page %d: user data = %s, complete %v; want %s, true", i, got, p.Complete, want)
			}
		}
	})
}

// TestPerTileTimeouts: Options.Timeouts gives a tile its own deadline, longer
// or shorter than TileTimeout, said in its timeout message and in Tiles();
// a timeout for a tile that does not exist is refused.
func TestPerTileTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustNew(t, aggregator.Options{TileTimeout: 500 * time.Millisecond,
			Timeouts: map[string]time.Duration{"patient": 2 * time.Second, "hasty": 50 * time.Millisecond}},
			after("patient", time.Second), after("hasty", 100*time.Millisecond), after("plain", 600*time.Millisecond))
		p := a.Page(t.Context(), tiles.Request{})
		want := []resultView{
			{Name: "patient", Status: tiles.StatusOK, Data: string(dataOf("patient")), Elapsed: time.Second},
			{Name: "hasty", Status: tiles.StatusTimeout, Cause: "hasty: no answer within 50ms", Elapsed: 50 * time.Millisecond},
			{Name: "plain", Status: tiles.StatusTimeout, Cause: "plain: no answer within 500ms", Elapsed: 500 * time.Millisecond},
		}
		if got := viewsOf(p.Results); !slices.Equal(got, want) {
			t.Errorf("Results =\n%+v\nwant\n%+v", got, want)
		}
		var got []time.Duration
		for _, info := range a.Tiles() {
			got = append(got, info.Timeout)
		}
		if want := []time.Duration{2 * time.Second, 50 * time.Millisecond, 500 * time.Millisecond}; !slices.Equal(got, want) {
			t.Errorf("Tiles() timeouts = %v; want %v", got, want)
		}
	})
	_, err := aggregator.New([]tiles.Fetcher{after("a", 0)}, aggregator.Options{Timeouts: map[string]time.Duration{"b": time.Second}})
	if err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("a timeout for an unknown tile: New error = %v; want one naming it", err)
	}
}
