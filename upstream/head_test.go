package upstream

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/tiles"
)

// headBackend listens on loopback and answers each connection's request
// with a 200 whose head carries about headBytes of header fields, and the
// JSON body {}. Written on a raw socket, so that no server's own limit
// stands between the head and the client. It stops when the test ends.
func headBackend(t *testing.T, headBytes int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveHead(c, headBytes) })
		}
	})
	return "http://" + ln.Addr().String() + secretPath
}

// serveHead answers one request on c with a head of about headBytes, then closes c.
func serveHead(c net.Conn, headBytes int) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second)) // a bound, should the client hang
	if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
		return
	}
	w := bufio.NewWriter(c)
	_, _ = w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n")
	line := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
	for n := 0; n < headBytes; n += len(line) {
		_, _ = w.WriteString(line)
	}
	_, _ = w.WriteString("\r\n{}")
	_ = w.Flush()
}

// TestFetchHeadOverLimit: a megabyte of response head is the tile's error,
// counted, and read no further than the limit.
func TestFetchHeadOverLimit(t *testing.T) {
	url := headBackend(t, 1<<20)
	f, obs := newFetcher(t, url, nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := f.Fetch(ctxFor(t, 5*time.Second), tiles.Request{ID: "r1"})
	runtime.ReadMemStats(&after)
	if err == nil || err.Error() != "products: response head over 64 KiB" {
		t.Fatalf("got error %v; want products: response head over 64 KiB", err)
	}
	assertNoAddress(t, err.Error(), url)
	if got := obs.results(); len(got) != 1 || !strings.HasSuffix(got[0], " head_too_large") {
		t.Errorf("observed %q; want one head_too_large", got)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 512<<10 {
		t.Errorf("the fetch allocated %d KiB: it read past the head's limit", n>>10)
	}
}

// TestFetchHeadWithinLimit: heads within their tile's limit are answers,
// and tiles sharing a client keep their own limits.
func TestFetchHeadWithinLimit(t *testing.T) {
	tests := []struct {
		head, limit int
		wantErr     string
	}{
		{head: 32 << 10},
		{head: 1 << 20, limit: 2 << 20},
		{head: 8 << 10, limit: 4 << 10, wantErr: "products: response head over 4 KiB"},
	}
	client := NewClient()
	t.Cleanup(client.CloseIdleConnections)
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.head, " under ", tt.limit), func(t *testing.T) {
			f, _ := newFetcher(t, headBackend(t, tt.head), func(o *Options) {
				o.Client, o.MaxHeaderBytes = client, int64(tt.limit)
			})
			out, err := f.Fetch(ctxFor(t, 5*time.Second), tiles.Request{})
			switch {
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("got error %v; want %s", err, tt.wantErr)
			case tt.wantErr == "" && (err != nil || string(out.Data) != "{}"):
				t.Errorf("got %s, %v; want {}", out.Data, err)
			}
		})
	}
}
