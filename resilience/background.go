package resilience

import "sync"

// DefaultMaxDetached is the default of Policy.MaxDetached.
const DefaultMaxDetached = 100

// background counts a tile's work that outlives the fetch that starts it,
// for Wait and Close: unlike a sync.WaitGroup, while new work starts. Its
// slots bound the fetches that may outlive their callers (flights and
// refreshes): a flood of new keys cannot pile up fetches nobody waits for.
type background struct {
	mu     sync.Mutex
	cond   sync.Cond // signalled when n drops to zero
	n      int
	closed bool
	slots  chan struct{}
	name   string
	rec    Recorder
}

func newBackground(b base, maxDetached int) *background {
	w := &background{slots: make(chan struct{}, maxDetached), name: b.name, rec: b.rec}
	w.cond.L = &w.mu
	return w
}

// start registers work and reports whether it may run: not once closed.
func (w *background) start() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.n++
	return true
}

// done ends work registered by start.
func (w *background) done() {
	w.mu.Lock()
	if w.n--; w.n == 0 {
		w.cond.Broadcast()
	}
	w.mu.Unlock()
}

// wait blocks until no work is running; close refuses new work first.
func (w *background) wait() {
	w.mu.Lock()
	for w.n > 0 {
		w.cond.Wait()
	}
	w.mu.Unlock()
}

func (w *background) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.wait()
}

// execute runs the cache's maintenance as background work, inline once
// closed.
func (w *background) execute(fn func()) {
	if !w.start() {
		fn()
		return
	}
	go func() { defer w.done(); fn() }()
}

// detach takes a detached slot if one is free; undetach gives it back.
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
