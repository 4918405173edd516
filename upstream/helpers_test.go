package upstream

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// secretPath is where test backends serve: no error may mention it.
const secretPath = "/secret/products"

// observed records Observe's calls.
type observed struct {
	mu    sync.Mutex
	calls []string // "tile host result"
}

func (o *observed) observe(tile, host, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, tile+" "+host+" "+result)
}

func (o *observed) results() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}

// newBackend serves h on loopback until the test ends.
func newBackend(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newFetcher builds a fetcher for url with its own client, whose idle
// connections are closed when the test ends, and records its Observe calls.
func newFetcher(t *testing.T, url string, edit func(*Options)) (*Fetcher, *observed) {
	t.Helper()
	client := NewClient()
	t.Cleanup(client.CloseIdleConnections)
	obs := &observed{}
	o := Options{Name: "products", URL: url, Client: client, Observe: obs.observe}
	if edit != nil {
		edit(&o)
	}
	f, err := New(o)
	if err != nil {
		t.Fatalf("New(%q): %v", url, err)
	}
	return f, obs
}

// serveJSON answers body as JSON.
func serveJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}
}

// assertNoAddress fails if msg reveals where the backend is: any of the
// given URLs' host:port, a loopback address, or the path.
func assertNoAddress(t *testing.T, msg string, urls ...string) {
	t.Helper()
	leaks := []string{"127.0.0.1", "localhost", "[::1]", "secret", "http://", "https://"}
	for _, u := range urls {
		leaks = append(leaks, strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://"))
	}
	for _, l := range leaks {
		if l != "" && strings.Contains(msg, l) {
			t.Errorf("error %q reveals %q", msg, l)
		}
	}
}

// waitDone blocks a handler until its client leaves (or a bound passes), so
// that httptest's Close, which waits for handlers, never hangs.
func waitDone(r *http.Request, bound time.Duration) {
	select {
	case <-r.Context().Done():
	case <-time.After(bound):
	}
}

// ctxFor returns a context with the given timeout for one fetch.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// gzipped compresses s.
func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
