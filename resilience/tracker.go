package resilience

import "sync"

// tracker counts a Tile's background work so that Wait and Close can join
// it. Unlike a sync.WaitGroup it may be waited on at any time, even while
// new work starts (a WaitGroup forbids an Add from zero concurrent with
// Wait), and once closed it refuses new root work so Close terminates.
type tracker struct {
	mu     sync.Mutex
	cond   sync.Cond // signalled when n drops to zero
	n      int
	closed bool
}

func newTracker() *tracker {
	t := &tracker{}
	t.cond.L = &t.mu
	return t
}

// start registers a new piece of root work and reports whether it may run:
// false once the tracker is closed.
func (t *tracker) start() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.n++
	return true
}

// done ends a piece of work registered by start.
func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		t.cond.Broadcast()
	}
	t.mu.Unlock()
}

// wait blocks until no registered work is running.
func (t *tracker) wait() {
	t.mu.Lock()
	for t.n > 0 {
		t.cond.Wait()
	}
	t.mu.Unlock()
}

// close refuses new root work, then waits for the running work.
func (t *tracker) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wait()
}
