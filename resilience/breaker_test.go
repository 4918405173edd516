package resilience

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

func TestBreaker(t *testing.T) {
	tests := []struct {
		name       string
		probeErr   error // what the backend does when the breaker probes
		wantStates []BreakerState
		wantCalls  int // after the probe and one more fetch
	}{
		{"probe succeeds: closed again", nil,
			[]BreakerState{BreakerClosed, BreakerOpen, BreakerHalfOpen, BreakerClosed}, 5},
		{"probe fails: open again", errBackend,
			[]BreakerState{BreakerClosed, BreakerOpen, BreakerHalfOpen, BreakerOpen}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBackend(0, "v")
				b.set(10*time.Millisecond, "v", errBackend)
				rec := newRecorder()
				p := Policy{BreakerFailures: 3, BreakerOpen: 10 * time.Second, BreakerProbes: 1}
				tile := Wrap(b.fetcher("recommendations"), p, Options{Recorder: rec})
				defer tile.Close()

				for i := range 3 {
					if _, err := tile.Fetch(t.Context(), tiles.Request{}); !errors.Is(err, errBackend) {
						t.Fatalf("fetch %d: got %v; want the backend's error", i, err)
					}
				}
				start := time.Now()
				_, err := tile.Fetch(t.Context(), tiles.Request{})
				if !errors.Is(err, ErrCircuitOpen) || !strings.Contains(err.Error(), "circuit open") {
					t.Errorf("open breaker: got %v; want an error saying circuit open", err)
				}
				if took := time.Since(start); took != 0 {
					t.Errorf("open breaker answered after %s; want at once", took)
				}
				if got, want := b.Calls(), 3; got != want {
					t.Errorf("backend calls while open: got %d; want %d", got, want)
				}

				time.Sleep(10*time.Second + time.Nanosecond)
				b.set(10*time.Millisecond, "v", tt.probeErr)
				_, err = tile.Fetch(t.Context(), tiles.Request{}) // the probe
				if !errors.Is(err, tt.probeErr) {
					t.Errorf("probe: got %v; want %v", err, tt.probeErr)
				}
				_, err = tile.Fetch(t.Context(), tiles.Request{})
				if tt.probeErr == nil && err != nil {
					t.Errorf("after a successful probe: got %v; want content", err)
				}
				if tt.probeErr != nil && !errors.Is(err, ErrCircuitOpen) {
					t.Errorf("after a failed probe: got %v; want circuit open", err)
				}
				if got := b.Calls(); got != tt.wantCalls {
					t.Errorf("backend calls: got %d; want %d", got, tt.wantCalls)
				}
				if got := rec.States(); !slices.Equal(got, tt.wantStates) {
					t.Errorf("breaker states: got %v; want %v", got, tt.wantStates)
				}
			})
		})
	}
}

// TestBreakerHalfOpenLetsOneProbeThrough: while the probe is in flight,
// other keys are refused at once rather than piling onto a sick backend.
func TestBreakerHalfOpenLetsOneProbeThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(0, "v")
		b.set(0, "v", errBackend)
		p := Policy{Personalised: true, BreakerFailures: 1, BreakerOpen: time.Second, BreakerProbes: 1}
		tile := Wrap(b.fetcher("recommendations"), p, Options{})
		defer tile.Close()
		if _, err := tile.Fetch(t.Context(), tiles.Request{User: "ann"}); !errors.Is(err, errBackend) {
			t.Fatalf("got %v; want the backend's error", err)
		}
		time.Sleep(2 * time.Second)
		b.set(100*time.Millisecond, "v", nil)

		users := []string{"a", "b", "c", "d"}
		errs := make([]error, len(users))
		var wg sync.WaitGroup
		for i, u := range users {
			wg.Go(func() { _, errs[i] = tile.Fetch(t.Context(), tiles.Request{User: u}) })
		}
		wg.Wait()
		var ok, open int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrCircuitOpen):
				open++
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if ok != 1 || open != len(users)-1 {
			t.Errorf("got %d through and %d refused; want 1 and %d", ok, open, len(users)-1)
		}
		if got, want := b.Calls(), 2; got != want {
			t.Errorf("backend calls: got %d; want %d", got, want)
		}
	})
}

func TestBreakerOpenServesStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(0, "v1")
		p := Policy{TTL: time.Minute, MaxStale: time.Hour, BreakerFailures: 2, BreakerOpen: time.Minute}
		tile := Wrap(b.fetcher("products"), p, Options{})
		defer tile.Close()
		if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		b.set(0, "", errBackend)
		for range 2 { // stale-on-error, and the breaker opens
			if got, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil || got.Status != tiles.StatusStale {
				t.Fatalf("got %s %s, %v; want stale", got.Status, got.Data, err)
			}
		}
		got, err := tile.Fetch(t.Context(), tiles.Request{})
		if err != nil || got.Status != tiles.StatusStale || string(got.Data) != text("v1/") || got.Age != 2*time.Minute || !errors.Is(got.Cause, ErrCircuitOpen) {
			t.Errorf("got %s %s aged %s caused by %v, %v; want stale %s aged 2m caused by the open circuit", got.Status, got.Data, got.Age, got.Cause, err, text("v1/"))
		}
		if got, want := b.Calls(), 3; got != want {
			t.Errorf("backend calls: got %d; want %d", got, want)
		}
	})
}

func TestPanicBecomesError(t *testing.T) {
	for _, hedge := range []time.Duration{0, time.Millisecond} {
		t.Run("hedge "+hedge.String(), func(t *testing.T) {
			var logs bytes.Buffer
			opts := Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			tile := Wrap(tilestest.Panicking("banners", "secret-internal-detail"),
				Policy{TTL: time.Minute, HedgeDelay: hedge, HedgeCap: 1}, opts)
			defer tile.Close()
			_, err := tile.Fetch(t.Context(), tiles.Request{ID: "req-7"})
			if err == nil || err.Error() != "banners: internal error (panic)" {
				t.Errorf("got %v; want an error naming the tile and a panic, not the panic's value", err)
			}
			for _, want := range []string{"tile panicked", "secret-internal-detail", "request_id=req-7", "stack="} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs = %q; want %q", logs.String(), want)
				}
			}
		})
	}
}
