package servertest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// replica is an httptest server standing in for a Vitrine replica.
type replica struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits int
}

func newReplica(t *testing.T, h http.HandlerFunc) *replica {
	r := &replica{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.hits++
		r.mu.Unlock()
		h(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *replica) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits
}

func TestExampleNginxConfigRoundRobins(t *testing.T) {
	ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }
	a, b := newReplica(t, ok), newReplica(t, ok)
	n := Nginx(t, ShippedSite(t, "../examples/nginx.conf", a.srv.Listener.Addr().String(), b.srv.Listener.Addr().String()))

	const pages = 10
	for range pages {
		get(t, n.URL()+"/home")
	}
	if got, want := a.count(), pages/2; got != want {
		t.Errorf("replica A served %d pages; want %d", got, want)
	}
	if got, want := b.count(), pages/2; got != want {
		t.Errorf("replica B served %d pages; want %d", got, want)
	}
}

// A streamed answer, as web/stream.go sends it, passes through the
// shipped config tile by tile although proxy buffering is on: the client
// reads the first tile while the handler is blocked before its second,
// which it writes only once the client has the first.
//
// Found while writing this test: nginx 1.22 already passes on each chunk
// of a chunked HTTP/1.1 answer while buffering. X-Accel-Buffering: no is
// what makes it do so whatever the framing (with proxy_http_version 1.0
// in the config, this test passes only because of the header) and stops
// nginx reading a whole page ahead of a slow client.
func TestExampleNginxConfigPassesStreamedTilesOn(t *testing.T) {
	tests := []struct{ name, contentType, first, second string }{
		{"NDJSON", "application/x-ndjson", "{\"tile\":\"first\"}\n", "{\"tile\":\"second\"}\n"},
		{"HTML", "text/html; charset=utf-8", "<section id=first>\n", "<section id=second>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release, handlerDone := make(chan struct{}), make(chan struct{})
			var once sync.Once
			unblock := func() { once.Do(func() { close(release) }) }
			defer unblock() // on failure too: the servers close once the handler ends

			stream := func(w http.ResponseWriter, r *http.Request) {
				defer close(handlerDone)
				w.Header().Set("Content-Type", tt.contentType)
				w.Header().Set("X-Accel-Buffering", "no")
				io.WriteString(w, tt.first)
				http.NewResponseController(w).Flush()
				select {
				case <-release:
					io.WriteString(w, tt.second)
				case <-r.Context().Done():
				}
			}
			a, b := newReplica(t, stream), newReplica(t, stream)
			n := Nginx(t, ShippedSite(t, "../examples/nginx.conf", a.srv.Listener.Addr().String(), b.srv.Listener.Addr().String()))

			lines, first := firstLine(t, n.URL()+"/home")
			select {
			case line := <-first:
				if line != tt.first {
					t.Fatalf("first line = %q; want %q", line, tt.first)
				}
			case <-time.After(10 * time.Second): // a deadline for the failure, not a measurement
				t.Fatal("the first tile did not come through nginx while the handler waited: nginx held the stream")
			}
			select {
			case <-handlerDone:
				t.Fatal("the handler ended before the client read its first tile")
			default:
			}
			unblock()
			if line, err := lines.ReadString('\n'); err != nil || line != tt.second {
				t.Errorf("second line = %q, %v; want %q", line, err, tt.second)
			}
		})
	}
}

// firstLine requests url in the background (nginx may hold the header as
// well as the body) and sends the answer's first line on the channel; the
// reader is for the rest. The body is closed when the test ends.
func firstLine(t *testing.T, url string) (*bufio.Reader, <-chan string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	first := make(chan string, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			pw.CloseWithError(err)
			first <- ""
			return
		}
		defer res.Body.Close()
		body := bufio.NewReader(res.Body)
		line, _ := body.ReadString('\n')
		first <- line
		_, err = body.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	t.Cleanup(func() { pr.Close() })
	return bufio.NewReader(pr), first
}
