// Package reload swaps what a server serves while it runs. A Handler hands
// each request to the current generation, which the request holds until it
// ends: a request that started on a generation finishes on it, and every
// request that starts after a Swap is served by the new one. The parts a
// generation holds (its tiles) are counted across generations: a part is
// closed once no generation holds it and the last request that held one
// that did has ended.
package reload

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// Part is what a generation holds, closed when no generation in use does.
type Part interface{ Close() }

// Handler serves each request with the current generation, a G. It is safe
// for concurrent use.
type Handler[G http.Handler] struct {
	cur  atomic.Pointer[generation[G]]
	mu   sync.Mutex
	refs map[Part]int // by part: the generations holding it that are current or still in use
}

// generation is one G, its parts and the requests using it.
type generation[G http.Handler] struct {
	g       G
	parts   []Part
	users   atomic.Int64 // requests holding it, and for an instant those that found it retired
	retired atomic.Bool  // no longer current: dropped once users falls to zero
	dropped sync.Once
}

// New returns a Handler serving g, which holds parts.
func New[G http.Handler](g G, parts []Part) *Handler[G] {
	s := &Handler[G]{refs: map[Part]int{}}
	s.cur.Store(s.hold(g, parts))
	return s
}

// Current is the generation that new requests get.
func (s *Handler[G]) Current() G { return s.cur.Load().g }

// ServeHTTP serves r with the current generation, held until it returns.
func (s *Handler[G]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	gen := s.acquire()
	defer s.release(gen)
	gen.g.ServeHTTP(w, r)
}

// Swap makes g, which holds parts, the current generation. The previous
// one serves the requests that hold it; then the parts only it held close.
func (s *Handler[G]) Swap(g G, parts []Part) {
	old := s.cur.Swap(s.hold(g, parts))
	s.retire(old)
}

// Close retires the current generation, once the server has stopped: its
// parts close once its last request ends (at once if none is in flight).
func (s *Handler[G]) Close() { s.retire(s.cur.Load()) }

func (s *Handler[G]) hold(g G, parts []Part) *generation[G] {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range parts {
		s.refs[p]++
	}
	return &generation[G]{g: g, parts: parts}
}

// acquire counts a request on the current generation. It checks the
// generation is still current once counted: one that a Swap retired in
// between may already be dropped, and is let go of.
func (s *Handler[G]) acquire() *generation[G] {
	for {
		gen := s.cur.Load()
		gen.users.Add(1)
		if s.cur.Load() == gen {
			return gen
		}
		s.release(gen)
	}
}

func (s *Handler[G]) release(gen *generation[G]) {
	if gen.users.Add(-1) == 0 && gen.retired.Load() {
		s.drop(gen)
	}
}

func (s *Handler[G]) retire(gen *generation[G]) {
	gen.retired.Store(true)
	if gen.users.Load() == 0 {
		s.drop(gen)
	}
}

// drop lets go of a retired generation no request uses, closing the parts
// no other generation holds.
func (s *Handler[G]) drop(gen *generation[G]) {
	gen.dropped.Do(func() {
		var closing []Part
		s.mu.Lock()
		for _, p := range gen.parts {
			if s.refs[p]--; s.refs[p] == 0 {
				delete(s.refs, p)
				closing = append(closing, p)
			}
		}
		s.mu.Unlock()
		for _, p := range closing {
			p.Close()
		}
	})
}
