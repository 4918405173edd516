package resilience

import "sync"

// DefaultMaxDetached bounds a tile's fetches that may outlive their callers
// when Policy.MaxDetached is 0.
const DefaultMaxDetached = 100

// background is a tile's work that outlives the fetch that starts it:
// refreshes, shared fetches callers gave up on, the cache's maintenance.
// It counts that work so that Wait and Close can join it. Unlike a
// sync.WaitGroup it may be waited on at any time, even while new work
// starts, and once closed it refuses new work so that Close terminates.
// It also holds the tile's detached slots (MaxDetached), which the
// coalescer's flights and the memory cache's refreshes share, so that a
// flood of new keys cannot pile up backend fetches that nobody waits for.
type background struct {
	mu     sync.Mutex
	cond   sync.Cond // signalled when n drops to zero
	n      int
	closed bool

	slots chan struct{} // a slot per fetch that may outlive its callers
	name  string
	rec   Recorder
}

func newBackground(b base, maxDetached int) *background {
	w := &background{slots: make(chan struct{}, maxDetached), name: b.name, rec: b.rec}
	w.cond.L = &w.mu
	return w
}

// start registers a new piece of work and reports whether it may run:
// false once closed.
func (w *background) start() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.n++
	return true
}

// done ends a piece of work registered by start.
func (w *background) done() {
	w.mu.Lock()
	w.n--
	if w.n == 0 {
		w.cond.Broadcast()
	}
	w.mu.Unlock()
}

// wait blocks until no registered work is running.
func (w *background) wait() {
	w.mu.Lock()
	for w.n > 0 {
		w.cond.Wait()
	}
	w.mu.Unlock()
}

// close refuses new work, then waits for the running work.
func (w *background) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.wait()
}

// execute runs the cache's maintenance tasks on goroutines counted as
// background work, or inline once closed (otter allows an executor that
// runs tasks on the calling goroutine).
func (w *background) execute(fn func()) {
	if !w.start() {
		fn()
		return
	}
	go func() {
		defer w.done()
		fn()
	}()
}

// detach takes a slot for a fetch that may outlive its callers, if one is
// free; undetach gives it back.
func (w *background) detach() bool {
	select {
	case w.slots <- struct{}{}:
		w.rec.Detached(w.name, 1)
		return true
	default:
		w.rec.DetachedCapped(w.name)
		return false
	}
}

func (w *background) undetach() {
	<-w.slots
	w.rec.Detached(w.name, -1)
}
