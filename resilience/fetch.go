package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"vitrine/tiles"
)

// miss waits for a fresh fetch, shared with every concurrent miss of key,
// and rescues the request if it fails or ctx ends first.
func (t *Tile) miss(ctx context.Context, key string, req tiles.Request) (tiles.Outcome, error) {
	f, ch, led := t.fly(ctx, key, true, func(fctx context.Context) (any, error) {
		// Registered only once singleflight's goroutine runs: until then a
		// Close may pass, and then the fetch is refused rather than joined.
		if !t.work.start() {
			return nil, fmt.Errorf("%s: %w", t.name, ErrClosed)
		}
		defer t.work.done()
		return t.load(ctx, fctx, key, req)
	})
	var cause error
	select {
	case r := <-ch:
		// The flight has landed and left t.flying: its count of waiters
		// no longer matters.
		if !led {
			t.rec.Coalesced(t.name)
			t.noteCache(ctx, cacheCoalesced)
		}
		if r.Err == nil {
			return t.serve(ctx, key, req, r.Val.(landing))
		}
		cause = r.Err
	case <-ctx.Done():
		// The shared fetch goes on for the others and for the cache, unless
		// this was its last waiter and nobody else will read it.
		t.leave(key, f)
		cause = fmt.Errorf("%s: no fresh answer in time: %w", t.name, ctx.Err())
	}
	return t.rescue(ctx, key, cause)
}

// serve answers a miss from what its shared fetch brought back: content
// the shared tier had but which is past its TTL is served stale while a
// refresh runs, as a memory entry would be, or rescued if older still.
func (t *Tile) serve(ctx context.Context, key string, req tiles.Request, l landing) (tiles.Outcome, error) {
	age := time.Since(l.e.at)
	switch {
	case !l.adopted || age < l.e.ttl:
		return tiles.Fresh(l.e.data), nil
	case age < l.e.ttl+t.p.StaleWhileRevalidate:
		t.rec.StaleServed(t.name)
		t.noteCache(ctx, cacheStale)
		t.refresh(ctx, key, req)
		return tiles.Outcome{Data: l.e.data, Status: tiles.StatusStale, Age: age}, nil
	}
	return t.rescue(ctx, key, fmt.Errorf("%s: no fresh answer: another replica is fetching it", t.name))
}

// flight is the tile's record of one singleflight call: who still waits
// for it and how to stop it. Every call is started or joined under t.mu
// together with its record, and a record leaves t.flying (with a Forget)
// under t.mu too. So a record is in t.flying exactly while singleflight
// would let a new caller join its call: whoever finds none starts a fresh
// fetch, never one that was abandoned.
type flight struct {
	ctx     context.Context    // the fetch's own context, detached from every caller's
	cancel  context.CancelFunc // cancels ctx
	waiters int                // misses waiting for the result
	kept    bool               // a background refresh waits too: never abandoned
}

// fly joins the flight of key, or starts one that runs run with the
// flight's context, and reports whether it started it. A miss (waiter)
// joins as one of its waiters; a refresh marks the flight kept, since what
// it fetches is for whoever reads the cached key.
func (t *Tile) fly(ctx context.Context, key string, waiter bool, run func(context.Context) (any, error)) (f *flight, ch <-chan singleflight.Result, led bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, joined := t.flying[key]
	if !joined {
		// WithoutCancel keeps the request's values (trace IDs and the like)
		// but not its cancellation or deadline.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{ctx: fctx, cancel: cancel}
		t.flying[key] = f
	}
	if waiter {
		f.waiters++
	} else {
		f.kept = true
	}
	// Under t.mu with the record: DoChan joins f's call if joined, else it
	// starts this function (no other call for key can be in singleflight).
	ch = t.flights.DoChan(key, func() (any, error) {
		defer t.landed(key, f)
		return run(f.ctx)
	})
	return f, ch, !joined
}

// landed retires f once its fetch has returned, unless it was abandoned
// (and maybe replaced by a fresh flight) already.
func (t *Tile) landed(key string, f *flight) {
	t.mu.Lock()
	if t.flying[key] == f {
		delete(t.flying, key)
		t.flights.Forget(key)
	}
	t.mu.Unlock()
	f.cancel()
}

// leave takes a miss that stopped waiting off f. If it was the last waiter,
// no refresh waits either, and nobody else will read the result (a
// personalised key, or no cache to keep it in), the fetch is cancelled and
// forgotten: a later miss of key starts afresh rather than joining it.
func (t *Tile) leave(key string, f *flight) {
	t.mu.Lock()
	f.waiters--
	abandon := f.waiters == 0 && !f.kept && t.flying[key] == f && (t.p.Personalised || t.cache == nil)
	if abandon {
		delete(t.flying, key)
		t.flights.Forget(key)
	}
	t.mu.Unlock()
	if abandon {
		f.cancel()
		t.rec.Abandoned(t.name)
	}
}

// direct fetches on the caller's goroutine under its context (Policy.Direct).
func (t *Tile) direct(ctx context.Context, key string, req tiles.Request) (tiles.Outcome, error) {
	prior := t.prior(key, &req)
	out, err := t.guarded(ctx, req)
	if err == nil {
		var e *entry
		if e, err = t.settle(key, prior, out); err == nil {
			return tiles.Fresh(e.data), nil
		}
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: no fresh answer in time: %w", t.name, ctx.Err())
	}
	return t.rescue(ctx, key, err)
}

// prior returns the cached entry of key, whatever its age, and sets req's
// validators from it, so that the backend may answer "not modified"
// instead of sending the content again.
func (t *Tile) prior(key string, req *tiles.Request) *entry {
	if t.cache == nil {
		return nil
	}
	e, ok := t.cache.GetIfPresent(key)
	if !ok {
		return nil
	}
	req.Validators = e.Validators
	return e
}

// settle turns a backend's answer to a fetch of key into the entry to serve,
// and caches it for as long as the policy, or the backend when the policy
// lets it (BackendTTL), says. prior is the entry the fetch revalidated, if
// any: a "not modified" answer renews its content.
func (t *Tile) settle(key string, prior *entry, out tiles.Outcome) (*entry, error) {
	e := &entry{data: out.Data, at: time.Now(), ttl: t.p.TTL, Validators: out.Cache.Validators}
	if out.NotModified {
		if prior == nil {
			return nil, fmt.Errorf("%s: the backend answered 304 Not Modified to a request that had nothing to revalidate", t.name)
		}
		t.rec.Revalidated(t.name)
		e.data = prior.data
		if e.Validators == (tiles.Validators{}) {
			e.Validators = prior.Validators
		}
	}
	if t.cache == nil {
		return e, nil
	}
	if t.p.BackendTTL && out.Cache.Set {
		if out.Cache.NoStore {
			t.cache.Invalidate(key) // an older copy must not be served either
			return e, nil
		}
		e.ttl = out.Cache.MaxAge
	}
	t.cache.Set(key, e)
	return e, nil
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
		ctx, span := t.startRefresh(ctx)
		// A miss of the same key in flight is joined rather than
		// duplicated, and kept from being abandoned (its attempts are then
		// under that miss's span). The fetch runs on singleflight's
		// goroutine while this one, counted as background work, waits for
		// it.
		_, ch, _ := t.fly(ctx, key, false, func(fctx context.Context) (any, error) {
			return t.fetchAndStore(fctx, key, req, 0)
		})
		r := <-ch
		endRefresh(span, r.Err)
		t.rec.Refreshed(t.name, r.Err)
		if r.Err != nil {
			t.logger.DebugContext(ctx, "background refresh failed", "tile", t.name, "err", r.Err)
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
// else with cause itself. ctx is the request's, for its span.
func (t *Tile) rescue(ctx context.Context, key string, cause error) (tiles.Outcome, error) {
	if t.cache != nil {
		if e, ok := t.cache.GetIfPresent(key); ok {
			switch age := time.Since(e.at); {
			case age < e.ttl:
				// A fetch (maybe the very one we stopped waiting for)
				// filled the cache meanwhile.
				return tiles.Fresh(e.data), nil
			case age < e.ttl+t.p.MaxStale:
				t.rec.StaleServed(t.name)
				t.noteCache(ctx, cacheStale)
				return tiles.Outcome{Data: e.data, Status: tiles.StatusStale, Age: age, Cause: cause}, nil
			}
		}
	}
	if t.p.Fallback != nil {
		t.rec.FallbackServed(t.name)
		t.noteCache(ctx, cacheFallback)
		return tiles.Outcome{Data: t.p.Fallback, Status: tiles.StatusFallback, Cause: cause}, nil
	}
	return tiles.Outcome{}, cause
}

// load runs the fetch that concurrent misses of key share. It runs under
// detached, the flight's own context, while a detached slot is free: so
// one caller leaving does not cancel it for the others, and a late answer
// still fills the cache (it is cancelled only when its last waiter leaves
// and nobody else will read it; see leave). Past MaxDetached it runs under
// caller, the context of the miss that started it, so that a flood of new
// keys cannot pile up fetches nobody waits for.
func (t *Tile) load(caller, detached context.Context, key string, req tiles.Request) (landing, error) {
	ctx := caller
	if t.detach() {
		defer t.undetach()
		ctx = detached
	}
	return t.fetchAndStore(ctx, key, req, t.p.StaleWhileRevalidate)
}

// landing is what a shared fetch of a key brings back: the entry to serve,
// and whether it came from the shared tier (then it may be stale).
type landing struct {
	e       *entry
	adopted bool
}

// fetchAndStore fetches key from the backend under ctx, bounded by
// FetchTimeout, and caches the result. With a shared tier it first looks
// there: an entry no older than staleOK past its TTL is taken as it is
// (staleOK is 0 for a refresh, which wants fresh content), and a replica
// that lost the key's lease waits for the holder's answer (shared.go).
func (t *Tile) fetchAndStore(ctx context.Context, key string, req tiles.Request, staleOK time.Duration) (landing, error) {
	prior := t.prior(key, &req)
	// A fetch that ended just before this one started may have filled the
	// cache: do not fetch twice.
	if prior != nil && time.Since(prior.at) < prior.ttl {
		return landing{e: prior}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, t.p.FetchTimeout)
	defer cancel()
	var lease string
	if t.shared != nil {
		var l landing
		var done bool
		if l, lease, done = t.fromShared(ctx, key, staleOK); done {
			return l, nil
		}
		prior = t.prior(key, &req) // the shared tier's entry, if it was newer
	}
	out, err := t.guarded(ctx, req)
	if err != nil {
		t.release(ctx, key, lease)
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return landing{}, fmt.Errorf("%s: no answer within the fetch timeout of %s: %w", t.name, t.p.FetchTimeout, ctx.Err())
		}
		return landing{}, err
	}
	e, err := t.settle(key, prior, out)
	if err != nil {
		t.release(ctx, key, lease)
		return landing{}, err
	}
	t.share(ctx, key, e, t.p.BackendTTL && out.Cache.Set && out.Cache.NoStore, lease)
	return landing{e: e}, nil
}
