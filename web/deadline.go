package web

// Every write has a deadline that follows progress: a response must be
// taken within the write stall of its start, and a stream within that of
// each flush (Server.WriteTimeout would cut streams and /test). A write
// that fails on its deadline cancels the request's context.

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

// DefaultWriteStall is how long a client may leave a write waiting before
// its connection is cut, unless Options.WriteStall says otherwise.
const DefaultWriteStall = 5 * time.Second

func (o Options) writeStall() time.Duration {
	if o.WriteStall > 0 {
		return o.WriteStall
	}
	return DefaultWriteStall
}

// writeDeadlines gives every response a write deadline of stall from the
// moment its header is committed, not from the start of the request, and
// tells a watched connection (WatchWrites) which route it serves.
func writeDeadlines(stall time.Duration, cut func(route string)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if wc, ok := c.Request().Context().Value(watchedConnKey{}).(*watchedConn); ok {
				wc.serving(c.Path(), cut)
				defer wc.idle()
			}
			res := c.Response()
			rc := http.NewResponseController(res)
			// An error here is a connection already gone: the write fails.
			extend := func() { _ = extendWriteDeadline(rc, stall) }
			res.Before(extend)
			err := next(c)
			if !res.Committed {
				extend() // what the error handler or net/http writes next
			}
			return err
		}
	}
}

// extendWriteDeadline gives the writes that follow stall to complete, where
// there is a connection (a test's recorder has none).
func extendWriteDeadline(rc *http.ResponseController, stall time.Duration) error {
	err := rc.SetWriteDeadline(time.Now().Add(stall))
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}

// WatchWrites makes srv count the responses it cuts and stamp when each
// request arrived (arrival.go): serve srv on the listener it returns, whose
// connections report their first cut write to Options.WriteCut with their
// route. It wraps srv.ConnContext.
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
	wc := &watchedConn{Conn: c}
	wc.since = time.Now()
	wc.waiting.Store(true)
	return wc, nil
}

// watchedConn is a connection that reports the first write the server cut
// on it. net/http writes to it from several goroutines.
type watchedConn struct {
	net.Conn

	mu       sync.Mutex
	route    string             // the route being served
	cut      func(route string) // nil: not counted
	reported bool               // a connection is cut at most once

	arrivalStamps
}

func (c *watchedConn) serving(route string, cut func(string)) {
	c.mu.Lock()
	c.route, c.cut = route, cut
	c.begin()
	c.mu.Unlock()
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	// Cut by the server (its deadline passed, or a drain's end closed the
	// connection), not by a client that hung up.
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
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
