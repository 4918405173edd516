package resilience

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// scripted is a fake backend whose nth call (from 0) waits latencies[n]
// (the last one repeating) and then answers "attempt n" (a JSON string), or
// err if set. It keeps how each call ended.
type scripted struct {
	mu        sync.Mutex
	latencies []time.Duration
	err       error
	calls     int
	ended     []error // per call: nil, or the ctx error that cut it short
}

func (s *scripted) fetcher() *tilestest.Fetcher {
	return &tilestest.Fetcher{
		TileName: "recommendations",
		FetchFn: func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
			s.mu.Lock()
			n := s.calls
			s.calls++
			s.ended = append(s.ended, nil)
			latency := s.latencies[min(n, len(s.latencies)-1)]
			fail := s.err
			s.mu.Unlock()
			err := tiles.Wait(ctx, latency)
			s.mu.Lock()
			s.ended[n] = err
			s.mu.Unlock()
			if err != nil {
				return tiles.Outcome{}, fmt.Errorf("recommendations: %w", err)
			}
			if fail != nil {
				return tiles.Outcome{}, fail
			}
			return tiles.Fresh(tilestest.String(fmt.Sprint("attempt ", n))), nil
		},
	}
}

func (s *scripted) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *scripted) Ended() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.ended...)
}

func TestHedge(t *testing.T) {
	const delay = 50 * time.Millisecond
	tests := []struct {
		name       string
		latencies  []time.Duration // of the first attempt, then the hedge
		wantCalls  int
		wantData   string
		wantTook   time.Duration
		wantWon    int
		wantLoser  int // index of the attempt that must end cancelled; -1 for none
		wantHedged int
	}{
		{"fast answer is not hedged", []time.Duration{40 * time.Millisecond}, 1, "attempt 0", 40 * time.Millisecond, 0, -1, 0},
		{"hedge wins", []time.Duration{time.Second, 10 * time.Millisecond}, 2, "attempt 1", delay + 10*time.Millisecond, 1, 0, 1},
		{"first attempt wins after all", []time.Duration{80 * time.Millisecond, time.Second}, 2, "attempt 0", 80 * time.Millisecond, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &scripted{latencies: tt.latencies}
				rec := newRecorder()
				tile := Wrap(s.fetcher(), Policy{HedgeDelay: delay, HedgeCap: 1}, Options{Recorder: rec})
				defer tile.Close()

				var got tiles.Outcome
				var err error
				var took time.Duration
				done := make(chan struct{})
				go func() {
					defer close(done)
					start := time.Now()
					got, err = tile.Fetch(t.Context(), tiles.Request{User: "ann"})
					took = time.Since(start)
				}()
				time.Sleep(delay - time.Nanosecond)
				synctest.Wait()
				if got := s.Calls(); got != 1 {
					t.Fatalf("calls just before the hedge delay: got %d; want 1", got)
				}
				<-done
				if err != nil || got.Status != tiles.StatusOK || string(got.Data) != text(tt.wantData) {
					t.Errorf("got %s %s, %v; want fresh %s", got.Status, got.Data, err, text(tt.wantData))
				}
				if took != tt.wantTook {
					t.Errorf("took %s; want %s", took, tt.wantTook)
				}
				tile.Wait() // the loser has stopped
				if got := s.Calls(); got != tt.wantCalls {
					t.Errorf("calls: got %d; want %d", got, tt.wantCalls)
				}
				for i, e := range s.Ended() {
					if wantCancelled := i == tt.wantLoser; wantCancelled != errors.Is(e, context.Canceled) {
						t.Errorf("attempt %d ended with %v; want cancelled: %t", i, e, wantCancelled)
					}
				}
				if got := rec.Count("HedgeStarted"); got != tt.wantHedged {
					t.Errorf("HedgeStarted: got %d; want %d", got, tt.wantHedged)
				}
				if got := rec.Count("HedgeWon"); got != tt.wantWon {
					t.Errorf("HedgeWon: got %d; want %d", got, tt.wantWon)
				}
			})
		})
	}
}

func TestHedgeBothFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{latencies: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}, err: errBackend}
		tile := Wrap(s.fetcher(), Policy{HedgeDelay: 50 * time.Millisecond, HedgeCap: 1}, Options{})
		defer tile.Close()
		start := time.Now()
		_, err := tile.Fetch(t.Context(), tiles.Request{})
		// The first failure does not end the fetch while the hedge may
		// still succeed: the answer comes when both have failed.
		if !errors.Is(err, errBackend) || time.Since(start) != 150*time.Millisecond {
			t.Errorf("got %v after %s; want the backend's error after 150ms", err, time.Since(start))
		}
	})
}

func TestHedgeCap(t *testing.T) {
	tests := []struct {
		cap        float64
		fetches    int
		wantHedged int
	}{
		{0.10, 200, 20},
		{0.25, 200, 50},
		{0.05, 10, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("cap %g over %d fetches", tt.cap, tt.fetches), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Every fetch is slow enough to be hedged: only the cap stops it.
				s := &scripted{latencies: []time.Duration{100 * time.Millisecond}}
				rec := newRecorder()
				tile := Wrap(s.fetcher(), Policy{HedgeDelay: 10 * time.Millisecond, HedgeCap: tt.cap}, Options{Recorder: rec})
				defer tile.Close()
				for range tt.fetches {
					if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
						t.Fatal(err)
					}
				}
				tile.Wait()
				if got := rec.Count("HedgeStarted"); got != tt.wantHedged {
					t.Errorf("hedges: got %d; want %d (%g of %d)", got, tt.wantHedged, tt.cap, tt.fetches)
				}
				if got, want := s.Calls(), tt.fetches+tt.wantHedged; got != want {
					t.Errorf("backend calls: got %d; want %d", got, want)
				}
			})
		})
	}
}

func TestAdaptiveHedgeDelay(t *testing.T) {
	const lo, hi = 30 * time.Millisecond, 500 * time.Millisecond
	ms := time.Millisecond
	repeat := func(n int, d time.Duration) []time.Duration {
		ds := make([]time.Duration, n)
		for i := range ds {
			ds[i] = d
		}
		return ds
	}
	tests := []struct {
		name    string
		samples []time.Duration
		want    time.Duration
	}{
		{"no samples yet: the maximum", nil, hi},
		{"too few samples: the maximum", repeat(minSamples-1, 100*ms), hi},
		{"p95 within bounds", append(repeat(90, 100*ms), repeat(10, 200*ms)...), 200 * ms},
		{"tail under 5% ignored", append(repeat(95, 100*ms), repeat(5, 2000*ms)...), 100 * ms},
		{"clamped to the minimum", repeat(100, ms), lo},
		{"clamped to the maximum", repeat(100, 10*time.Second), hi},
		{"window forgets old samples", append(repeat(windowSize, 400*ms), repeat(windowSize, 50*ms)...), 50 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHedger(Policy{HedgeAdaptive: true, HedgeMin: lo, HedgeMax: hi, HedgeCap: 0.1})
			for _, d := range tt.samples {
				h.observe(d)
			}
			if got := h.delay(); got != tt.want {
				t.Errorf("delay: got %s; want %s", got, tt.want)
			}
		})
	}
}

// TestAdaptiveHedgeFollowsLatency runs fetches through a Tile: once it has
// seen enough 100ms answers, a slow fetch is hedged at the clamped p95.
func TestAdaptiveHedgeFollowsLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var latencies []time.Duration
		for range 30 {
			latencies = append(latencies, 100*time.Millisecond)
		}
		latencies = append(latencies, time.Second, 20*time.Millisecond)
		s := &scripted{latencies: latencies}
		rec := newRecorder()
		p := Policy{HedgeAdaptive: true, HedgeMin: 150 * time.Millisecond, HedgeMax: time.Second, HedgeCap: 1}
		tile := Wrap(s.fetcher(), p, Options{Recorder: rec})
		defer tile.Close()
		for range 30 {
			if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := rec.Count("HedgeStarted"); got != 0 {
			t.Fatalf("hedges while the backend answered in 100ms: got %d; want 0", got)
		}
		start := time.Now()
		got, err := tile.Fetch(t.Context(), tiles.Request{})
		// p95 is 100ms, clamped up to 150ms; the hedge answers 20ms later.
		if took := time.Since(start); err != nil || string(got.Data) != text("attempt 31") || took != 170*time.Millisecond {
			t.Errorf("got %s, %v after %s; want %s after 170ms", got.Data, err, took, text("attempt 31"))
		}
	})
}

// TestAdaptiveHedgeLearnsFromCancelledAttempts guards the adaptive delay
// against a p95 biased low. When a hedge wins, the slow first attempt it
// cancels had run at least until then, and the window must hold that time:
// counting only successful attempts, it held nothing but the hedges' fast
// answers, so the delay fell to HedgeMin although the backend's first
// attempts took a second.
func TestAdaptiveHedgeLearnsFromCancelledAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			slow, fast = time.Second, 10 * time.Millisecond
			lo, hi     = 50 * time.Millisecond, 400 * time.Millisecond
			fetches    = 2 * minSamples
		)
		// The fetches run one after the other and each is hedged (HedgeCap
		// 1): odd calls are first attempts, which are slow, even calls are
		// hedges, which are fast.
		var calls atomic.Int64
		f := &tilestest.Fetcher{TileName: "recommendations", FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
			d := slow
			if calls.Add(1)%2 == 0 {
				d = fast
			}
			if err := tiles.Wait(ctx, d); err != nil {
				return tiles.Outcome{}, fmt.Errorf("recommendations: %w", err)
			}
			return tiles.Fresh(tilestest.String("ok")), nil
		}}
		rec := newRecorder()
		tile := Wrap(f, Policy{HedgeAdaptive: true, HedgeMin: lo, HedgeMax: hi, HedgeCap: 1}, Options{Recorder: rec})
		defer tile.Close()
		for i := range fetches {
			start := time.Now()
			if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
				t.Fatalf("fetch %d: %v", i, err)
			}
			// HedgeMax until minSamples, then the p95 of the window: the
			// first attempts' hi+fast, clamped to hi. A window biased to
			// the fast answers hedges at lo instead.
			if got, want := time.Since(start), hi+fast; got != want {
				t.Fatalf("fetch %d took %s; want %s (hedged at %s, answered %s later)", i, got, want, hi, fast)
			}
		}
		if got := rec.Count("HedgeWon"); got != fetches {
			t.Fatalf("HedgeWon: got %d; want %d", got, fetches)
		}

		h := layerOf[*hedging](t, tile).h
		h.mu.Lock()
		window := slices.Clone(h.window[:h.samples])
		h.mu.Unlock()
		var long int
		for _, d := range window {
			if d >= hi {
				long++
			}
		}
		if long != fetches {
			t.Errorf("samples of at least the hedge delay %s: got %d of %d; want %d, one per cancelled first attempt", hi, long, len(window), fetches)
		}
		if got := percentile(window, 0.95); got < hi {
			t.Errorf("p95 of the window: got %s; want at least the hedge delay %s", got, hi)
		}
		if got := h.delay(); got != hi {
			t.Errorf("delay: got %s; want %s", got, hi)
		}
	})
}

// TestHedgeBacksOffWhenFutile: when fewer than one in ten of the last 20
// hedges won, the adaptive delay falls back to HedgeMax, so hedges stop
// adding load to a saturated backend; a fetch slower than HedgeMax is
// still hedged, and hedges that win turn hedging at the p95 back on.
func TestHedgeBacksOffWhenFutile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := time.Millisecond
		var script []time.Duration
		for range outcomeWindow {
			script = append(script, 150*ms, 300*ms) // first attempt, then a slower hedge
		}
		script = append(script, 150*ms)                                     // futile: not hedged
		script = append(script, 2*time.Second, 10*ms, 2*time.Second, 10*ms) // hedged at HedgeMax, and won
		script = append(script, 150*ms, 300*ms)                             // hedged at the p95 again
		s := &scripted{latencies: script}
		rec := newRecorder()
		tile := Wrap(s.fetcher(), Policy{HedgeAdaptive: true, HedgeMin: 50 * ms, HedgeMax: time.Second, HedgeCap: 1},
			Options{Recorder: rec})
		defer tile.Close()
		h := layerOf[*hedging](t, tile).h
		fetch := func(want time.Duration) {
			t.Helper()
			// A window of 100ms answers: the p95 delay is 100ms.
			for range windowSize {
				h.observe(100 * ms)
			}
			start := time.Now()
			if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took != want {
				t.Errorf("fetch took %s; want %s", took, want)
			}
		}
		for range outcomeWindow {
			fetch(150 * ms)
		}
		if got := rec.Count("HedgeStarted"); got != outcomeWindow {
			t.Fatalf("hedges while they could still win: %d; want %d", got, outcomeWindow)
		}
		fetch(150 * ms)
		if got := rec.Count("HedgeStarted"); got != outcomeWindow {
			t.Errorf("after %d lost hedges: %d hedges; want no more", outcomeWindow, got)
		}
		fetch(time.Second + 10*ms) // hedged at HedgeMax, the hedge wins
		fetch(time.Second + 10*ms)
		if got := rec.Count("HedgeWon"); got != 2 {
			t.Errorf("hedges won at HedgeMax: %d; want 2", got)
		}
		fetch(150 * ms)
		if got := rec.Count("HedgeStarted"); got != outcomeWindow+3 {
			t.Errorf("after 2 wins: %d hedges; want %d (hedging at the p95 again)", got, outcomeWindow+3)
		}
	})
}
