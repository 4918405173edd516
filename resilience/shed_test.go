package resilience

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// TestShedAsksNoBackend checks that a shed request (tiles.Request.Shed) is
// answered from what the tile holds, at once, and never reaches the
// backend: a fresh entry; an entry past its TTL within MaxStale, stale and
// without a refresh; else the fallback; else an error wrapping ErrShed.
func TestShedAsksNoBackend(t *testing.T) {
	shed := tiles.Request{Shed: true}
	tests := []struct {
		name       string
		p          Policy
		warm       bool          // a fetch fills the cache first
		age        time.Duration // then this much time passes
		wantStatus tiles.Status
		wantData   string
	}{
		{"fresh", Policy{TTL: time.Minute, MaxStale: time.Hour}, true, 0, tiles.StatusOK, text("v1/")},
		{"stale within the revalidation window", Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute,
			MaxStale: time.Hour}, true, 90 * time.Second, tiles.StatusStale, text("v1/")},
		{"stale within MaxStale", Policy{TTL: time.Minute, MaxStale: time.Hour}, true, 30 * time.Minute,
			tiles.StatusStale, text("v1/")},
		{"past MaxStale: the fallback", Policy{TTL: time.Minute, MaxStale: time.Hour,
			Fallback: tilestest.String("default")}, true, 2 * time.Hour, tiles.StatusFallback, text("default")},
		{"no cache: the fallback", Policy{Fallback: tilestest.String("default")}, false, 0, tiles.StatusFallback,
			text("default")},
		{"direct, no cache: the fallback", Policy{Direct: true, Fallback: tilestest.String("default")}, false, 0,
			tiles.StatusFallback, text("default")},
		{"nothing to serve", Policy{TTL: time.Minute, MaxStale: time.Hour}, false, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBackend(10*time.Millisecond, "v1")
				rec := newRecorder()
				tile := Wrap(b.fetcher("banners"), tt.p, Options{Recorder: rec})
				defer tile.Close()
				if tt.warm {
					if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(tt.age)
				calls := b.Calls()
				start := time.Now()
				got, err := tile.Fetch(t.Context(), shed)
				if took := time.Since(start); took != 0 {
					t.Errorf("took %v; want 0", took)
				}
				switch {
				case tt.wantStatus == "" && !errors.Is(err, ErrShed):
					t.Errorf("got %s %s, error %v; want an error wrapping ErrShed", got.Status, got.Data, err)
				case tt.wantStatus != "" && (err != nil || got.Status != tt.wantStatus || string(got.Data) != tt.wantData):
					t.Errorf("got %s %s, error %v; want %s %s", got.Status, got.Data, err, tt.wantStatus, tt.wantData)
				}
				tile.Wait()
				if got := b.Calls(); got != calls {
					t.Errorf("the backend was called %d times for a shed request; want 0", got-calls)
				}
				if got := rec.Count("Refreshed"); got != 0 {
					t.Errorf("Refreshed: got %d; want 0", got)
				}
			})
		})
	}
}

// TestPageDeadlineIsNotTheBackends checks that fetches cut by their page's
// deadline (tiles.ErrPageDeadline, which a wait in line shortens) do not
// open the breaker, while as many cut by a plain deadline do. The fetches
// run under the caller's context (Direct), as a flight does when no
// detached slot is free.
func TestPageDeadlineIsNotTheBackends(t *testing.T) {
	for _, tt := range []struct {
		name     string
		cause    error
		wantOpen bool
	}{
		{"page deadline", tiles.ErrPageDeadline, false},
		{"another deadline", errors.New("some deadline"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBackend(time.Second, "v")
				p := Policy{BreakerFailures: 3, BreakerOpen: 10 * time.Second, BreakerProbes: 1, Direct: true}
				tile := Wrap(b.fetcher("banners"), p, Options{})
				defer tile.Close()
				for range 3 {
					ctx, cancel := context.WithTimeoutCause(t.Context(), 100*time.Millisecond, tt.cause)
					_, err := tile.Fetch(ctx, tiles.Request{})
					cancel()
					if err == nil {
						t.Fatal("a fetch cut at 100ms answered; want an error")
					}
				}
				if state, _ := tile.Breaker(); (state == BreakerOpen) != tt.wantOpen {
					t.Errorf("breaker %s after 3 fetches cut by a %s; want open: %v", state, tt.name, tt.wantOpen)
				}
			})
		})
	}
}
