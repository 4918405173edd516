package resilience

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"vitrine/tiles"
)

// miss waits for a fresh fetch, shared with every concurrent miss of key,
// and rescues the request if it fails or ctx ends first.
func (t *Tile) miss(ctx context.Context, key string, req tiles.Request) (tiles.Outcome, error) {
	var led atomic.Bool // set if this caller's function ran: it started the fetch
	ch := t.flights.DoChan(key, func() (any, error) {
		led.Store(true)
		// Registered only once singleflight's goroutine runs: until then a
		// Close may pass, and then the fetch is refused rather than joined.
		if !t.work.start() {
			return nil, fmt.Errorf("%s: %w", t.name, ErrClosed)
		}
		defer t.work.done()
		return t.load(ctx, key, req)
	})
	var cause error
	select {
	case r := <-ch:
		if !led.Load() {
			t.rec.Coalesced(t.name)
		}
		if r.Err == nil {
			return tiles.Fresh(r.Val.(*entry).data), nil
		}
		cause = r.Err
	case <-ctx.Done():
		// The shared fetch goes on for the others and for the cache.
		cause = fmt.Errorf("%s: no fresh answer in time: %w", t.name, ctx.Err())
	}
	return t.rescue(key, cause)
}

// direct fetches on the caller's goroutine under its context (Policy.Direct).
func (t *Tile) direct(ctx context.Context, key string, req tiles.Request) (tiles.Outcome, error) {
	data, err := t.guarded(ctx, req)
	if err == nil {
		if t.cache != nil {
			t.cache.Set(key, &entry{data: data, at: time.Now()})
		}
		return tiles.Fresh(data), nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: no fresh answer in time: %w", t.name, ctx.Err())
	}
	return t.rescue(key, err)
}

// refresh starts a background fetch of key unless one is already running
// or every detached slot is taken (the entry is then served stale until a
// later request refreshes it), and returns at once. The refresh registers
// as background work before refresh returns, so a Wait or Close that
// follows joins it.
func (t *Tile) refresh(ctx context.Context, key string, req tiles.Request) {
	t.mu.Lock()
	if _, busy := t.refreshing[key]; busy {
		t.mu.Unlock()
		return
	}
	t.refreshing[key] = struct{}{}
	t.mu.Unlock()
	if !t.work.start() {
		t.refreshed(key)
		return
	}
	if !t.detach() {
		t.work.done()
		t.refreshed(key)
		return
	}
	go func() {
		defer t.work.done()
		defer t.refreshed(key)
		defer t.undetach()
		// Do, not DoChan: the fetch runs on this goroutine, already counted
		// as background work, and a miss of the same key in flight is
		// joined rather than duplicated.
		_, err, _ := t.flights.Do(key, func() (any, error) {
			return t.fetchAndStore(context.WithoutCancel(ctx), key, req)
		})
		t.rec.Refreshed(t.name, err)
		if err != nil {
			t.logger.Debug("background refresh failed", "tile", t.name, "err", err)
		}
	}()
}

// refreshed marks the refresh of key as over.
func (t *Tile) refreshed(key string) {
	t.mu.Lock()
	delete(t.refreshing, key)
	t.mu.Unlock()
}

// detach takes a slot for a fetch that may outlive its callers, if one is
// free; undetach gives it back.
func (t *Tile) detach() bool {
	select {
	case t.detached <- struct{}{}:
		t.rec.Detached(t.name, 1)
		return true
	default:
		t.rec.DetachedCapped(t.name)
		return false
	}
}

func (t *Tile) undetach() {
	<-t.detached
	t.rec.Detached(t.name, -1)
}

// rescue answers a request whose fresh fetch failed with cause: from a
// cache entry no older than MaxStale past its TTL, else with the fallback,
// else with cause itself.
func (t *Tile) rescue(key string, cause error) (tiles.Outcome, error) {
	if t.cache != nil {
		if e, ok := t.cache.GetIfPresent(key); ok {
			switch age := time.Since(e.at); {
			case age < t.p.TTL:
				// A fetch (maybe the very one we stopped waiting for)
				// filled the cache meanwhile.
				return tiles.Fresh(e.data), nil
			case age < t.p.TTL+t.p.MaxStale:
				t.rec.StaleServed(t.name)
				return tiles.Outcome{Data: e.data, Status: tiles.StatusStale, Age: age, Cause: cause}, nil
			}
		}
	}
	if t.p.Fallback != nil {
		t.rec.FallbackServed(t.name)
		return tiles.Outcome{Data: t.p.Fallback, Status: tiles.StatusFallback, Cause: cause}, nil
	}
	return tiles.Outcome{}, cause
}

// load runs the fetch that concurrent misses of key share. It is detached
// from every caller (so that one caller leaving does not cancel it for the
// others, and a late answer still fills the cache) while a detached slot is
// free; past MaxDetached it runs under the context of the caller that
// started it, so that a flood of new keys cannot pile up fetches nobody
// waits for.
func (t *Tile) load(parent context.Context, key string, req tiles.Request) (*entry, error) {
	if t.detach() {
		defer t.undetach()
		// WithoutCancel keeps the request's values (trace IDs and the like)
		// but not its cancellation or deadline.
		parent = context.WithoutCancel(parent)
	}
	return t.fetchAndStore(parent, key, req)
}

// fetchAndStore fetches key from the backend under ctx, bounded by
// FetchTimeout, and caches the result.
func (t *Tile) fetchAndStore(ctx context.Context, key string, req tiles.Request) (*entry, error) {
	if t.cache != nil {
		// A fetch that ended just before this one started may have filled
		// the cache: do not fetch twice.
		if e, ok := t.cache.GetIfPresent(key); ok && time.Since(e.at) < t.p.TTL {
			return e, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, t.p.FetchTimeout)
	defer cancel()
	data, err := t.guarded(ctx, req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: no answer within the fetch timeout of %s: %w", t.name, t.p.FetchTimeout, ctx.Err())
		}
		return nil, err
	}
	e := &entry{data: data, at: time.Now()}
	if t.cache != nil {
		t.cache.Set(key, e)
	}
	return e, nil
}
