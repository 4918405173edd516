// Package graceful serves HTTP until a context ends, then shuts down: it
// stops accepting, drains the requests in flight for a bounded time, then
// closes what is left and says how many it cut.
package graceful

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// closeWait is how long Serve waits for the handlers of the connections it
// cut to end.
const closeWait = 5 * time.Second

// Serve serves ln until ctx is cancelled, then shuts srv down: it stops
// accepting connections, gives the requests in flight up to drain to
// finish, then closes the connections still open and cancels their
// requests, which it logs at Warn with their number and still returns nil.
// It returns an error if serving failed, or if handlers still run closeWait
// after their connections were closed; otherwise only once every
// connection has ended. It sets srv's BaseContext and ConnState, keeping
// the hooks already set.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, drain time.Duration, logger *slog.Logger) error {
	conns := trackConns(srv)
	base := context.Background()
	if srv.BaseContext != nil {
		base = srv.BaseContext(ln)
	}
	base, cancelRequests := context.WithCancel(base)
	defer cancelRequests()
	srv.BaseContext = func(net.Listener) context.Context { return base }

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: waiting for requests in flight", "drain", drain)
	// A fresh context: ctx is already cancelled.
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		cut := conns.active()
		// Close's only error would be closing the listeners Shutdown closed.
		_ = srv.Close()
		cancelRequests()
		logger.Warn("shutdown: drain over, cut the requests still in flight", "cut", cut, "drain", drain)
		if left := conns.wait(closeWait); left > 0 {
			return fmt.Errorf("shutdown: %d connections still served %v after they were closed", left, closeWait)
		}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// ServeWithAdmin serves the public server as Serve does and the admin
// server beside it: if the admin server fails, the public one shuts down
// too and the error is returned. The admin server stays up while the
// public one drains, so that the drain can be watched.
func ServeWithAdmin(ctx context.Context, srv *http.Server, ln net.Listener, admin *http.Server, adminLn net.Listener,
	drain time.Duration, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	adminDone := make(chan error, 1)
	go func() {
		adminDone <- admin.Serve(adminLn)
		cancel()
	}()
	err := Serve(ctx, srv, ln, drain, logger)
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	if admin.Shutdown(sctx) != nil {
		admin.Close() // a profile or trace still running: cut it
	}
	if aerr := <-adminDone; !errors.Is(aerr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("admin: serve: %w", aerr))
	}
	return err
}

// connTracker follows a server's connections through their states, so
// that a shutdown can count the requests it cut and wait for their
// handlers to end, which Server.Close does not.
type connTracker struct {
	mu      sync.Mutex
	states  map[net.Conn]http.ConnState // connections not yet closed
	changed chan struct{}               // closed, and replaced, when one is
}

// trackConns starts tracking srv's connections, keeping its ConnState hook.
func trackConns(srv *http.Server) *connTracker {
	t := &connTracker{states: map[net.Conn]http.ConnState{}, changed: make(chan struct{})}
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		t.set(c, s)
		if prev != nil {
			prev(c, s)
		}
	}
	return t
}

func (t *connTracker) set(c net.Conn, s http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(t.states, c)
		close(t.changed)
		t.changed = make(chan struct{})
	default:
		t.states[c] = s
	}
}

// active is the number of connections serving a request (or reading one).
func (t *connTracker) active() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, s := range t.states {
		if s == http.StateActive {
			n++
		}
	}
	return n
}

// wait waits up to timeout for every connection to close; it returns how
// many are left.
func (t *connTracker) wait(timeout time.Duration) int {
	expired := time.NewTimer(timeout)
	defer expired.Stop()
	for {
		t.mu.Lock()
		left, changed := len(t.states), t.changed
		t.mu.Unlock()
		if left == 0 {
			return 0
		}
		select {
		case <-changed:
		case <-expired.C:
			t.mu.Lock()
			defer t.mu.Unlock()
			return len(t.states)
		}
	}
}
