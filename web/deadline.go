package web

// Every write has a deadline. A client that stops reading (it pipelines
// requests and never reads the answers, or asks for a page and never takes
// it) would otherwise hold its handler, its page and the kernel's send
// buffer for as long as it liked: net/http sets no write deadline unless
// Server.WriteTimeout is set, and that one would also cut streams and /test
// that take long on purpose. So the deadline follows progress instead: a
// response must be taken within the write stall of its start, and a stream
// within the stall of each flush (stream.go), however long it lives.
//
// A write that fails on its deadline makes net/http cancel the request's
// context, which ends the page's tiles and a stream's loop at once (the
// gzip writer swallows a flush's error: the context is what tells the
// stream), and close the connection once the handler returns.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// DefaultWriteStall is how long a client may leave a write waiting (stop
// reading) before its connection is cut, unless Options.WriteStall says
// otherwise. A client that reads is far from it: the kernel's send buffer
// takes a whole page at once, so a write waits only once that buffer is
// full of data the client has not read.
const DefaultWriteStall = 5 * time.Second

// writeStall is o.WriteStall, or its default.
func (o Options) writeStall() time.Duration {
	if o.WriteStall > 0 {
		return o.WriteStall
	}
	return DefaultWriteStall
}

// writeDeadlines gives every response a write deadline: stall from the
// moment the response starts (its header is committed), not from the start
// of the request, so that /test, which waits before it answers, and a
// page, which waits for its tiles, are not charged for their wait.
// Buffered responses are written at once, so one stall covers the whole
// body, including what net/http flushes after the handler returns. Streams
// move it again before each flush. It also tells the connection (see
// WatchWrites) which route it is serving, so that a cut is counted by route.
func writeDeadlines(stall time.Duration, cut func(route string)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if wc, ok := c.Request().Context().Value(watchedConnKey{}).(*watchedConn); ok {
				wc.serving(c.Path(), cut)
			}
			res := c.Response()
			rc := http.NewResponseController(res)
			// An error setting the deadline is a connection already gone:
			// the write that follows fails and says so.
			extend := func() { _ = extendWriteDeadline(rc, stall) }
			res.Before(extend)
			err := next(c)
			if !res.Committed {
				// Nothing written yet: the error handler will write (and
				// commit), or net/http will send an empty 200 (a /test
				// whose client left). Either way, not without a deadline.
				extend()
			}
			return err
		}
	}
}

// extendWriteDeadline gives the writes that follow stall to complete. A
// response without a connection (a test's recorder) has no deadline to set.
func extendWriteDeadline(rc *http.ResponseController, stall time.Duration) error {
	err := rc.SetWriteDeadline(time.Now().Add(stall))
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}

// isCut reports whether a failed write was cut by the server rather than
// refused by the client: its deadline passed (the client stopped reading),
// or the server closed the connection under it (the end of a shutdown's
// drain). A client that hangs up (a reset, a broken pipe) is not a cut.
func isCut(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed)
}

// WatchWrites makes srv count the responses it cuts: it returns ln with
// each connection watching its writes, and sets srv.ConnContext (keeping
// any already set) so that each request finds its connection. A write cut
// on a connection (see isCut) is reported once to Options.WriteCut, with
// the route the connection was serving. Serve srv on the listener it
// returns. Without it, responses still have their deadlines; cuts are not
// counted.
func WatchWrites(srv *http.Server, ln net.Listener) net.Listener {
	prev := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prev != nil {
			ctx = prev(ctx, c)
		}
		if wc, ok := c.(*watchedConn); ok {
			ctx = context.WithValue(ctx, watchedConnKey{}, wc)
		}
		return ctx
	}
	return watchingListener{ln}
}

type watchedConnKey struct{}

// watchingListener accepts watched connections.
type watchingListener struct{ net.Listener }

func (l watchingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: c}, nil
}

// watchedConn is a connection that reports the first write the server cut
// on it. net/http writes to it from the handler's goroutine (flushes) and
// its own (the end of a response), and a shutdown closes it from another:
// its fields are guarded.
type watchedConn struct {
	net.Conn

	mu       sync.Mutex
	route    string             // the route being served
	cut      func(route string) // nil: not counted
	reported bool               // a connection is cut at most once
}

// serving records the route the connection now serves.
func (c *watchedConn) serving(route string, cut func(string)) {
	c.mu.Lock()
	c.route, c.cut = route, cut
	c.mu.Unlock()
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && isCut(err) {
		c.report()
	}
	return n, err
}

func (c *watchedConn) report() {
	c.mu.Lock()
	cut, route, first := c.cut, c.route, !c.reported
	c.reported = true
	c.mu.Unlock()
	if first && cut != nil {
		cut(route)
	}
}

// CloseWrite lets net/http half-close the connection as it does a bare TCP
// connection (after a request body it did not read).
func (c *watchedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
