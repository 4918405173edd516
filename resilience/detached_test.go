package resilience

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
)

// TestDetachedFetchesAreCapped guards the cap on fetches that outlive their
// callers (Policy.MaxDetached). Without it every miss for a new user starts
// a fetch cut off from its caller, and a flood of unique users piles up
// backend calls that nobody waits for. With one slot, the first miss's fetch
// is detached: the caller that started it leaving does not cancel it for a
// second caller of the same user, and it fills the cache. The second user's
// fetch, past the cap, runs under the context of the caller that started
// it: when that caller leaves, the backend sees the cancellation even
// though another caller still waits. Each user has a second caller that
// stays because a personalised fetch whose last waiter leaves is cancelled
// anyway (TestLastWaiterLeaving): with one caller each, ann's fetch would
// be cancelled too and the test could not tell detached from capped.
func TestDetachedFetchesAreCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(time.Second, "v")
		rec := newRecorder()
		p := Policy{TTL: time.Minute, Personalised: true, MaxDetached: 1}
		tile := Wrap(b.fetcher("recommendations"), p, Options{Recorder: rec})
		defer tile.Close()
		fetch := func(ctx context.Context, user string) <-chan error {
			done := make(chan error, 1)
			go func() {
				_, err := tile.Fetch(ctx, tiles.Request{User: user})
				done <- err
			}()
			return done
		}

		ctxAnn, cancelAnn := context.WithCancel(t.Context())
		defer cancelAnn()
		ann := fetch(ctxAnn, "ann")
		synctest.Wait() // ann's fetch holds the one slot, blocked in the backend
		annStays := fetch(t.Context(), "ann")
		ctxBob, cancelBob := context.WithCancel(t.Context())
		defer cancelBob()
		bob := fetch(ctxBob, "bob")
		synctest.Wait() // bob's fetch found no slot, blocked in the backend
		bobStays := fetch(t.Context(), "bob")
		synctest.Wait() // the callers who stay joined the two fetches
		if got, want := b.Calls(), 2; got != want {
			t.Fatalf("backend calls for two users' misses: got %d; want %d", got, want)
		}
		if got, want := rec.Detaching(), 1; got != want {
			t.Errorf("detached fetches running: got %d; want %d (MaxDetached)", got, want)
		}
		if got, want := rec.Count("DetachedCapped"), 1; got != want {
			t.Errorf("DetachedCapped: got %d; want %d", got, want)
		}

		time.Sleep(10 * time.Millisecond)
		cancelAnn()
		if err := <-ann; !errors.Is(err, context.Canceled) {
			t.Errorf("ann, whose caller left: got %v; want context.Canceled", err)
		}
		synctest.Wait()
		if got := b.Cancelled(); len(got) != 0 {
			t.Errorf("backend calls cancelled once ann's first caller left: %v; want none (ann's fetch is detached)", got)
		}

		cancelBob()
		if err := <-bob; !errors.Is(err, context.Canceled) {
			t.Errorf("bob, whose caller left: got %v; want context.Canceled", err)
		}
		if err := <-bobStays; !errors.Is(err, context.Canceled) {
			t.Errorf("bob's second caller: got %v; want context.Canceled (the capped fetch ran under the first caller's context)", err)
		}
		synctest.Wait()
		if got := b.Cancelled(); len(got) != 1 || !errors.Is(got[0], context.Canceled) {
			t.Errorf("backend calls cancelled once bob's first caller left: %v; want bob's, with context.Canceled", got)
		}

		// ann's detached fetch ran to its end, answered the caller who
		// stayed and filled the cache.
		if err := <-annStays; err != nil {
			t.Errorf("ann's second caller: %v", err)
		}
		tile.Wait()
		got, err := tile.Fetch(t.Context(), tiles.Request{User: "ann"})
		if err != nil || got.Status != tiles.StatusOK || string(got.Data) != text("v/ann") {
			t.Errorf("ann after the detached fetch: got %s %s, %v; want fresh %s", got.Status, got.Data, err, text("v/ann"))
		}
		checkCounts(t, "at the end", []count{
			{"CacheHit", rec.Count("CacheHit"), 1},
			{"backend calls", b.Calls(), 2},
			{"DetachedCapped", rec.Count("DetachedCapped"), 1},
			{"Detached(1)", rec.Count("DetachedStarted"), 1},
			{"Detached(-1)", rec.Count("DetachedEnded"), 1},
			{"detached fetches running", rec.Detaching(), 0},
			{"Abandoned (a caller stayed for each user)", rec.Count("Abandoned"), 0},
		})
	})
}

// TestRefreshSkippedPastMaxDetached guards the cap on background refreshes,
// which outlive the request that triggers them and so need a detached slot
// too. With none free, the entry is still served stale at once, but no
// refresh is made (before the cap, every stale read of a new key started
// one); a later stale read, once a slot is free, refreshes it.
func TestRefreshSkippedPastMaxDetached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBackend(0, "v1")
		rec := newRecorder()
		p := Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute, MaxStale: 10 * time.Minute, Personalised: true, MaxDetached: 1}
		tile := Wrap(b.fetcher("recommendations"), p, Options{Recorder: rec})
		defer tile.Close()
		if _, err := tile.Fetch(t.Context(), tiles.Request{User: "ann"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(90 * time.Second) // past the TTL, within the revalidation window

		b.set(time.Second, "v2", nil)
		bob := make(chan error, 1)
		go func() {
			_, err := tile.Fetch(t.Context(), tiles.Request{User: "bob"})
			bob <- err
		}()
		synctest.Wait() // bob's miss holds the one slot for a second

		start := time.Now()
		got, err := tile.Fetch(t.Context(), tiles.Request{User: "ann"})
		if err != nil || got.Status != tiles.StatusStale || string(got.Data) != text("v1/ann") || got.Age != 90*time.Second || got.Cause != nil {
			t.Errorf("ann with no slot free: got %s %s aged %s, cause %v, %v; want stale %s aged 90s", got.Status, got.Data, got.Age, got.Cause, err, text("v1/ann"))
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("stale read took %s; want 0", took)
		}
		synctest.Wait()
		if got, want := b.Calls(), 2; got != want {
			t.Errorf("backend calls: got %d; want %d (ann's first fetch and bob's; no refresh)", got, want)
		}
		if got, want := rec.Count("DetachedCapped"), 1; got != want {
			t.Errorf("DetachedCapped: got %d; want %d", got, want)
		}
		if err := <-bob; err != nil {
			t.Fatalf("bob: %v", err)
		}
		tile.Wait()
		if got := rec.Count("Refreshed"); got != 0 {
			t.Errorf("Refreshed while no slot was free: got %d; want 0", got)
		}

		// The slot is free again: the next stale read refreshes.
		if got, err := tile.Fetch(t.Context(), tiles.Request{User: "ann"}); err != nil || got.Status != tiles.StatusStale {
			t.Errorf("ann with a slot free: got %s %s, %v; want stale", got.Status, got.Data, err)
		}
		tile.Wait()
		got, err = tile.Fetch(t.Context(), tiles.Request{User: "ann"})
		if err != nil || got.Status != tiles.StatusOK || string(got.Data) != text("v2/ann") {
			t.Errorf("ann after the refresh: got %s %s, %v; want fresh %s", got.Status, got.Data, err, text("v2/ann"))
		}
		checkCounts(t, "at the end", []count{
			{"backend calls", b.Calls(), 3},
			{"Refreshed", rec.Count("Refreshed"), 1},
			{"DetachedCapped", rec.Count("DetachedCapped"), 1},
			{"Detached(1)", rec.Count("DetachedStarted"), 3},
			{"Detached(-1)", rec.Count("DetachedEnded"), 3},
			{"detached fetches running", rec.Detaching(), 0},
		})
	})
}
