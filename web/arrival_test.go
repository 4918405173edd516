package web

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// pipeListener accepts the in-memory connections its dial makes, so that
// a real http.Server runs in a synctest bubble.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

// summaries records the pages an aggregator reports.
type summaries struct {
	mu    sync.Mutex
	pages []aggregator.Summary
}

func (s *summaries) PageStarted() {}
func (s *summaries) PageDone(_ context.Context, sum aggregator.Summary) {
	s.mu.Lock()
	s.pages = append(s.pages, sum)
	s.mu.Unlock()
}
func (s *summaries) TileDone(context.Context, aggregator.Result) {}

// get sends GET /home on c and reads the whole answer.
func get(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := io.WriteString(c, "GET /home HTTP/1.1\r\nHost: vitrine\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := io.ReadAll(res.Body); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /home: %d, %v; want 200", res.StatusCode, err)
	}
}

// TestPageWaitCountsFromArrival checks what a page counts as its arrival
// on a watched listener: the accept of its connection when its bytes were
// waiting to be read (the server was slow to get to them), the read when
// the client sent them later (a connection opened ahead, or kept alive).
func TestPageWaitCountsFromArrival(t *testing.T) {
	tests := []struct {
		name     string
		slow     time.Duration // between the accept and the first read
		think    time.Duration // the client's wait before its first request
		idle     time.Duration // then before its second, on the same connection
		wantWait [2]time.Duration
		wantShed [2]string
	}{
		{"read at once", 0, 0, 0, [2]time.Duration{0, 0}, [2]string{"", ""}},
		{"read late", 300 * time.Millisecond, 0, 0, [2]time.Duration{300 * time.Millisecond, 0}, [2]string{"", ""}},
		{"read past half the deadline", 700 * time.Millisecond, 0, time.Second,
			[2]time.Duration{700 * time.Millisecond, 0}, [2]string{aggregator.ShedWaited, ""}},
		{"read past the deadline", 2 * time.Second, 0, 0, [2]time.Duration{2 * time.Second, 0},
			[2]string{aggregator.ShedExpired, ""}},
		{"opened ahead", 0, 2 * time.Second, 2 * time.Second, [2]time.Duration{0, 0}, [2]string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sums := &summaries{}
				agg, err := aggregator.New([]tiles.Fetcher{tilestest.Serving("a", tiles.Fresh(tilestest.String("a")))},
					aggregator.Options{PageTimeout: time.Second, Observer: sums})
				if err != nil {
					t.Fatal(err)
				}
				srv := &http.Server{Handler: NewServer(slog.New(slog.DiscardHandler), agg, Options{}),
					// The accept loop hands the connection over late, as a
					// process short of CPU would.
					ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
						time.Sleep(tt.slow)
						return ctx
					}}
				ln := newPipeListener()
				served := make(chan error, 1)
				go func() { served <- srv.Serve(WatchWrites(srv, ln)) }()
				c := ln.dial()
				time.Sleep(tt.think)
				get(t, c)
				time.Sleep(tt.idle)
				get(t, c)
				c.Close()
				srv.Close()
				<-served
				if len(sums.pages) != 2 {
					t.Fatalf("%d pages; want 2", len(sums.pages))
				}
				for i, p := range sums.pages {
					if p.Waited != tt.wantWait[i] || p.Shed != tt.wantShed[i] {
						t.Errorf("page %d waited %v, shed %q; want %v, %q", i+1, p.Waited, p.Shed, tt.wantWait[i], tt.wantShed[i])
					}
				}
			})
		})
	}
}
