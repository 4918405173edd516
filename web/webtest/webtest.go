// Package webtest provides the raw-socket HTTP clients that the server's
// tests share: a request sent exactly as written, and a client that
// pipelines requests and never reads an answer.
package webtest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// RawRequest writes head (a request line and header lines, each ending in
// CRLF) and Connection: close to a new connection to addr, as sent, and
// reads the response whole.
func RawRequest(t testing.TB, addr, head string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, head+"Connection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// NonReader connects to addr and pipelines n GET requests for target (a
// format with %d, given 0 to n-1, or a plain path), with the extra header
// lines, from a goroutine, and never reads an answer. The connection is
// closed when the test ends.
func NonReader(t testing.TB, addr, target string, n int, header ...string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// A small receive window, so that the server's writes block early.
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		w := bufio.NewWriter(conn)
		for i := range n {
			if !strings.Contains(target, "%d") {
				fmt.Fprintf(w, "GET %s HTTP/1.1\r\nHost: vitrine\r\n", target)
			} else {
				fmt.Fprintf(w, "GET "+target+" HTTP/1.1\r\nHost: vitrine\r\n", i)
			}
			for _, h := range header {
				fmt.Fprintf(w, "%s\r\n", h)
			}
			w.WriteString("\r\n")
		}
		w.Flush() // fails once the connection is closed: nothing to do
	}()
	t.Cleanup(func() {
		conn.Close()
		<-sent
	})
	return conn
}
