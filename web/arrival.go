package web

import (
	"net/http"
	"sync/atomic"
	"time"
)

// A request's arrival is the earliest moment this process can vouch that
// it was waiting: a page's deadline counts from it (tiles.Request.Arrived),
// so that a page that waited to be read gets less tile time rather than
// more time in all. The kernel's backlog before the accept is out of sight.
//
// A connection is idle from its accept, and again from the end of each
// response. The first read that returns bytes while it is idle begins the
// next request: if it returned at once, the bytes were already waiting,
// since no later than the idle began (the accept, for the first request:
// a connection is opened to send one), so the request arrived then; if the
// read blocked, the client sent when it returned.
type arrivalStamps struct {
	waiting atomic.Bool // idle, and no byte of the next request read yet
	since   time.Time   // when the idle began; under watchedConn.mu
	next    time.Time   // the next request's arrival; zero: not read yet
	arrived time.Time   // the arrival of the request being served
}

// readAtOnce is how soon a read must return to have found its bytes waiting.
const readAtOnce = time.Millisecond

func (c *watchedConn) Read(p []byte) (int, error) {
	if !c.waiting.Load() {
		return c.Conn.Read(p)
	}
	called := time.Now()
	n, err := c.Conn.Read(p)
	if n > 0 && c.waiting.CompareAndSwap(true, false) {
		now := time.Now()
		c.mu.Lock()
		c.next = now
		if now.Sub(called) < readAtOnce {
			c.next = c.since
		}
		c.mu.Unlock()
	}
	return n, err
}

// begin makes the next request's arrival the current one's: the time its
// first read returned, or now if it was read before the connection was
// idle (pipelined). Under c.mu.
func (c *watchedConn) begin() {
	c.waiting.Store(false)
	c.arrived = c.next
	if c.arrived.IsZero() {
		c.arrived = time.Now()
	}
	c.next = time.Time{}
}

// idle starts the wait for the next request, at the end of a response.
func (c *watchedConn) idle() {
	c.mu.Lock()
	c.since = time.Now()
	c.mu.Unlock()
	c.waiting.Store(true)
}

// arrived is when r arrived, as its connection stamped it; the zero time
// when it was not served on a listener from WatchWrites.
func arrived(r *http.Request) time.Time {
	wc, ok := r.Context().Value(watchedConnKey{}).(*watchedConn)
	if !ok {
		return time.Time{}
	}
	wc.mu.Lock()
	defer wc.mu.Unlock()
	return wc.arrived
}
