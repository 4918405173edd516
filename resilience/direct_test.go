package resilience

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// TestDirect checks the cache-off mode: every request is its own backend
// fetch, on the caller's context, so a caller that leaves cancels its fetch.
func TestDirect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(100*time.Millisecond, "v")
		tile := Wrap(b.fetcher("t"), Policy{Direct: true}, Options{})
		defer tile.Close()

		const callers = 50
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got, want := b.Calls(), callers; got != want {
			t.Errorf("backend calls for %d concurrent misses: got %d; want %d (no coalescing)", callers, got, want)
		}

		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := tile.Fetch(ctx, tiles.Request{})
		if err == nil {
			t.Fatal("fetch past the caller's deadline: got no error")
		}
		if got, want := time.Since(start), 30*time.Millisecond; got != want {
			t.Errorf("answered after %v; want %v (the caller's deadline)", got, want)
		}
		synctest.Wait()
		if got := len(b.Cancelled()); got != 1 {
			t.Errorf("backend fetches cancelled with their caller: got %d; want 1", got)
		}
	})
}

// TestDirectFallback checks that the cache-off mode still rescues a failed
// fetch with the fallback.
func TestDirectFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(time.Second, "v")
		p := Policy{Direct: true, Fallback: tilestest.String("default")}
		tile := Wrap(b.fetcher("t"), p, Options{})
		defer tile.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		got, err := tile.Fetch(ctx, tiles.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tiles.StatusFallback || string(got.Data) != text("default") {
			t.Errorf("got %s %s; want the fallback %s", got.Status, got.Data, text("default"))
		}
		if !errors.Is(got.Cause, context.DeadlineExceeded) {
			t.Errorf("cause: got %v; want one wrapping the caller's deadline", got.Cause)
		}
	})
}

// TestBreakerIgnoresCallersLeaving checks that fetches cancelled because
// their caller went away do not open the breaker: they say nothing about
// the backend.
func TestBreakerIgnoresCallersLeaving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(100*time.Millisecond, "v")
		tile := Wrap(b.fetcher("t"), Policy{Direct: true, BreakerFailures: 2}, Options{})
		defer tile.Close()
		for range 5 {
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				time.Sleep(10 * time.Millisecond)
				cancel()
			}()
			if _, err := tile.Fetch(ctx, tiles.Request{}); err == nil {
				t.Fatal("fetch whose caller left: got no error")
			}
		}
		if _, err := tile.Fetch(t.Context(), tiles.Request{}); err != nil {
			t.Errorf("fetch after 5 callers left: %v; want the breaker still closed", err)
		}
		if got, want := b.Calls(), 6; got != want {
			t.Errorf("backend calls: got %d; want %d", got, want)
		}
	})
}
