package resilience

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
)

// fetchInBackground starts tile.Fetch(ctx, req) on its own goroutine and
// returns where its error will be sent.
func fetchInBackground(ctx context.Context, tile *Tile, req tiles.Request) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := tile.Fetch(ctx, req)
		done <- err
	}()
	return done
}

// TestLastWaiterLeaving: a shared fetch outlives the callers that leave
// while another still waits. When the last one leaves, it goes on only if
// someone else will read its answer (a shared key, from the cache); for a
// personalised key, or with no cache, it is cancelled at once, so a flood of
// clients that hang up does not leave a backend call (and its goroutines)
// running per client until FetchTimeout.
func TestLastWaiterLeaving(t *testing.T) {
	tests := []struct {
		name      string
		p         Policy
		abandoned bool
	}{
		{"personalised key: nobody else reads it", Policy{TTL: time.Minute, Personalised: true}, true},
		{"shared key: the answer fills the cache for everyone", Policy{TTL: time.Minute}, false},
		{"no cache: nobody would read it", Policy{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBackend(time.Second, "v")
				rec := newRecorder()
				tile := Wrap(b.fetcher("recommendations"), tt.p, Options{Recorder: rec})
				defer tile.Close()
				req := tiles.Request{User: "ann"}

				ctx1, cancel1 := context.WithCancel(t.Context())
				defer cancel1()
				first := fetchInBackground(ctx1, tile, req)
				synctest.Wait() // the first caller's fetch is in the backend
				ctx2, cancel2 := context.WithCancel(t.Context())
				defer cancel2()
				second := fetchInBackground(ctx2, tile, req)
				synctest.Wait() // the second caller joined it

				time.Sleep(10 * time.Millisecond)
				cancel1()
				if err := <-first; !errors.Is(err, context.Canceled) {
					t.Errorf("first caller: got %v; want context.Canceled", err)
				}
				synctest.Wait()
				if got := b.Cancelled(); len(got) != 0 {
					t.Errorf("backend calls cancelled while a second caller waits: %v; want none", got)
				}

				time.Sleep(10 * time.Millisecond)
				cancel2()
				if err := <-second; !errors.Is(err, context.Canceled) {
					t.Errorf("second caller: got %v; want context.Canceled", err)
				}
				synctest.Wait()
				start := time.Now()
				tile.Wait()
				took := time.Since(start)

				if tt.abandoned {
					if got := b.Cancelled(); len(got) != 1 || !errors.Is(got[0], context.Canceled) {
						t.Errorf("backend calls cancelled once the last caller left: %v; want one, with context.Canceled", got)
					}
					// Nothing is left running: no goroutine waits for the
					// backend until its answer or FetchTimeout.
					if took != 0 {
						t.Errorf("background work ended %s after the last caller left; want at once", took)
					}
				} else {
					if got := b.Cancelled(); len(got) != 0 {
						t.Errorf("backend calls cancelled: %v; want none", got)
					}
					if want := 980 * time.Millisecond; took != want {
						t.Errorf("background work ended %s after the last caller left; want %s, with the backend's answer", took, want)
					}
					got, err := tile.Fetch(t.Context(), req)
					if err != nil || got.Status != tiles.StatusOK || string(got.Data) != text("v/ann") {
						t.Errorf("after the fetch nobody waited for: got %s %s, %v; want fresh %s from the cache", got.Status, got.Data, err, text("v/ann"))
					}
					if got, want := rec.Count("CacheHit"), 1; got != want {
						t.Errorf("CacheHit: got %d; want %d", got, want)
					}
				}
				wantAbandoned := 0
				if tt.abandoned {
					wantAbandoned = 1
				}
				checkCounts(t, "", []count{
					{"backend calls", b.Calls(), 1},
					{"Abandoned", rec.Count("Abandoned"), wantAbandoned},
					{"Detached(1)", rec.Count("DetachedStarted"), 1},
					{"Detached(-1)", rec.Count("DetachedEnded"), 1},
				})
			})
		})
	}
}

// TestMissAfterAbandonStartsAfresh: once a personalised fetch is abandoned,
// the next miss of that user starts a fresh fetch, even while the abandoned
// one has not returned yet (its backend is slow to notice the
// cancellation): joining it would hand the newcomer a cancellation error
// that was never its own.
func TestMissAfterAbandonStartsAfresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(time.Second, "v1")
		b.lingerOnCancel(100 * time.Millisecond)
		rec := newRecorder()
		tile := Wrap(b.fetcher("recommendations"), Policy{TTL: time.Minute, Personalised: true}, Options{Recorder: rec})
		defer tile.Close()
		req := tiles.Request{User: "ann"}

		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		left := fetchInBackground(ctx, tile, req)
		synctest.Wait()
		time.Sleep(10 * time.Millisecond)
		cancel()
		if err := <-left; !errors.Is(err, context.Canceled) {
			t.Errorf("caller who left: got %v; want context.Canceled", err)
		}
		synctest.Wait() // the backend saw the cancellation and lingers
		if got := b.Cancelled(); len(got) != 1 {
			t.Fatalf("backend calls cancelled once the only caller left: %v; want one", got)
		}

		b.set(time.Second, "v2", nil)
		start := time.Now()
		got, err := tile.Fetch(t.Context(), req)
		if took := time.Since(start); err != nil || got.Status != tiles.StatusOK || string(got.Data) != text("v2/ann") || took != time.Second {
			t.Errorf("next caller: got %s %s, %v after %s; want fresh %s after 1s, from a fetch of its own", got.Status, got.Data, err, took, text("v2/ann"))
		}
		tile.Wait()
		checkCounts(t, "", []count{
			{"backend calls", b.Calls(), 2},
			{"Coalesced", rec.Count("Coalesced"), 0},
			{"Abandoned", rec.Count("Abandoned"), 1},
			{"detached fetches running", rec.Detaching(), 0},
		})
	})
}

// TestRefreshIsNeverAbandoned: a background refresh serves a cached key
// that others read, so a miss that joins it and leaves does not cancel it,
// even as the last (and only) waiting caller of a personalised key.
func TestRefreshIsNeverAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(0, "v1")
		rec := newRecorder()
		p := Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute, MaxStale: 10 * time.Minute, Personalised: true}
		tile := Wrap(b.fetcher("recommendations"), p, Options{Recorder: rec})
		defer tile.Close()
		req := tiles.Request{User: "ann"}
		if _, err := tile.Fetch(t.Context(), req); err != nil {
			t.Fatal(err)
		}

		time.Sleep(119 * time.Second) // within the revalidation window
		b.set(2*time.Second, "v2", nil)
		if got, err := tile.Fetch(t.Context(), req); err != nil || got.Status != tiles.StatusStale {
			t.Fatalf("within the revalidation window: got %s %s, %v; want stale", got.Status, got.Data, err)
		}
		synctest.Wait() // the refresh is in the backend until 121s

		// At 120s the entry is past the revalidation window: a miss, which
		// joins the refresh in flight, then leaves.
		time.Sleep(time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		left := make(chan tiles.Outcome, 1)
		go func() {
			got, _ := tile.Fetch(ctx, req)
			left <- got
		}()
		synctest.Wait()
		time.Sleep(10 * time.Millisecond)
		cancel()
		if got := <-left; got.Status != tiles.StatusStale || string(got.Data) != text("v1/ann") || !errors.Is(got.Cause, context.Canceled) {
			t.Errorf("miss that left: got %s %s, cause %v; want stale %s, cause context.Canceled", got.Status, got.Data, got.Cause, text("v1/ann"))
		}

		tile.Wait()
		got, err := tile.Fetch(t.Context(), req)
		if err != nil || got.Status != tiles.StatusOK || string(got.Data) != text("v2/ann") {
			t.Errorf("after the refresh: got %s %s, %v; want fresh %s", got.Status, got.Data, err, text("v2/ann"))
		}
		if got := b.Cancelled(); len(got) != 0 {
			t.Errorf("backend calls cancelled: %v; want none", got)
		}
		checkCounts(t, "", []count{
			{"backend calls", b.Calls(), 2},
			{"CacheMiss", rec.Count("CacheMiss"), 2},
			{"Refreshed", rec.Count("Refreshed"), 1},
			{"RefreshFailed", rec.Count("RefreshFailed"), 0},
			{"Abandoned", rec.Count("Abandoned"), 0},
		})
	})
}
