package resilience

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"

	"vitrine/tiles"
)

// DefaultFetchTimeout bounds a fetch that no caller owns when
// Policy.FetchTimeout is 0.
const DefaultFetchTimeout = 2 * time.Second

// coalescer makes concurrent misses of a key share one fetch through the
// rest of the chain, a flight (golang.org/x/sync/singleflight). A flight
// runs under its own context, detached from every caller's (it keeps their
// values, such as the trace): one caller leaving does not cancel it for
// the others, and a late answer still fills the cache. It is bounded by
// FetchTimeout, and cancelled when its last waiter leaves if nobody else
// would read its answer (abandon: a personalised key, or no cache). Past
// MaxDetached detached fetches, a flight runs under the context of the miss
// that started it. A background refresh (refreshKey) joins or starts a
// flight that is kept: never abandoned.
type coalescer struct {
	base
	cache        *otter.Cache[string, *entry] // nil without a cache
	work         *background
	personalised bool
	abandon      bool // a flight nobody waits for has no use
	timeout      time.Duration

	flights singleflight.Group
	mu      sync.Mutex
	flying  map[string]*flight // keys with a call in flights, and who waits
}

// flight is the coalescer's record of one singleflight call: who still
// waits for it and how to stop it. Every call is started or joined under
// c.mu together with its record, and a record leaves c.flying (with a
// Forget) under c.mu too. So a record is in c.flying exactly while
// singleflight would let a new caller join its call: whoever finds none
// starts a fresh fetch, never one that was abandoned.
type flight struct {
	ctx     context.Context    // the fetch's own context
	cancel  context.CancelFunc // cancels ctx
	waiters int                // misses waiting for the result
	kept    bool               // a refresh waits too: never abandoned
}

func (c *coalescer) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	key := cacheKey(c.personalised, req)
	if isRefresh(ctx) {
		// The refresh, background work already, waits for the flight
		// whatever its context says.
		_, ch, _ := c.fly(ctx, key, false, func(fctx context.Context) (tiles.Outcome, error) {
			return c.land(fctx, key, req)
		})
		return result(<-ch)
	}
	f, ch, led := c.fly(ctx, key, true, func(fctx context.Context) (tiles.Outcome, error) {
		// Registered only once singleflight's goroutine runs: until then a
		// Close may pass, and then the fetch is refused rather than joined.
		if !c.work.start() {
			return tiles.Outcome{}, fmt.Errorf("%s: %w", c.name, ErrClosed)
		}
		defer c.work.done()
		if c.work.detach() {
			defer c.work.undetach()
			return c.land(fctx, key, req)
		}
		return c.land(ctx, key, req)
	})
	select {
	case r := <-ch:
		if !led {
			c.rec.Coalesced(c.name)
			c.note(ctx, cacheCoalesced)
		}
		return result(r)
	case <-ctx.Done():
		// The flight goes on for the others and for the cache, unless this
		// was its last waiter and nobody else will read it.
		c.leave(key, f)
		return tiles.Outcome{}, fmt.Errorf("%s: no fresh answer in time: %w", c.name, ctx.Err())
	}
}

// result is a flight's answer.
func result(r singleflight.Result) (tiles.Outcome, error) {
	out, _ := r.Val.(tiles.Outcome)
	return out, r.Err
}

// land fetches key through the rest of the chain within FetchTimeout,
// unless a flight that landed just before this one started filled the
// cache: a key is not fetched twice.
func (c *coalescer) land(ctx context.Context, key string, req tiles.Request) (tiles.Outcome, error) {
	if c.cache != nil {
		if e, ok := c.cache.GetIfPresent(key); ok && time.Since(e.at) < e.ttl {
			return tiles.Fresh(e.data), nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.next.Fetch(ctx, req)
	switch {
	case err == nil:
		return out, nil
	case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		return tiles.Outcome{}, fmt.Errorf("%s: no answer within the fetch timeout of %s: %w", c.name, c.timeout, ctx.Err())
	}
	return tiles.Outcome{}, err
}

// fly joins the flight of key, or starts one that runs run with the
// flight's context, and reports whether it started it. A miss (waiter)
// joins as one of its waiters; a refresh marks the flight kept, since what
// it fetches is for whoever reads the cached key.
func (c *coalescer) fly(ctx context.Context, key string, waiter bool, run func(context.Context) (tiles.Outcome, error),
) (f *flight, ch <-chan singleflight.Result, led bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, joined := c.flying[key]
	if !joined {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{ctx: fctx, cancel: cancel}
		if c.flying == nil {
			c.flying = map[string]*flight{}
		}
		c.flying[key] = f
	}
	if waiter {
		f.waiters++
	} else {
		f.kept = true
	}
	// Under c.mu with the record: DoChan joins f's call if joined, else it
	// starts this function (no other call for key can be in singleflight).
	ch = c.flights.DoChan(key, func() (any, error) {
		defer c.retire(key, f)
		return run(f.ctx)
	})
	return f, ch, !joined
}

// retire forgets f once its fetch has returned, unless it was abandoned
// (and maybe replaced by a fresh flight) already.
func (c *coalescer) retire(key string, f *flight) {
	c.mu.Lock()
	if c.flying[key] == f {
		delete(c.flying, key)
		c.flights.Forget(key)
	}
	c.mu.Unlock()
	f.cancel()
}

// leave takes a miss that stopped waiting off f. If it was the last waiter,
// no refresh waits either, and nobody else will read the result (abandon),
// the fetch is cancelled and forgotten: a later miss of key starts afresh
// rather than joining it.
func (c *coalescer) leave(key string, f *flight) {
	c.mu.Lock()
	f.waiters--
	abandon := c.abandon && f.waiters == 0 && !f.kept && c.flying[key] == f
	if abandon {
		delete(c.flying, key)
		c.flights.Forget(key)
	}
	c.mu.Unlock()
	if abandon {
		f.cancel()
		c.rec.Abandoned(c.name)
	}
}

// direct stands in for the coalescer with Policy.Direct: each miss fetches
// on its caller's goroutine, under its context, so a caller that leaves
// cancels its fetch.
type direct struct{ base }

func (d *direct) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	out, err := d.next.Fetch(ctx, req)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%s: no fresh answer in time: %w", d.name, ctx.Err())
	}
	return out, err
}
