package web_test

// Tests of write deadlines on a real socket: the bug is in the socket (a
// write that blocks because the client does not read), so no recorder can
// show it. The server's write stall is made small (100ms) so that a cut
// comes quickly; the bounds the tests wait for are generous (10s), so that
// only a server that never cuts fails them.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
	"vitrine/web"
	"vitrine/web/webtest"
)

// testStall is the write stall of the servers in these tests.
const testStall = 100 * time.Millisecond

// routeCounts records what a server reports through its InFlight and
// WriteCut hooks; it is safe for concurrent use.
type routeCounts struct {
	mu       sync.Mutex
	inFlight map[string]int
	cut      map[string]int
}

func newRouteCounts() *routeCounts {
	return &routeCounts{inFlight: map[string]int{}, cut: map[string]int{}}
}

func (r *routeCounts) started(route string) func() {
	r.mu.Lock()
	r.inFlight[route]++
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.inFlight[route]--
		r.mu.Unlock()
	}
}

func (r *routeCounts) writeCut(route string) {
	r.mu.Lock()
	r.cut[route]++
	r.mu.Unlock()
}

// await polls until cond holds (read under the lock), failing the test
// after 10s with what was awaited.
func (r *routeCounts) await(t *testing.T, what string, cond func(r *routeCounts) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r)
		inFlight, cut := fmt.Sprint(r.inFlight), fmt.Sprint(r.cut)
		r.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s has not happened (in flight %s, cut %s)", what, inFlight, cut)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// smallSendBuffers shrinks the kernel's send buffer of each connection it
// accepts, so that a client that does not read fills it within a few
// pages rather than megabytes. What is tested is unchanged: a write
// blocked on a client that does not read.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// watchedServer serves fs over a real loopback socket with the test's
// write stall, counting requests in flight and writes cut by route.
func watchedServer(t *testing.T, opts web.Options, fs []tiles.Fetcher) (*httptest.Server, *routeCounts) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Tiles are never timed out here: these tests are about writes.
	agg, err := aggregator.New(fs, aggregator.Options{Logger: logger, TileTimeout: time.Minute})
	if err != nil {
		t.Fatalf("aggregator.New: %v", err)
	}
	counts := newRouteCounts()
	if opts.WriteStall == 0 {
		opts.WriteStall = testStall
	}
	opts.InFlight, opts.WriteCut = counts.started, counts.writeCut
	ts := httptest.NewUnstartedServer(web.NewServer(logger, agg, opts))
	ts.Listener = web.WatchWrites(ts.Config, smallSendBuffers{ts.Listener})
	ts.Start()
	t.Cleanup(ts.Close)
	return ts, counts
}

// awaitClosed reads what conn holds until the server's end of it is
// closed, failing the test if it is still open after 10s.
func awaitClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	// A reset is a close too: the server closed with requests unread.
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading the connection: %v; want the server to have closed it", err)
	}
}

// TestNonReadingClientIsCut: a client that pipelines requests and never
// reads their answers fills the socket's buffers until the server's write
// blocks. The server must cut it within its write stall (not hold its
// handler, page and buffers for as long as the client likes): the request
// ends, the cut is counted for its route, and the connection is closed.
// Streams, buffered pages and small answers (written by net/http after the
// handler returns) are cut alike, compressed or not.
func TestNonReadingClientIsCut(t *testing.T) {
	tests := []struct {
		name   string
		target string
		route  string
		n      int
		header []string
	}{
		{"HTML stream", "/home?format=html&user=w%d", "/home", 2000, nil},
		{"HTML stream, gzip", "/home?format=html&user=w%d", "/home", 4000, []string{"Accept-Encoding: gzip"}},
		{"NDJSON stream", "/home?format=ndjson&user=w%d", "/home", 2000, nil},
		{"JSON page", "/home?user=w%d", "/home", 2000, nil},
		{"small answers", "/healthz", "/healthz", 20000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, counts := watchedServer(t, web.Options{}, builtins(t, 0))
			conn := webtest.NonReader(t, ts.Listener.Addr().String(), tt.target, tt.n, tt.header...)
			counts.await(t, "a write cut on "+tt.route, func(r *routeCounts) bool { return r.cut[tt.route] > 0 })
			counts.await(t, "no request in flight", func(r *routeCounts) bool { return r.inFlight[tt.route] == 0 })
			awaitClosed(t, conn)
			counts.mu.Lock()
			defer counts.mu.Unlock()
			if got := counts.cut[tt.route]; got != 1 {
				t.Errorf("writes cut on %s = %d; want 1 (one connection)", tt.route, got)
			}
		})
	}
}

// TestReadingClientIsNotCut: the deadline follows progress, not the
// request's age. A client that reads gets every answer in full, though
// the answer starts later than the write stall (a /test that waits, a page
// that waits for a slow tile) or a stream's tiles come further apart;
// compressed or not (the deadline is reached through the gzip writer).
func TestReadingClientIsNotCut(t *testing.T) {
	// A stall wider than testStall: this client reads, but through small
	// send buffers, and a busy machine under the race detector once kept
	// it from reading for 100ms. The meaning stays: every answer starts
	// later than the stall, and tiles come further apart than it.
	const stall = 400 * time.Millisecond
	const slow = 2 * stall
	cat := catalogue.Default()
	var fs []tiles.Fetcher
	for i, name := range sim.Names() {
		f, err := sim.New(tilestest.Builtin(t, name), cat, sim.Backend{Latency: time.Duration(i+1) * slow})
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	ts, counts := watchedServer(t, web.Options{TestDelay: slow, WriteStall: stall}, fs)
	tests := []struct {
		name, target, wantEnd string
	}{
		{"test waits", "/test", `{"result":1}`},
		{"JSON page", "/home?format=json&user=alice", `"complete":true}`},
		{"HTML stream", "/home?format=html&user=alice", "</html>"},
		{"NDJSON stream", "/home?format=ndjson&user=alice", `"complete":true}`},
	}
	// The answers run side by side (each on its own connection); the group
	// returns once all have, before the count of cuts is read.
	t.Run("answers", func(t *testing.T) {
		for _, gzip := range []bool{true, false} {
			// Go's client asks for gzip and inflates it unless told not to.
			tr := &http.Transport{DisableCompression: !gzip}
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr}
			for _, tt := range tests {
				t.Run(fmt.Sprintf("%s, gzip %v", tt.name, gzip), func(t *testing.T) {
					t.Parallel()
					start := time.Now()
					resp, err := client.Get(ts.URL + tt.target)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					body, err := io.ReadAll(resp.Body)
					if err != nil {
						t.Fatalf("reading the answer: %v; want it whole", err)
					}
					if resp.StatusCode != http.StatusOK {
						t.Errorf("status = %d; want 200", resp.StatusCode)
					}
					if resp.Uncompressed != gzip {
						t.Errorf("answer was gzipped: %v; want %v", resp.Uncompressed, gzip)
					}
					if got := strings.TrimSpace(string(body)); !strings.HasSuffix(got, tt.wantEnd) {
						t.Errorf("answer ends %q; want it whole, ending %q", tail(got, 80), tt.wantEnd)
					}
					if el := time.Since(start); el < slow {
						t.Errorf("answered in %v; the test wants an answer slower than the write stall %v", el, stall)
					}
				})
			}
		}
	})
	counts.mu.Lock()
	defer counts.mu.Unlock()
	if len(counts.cut) != 0 {
		t.Errorf("writes cut = %v; want none", counts.cut)
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
