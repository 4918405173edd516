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

// DefaultFetchTimeout is the default of Policy.FetchTimeout.
const DefaultFetchTimeout = 2 * time.Second

// coalescer makes concurrent misses of a key share one fetch, a flight
// (singleflight), under a context detached from its callers': a late answer
// still fills the cache. It is bounded by FetchTimeout, and cancelled when
// its last waiter leaves if nobody else would read it (abandon), unless a
// refresh keeps it. Past MaxDetached, it runs on its first caller's context.
type coalescer struct {
	base
	cache        *otter.Cache[string, *entry] // nil without a cache
	work         *background
	personalised bool
	abandon      bool
	timeout      time.Duration
	flights      singleflight.Group
	mu           sync.Mutex
	flying       map[string]*flight
}

// flight is the record of a singleflight call, added and removed (with a
// Forget) under c.mu with the call: nobody joins an abandoned flight.
type flight struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int  // misses waiting for the result
	kept    bool // a refresh waits too
}

func (c *coalescer) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	if req.Shed {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", c.name, ErrShed)
	}
	key, refresh := cacheKey(c.personalised, req), isRefresh(ctx)
	f, ch, led := c.fly(ctx, key, req, refresh)
	var r singleflight.Result
	select {
	case r = <-ch:
		if !led && !refresh {
			c.rec.Coalesced(c.name)
			c.note(ctx, cacheCoalesced)
		}
	case <-ctx.Done():
		if !refresh { // a refresh, background work already, waits whatever its context says
			c.leave(key, f)
			return tiles.Outcome{}, fmt.Errorf("%s: no fresh answer in time: %w", c.name, ctx.Err())
		}
		r = <-ch
	}
	out, _ := r.Val.(tiles.Outcome)
	if !led || refresh {
		out.Cookies = nil // another shopper's fetch: its cookies are not this one's
	}
	return out, r.Err
}

// fly joins (a miss waits, a refresh keeps) or starts, and says which.
func (c *coalescer) fly(ctx context.Context, key string, req tiles.Request, refresh bool,
) (f *flight, ch <-chan singleflight.Result, led bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, joined := c.flying[key]
	if !joined {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{ctx: fctx, cancel: cancel}
		c.flying[key] = f
	}
	if refresh {
		f.kept = true
	} else {
		f.waiters++
	}
	ch = c.flights.DoChan(key, func() (any, error) {
		defer c.retire(key, f)
		return c.run(ctx, f.ctx, key, req, refresh)
	})
	return f, ch, !joined
}

// run is a flight. A miss's is background work from when it runs (a Close
// before refuses it), under detached if a slot is free, else under caller.
func (c *coalescer) run(caller, detached context.Context, key string, req tiles.Request, refresh bool,
) (tiles.Outcome, error) {
	if refresh {
		return c.land(detached, key, req)
	}
	if !c.work.start() {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", c.name, ErrClosed)
	}
	defer c.work.done()
	if !c.work.detach() {
		return c.land(caller, key, req)
	}
	defer c.work.undetach()
	return c.land(detached, key, req)
}

// land fetches key within FetchTimeout, unless a flight that landed just
// before filled the cache.
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
		err = fmt.Errorf("%s: no answer within the fetch timeout of %s: %w", c.name, c.timeout, ctx.Err())
	}
	return tiles.Outcome{}, err
}

// retire forgets f once its fetch has returned, unless it was abandoned.
func (c *coalescer) retire(key string, f *flight) {
	c.mu.Lock()
	if c.flying[key] == f {
		delete(c.flying, key)
		c.flights.Forget(key)
	}
	c.mu.Unlock()
	f.cancel()
}

// leave takes a miss off f, and abandons f if nobody else waits or will
// read its answer: the next miss of key starts afresh.
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

// direct stands in for the coalescer with Policy.Direct: a miss fetches on
// its caller's goroutine and context, and cancels its fetch if it leaves.
type direct struct{ base }

func (d *direct) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	if req.Shed {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", d.name, ErrShed)
	}
	out, err := d.next.Fetch(ctx, req)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%s: no fresh answer in time: %w", d.name, ctx.Err())
	}
	return out, err
}
