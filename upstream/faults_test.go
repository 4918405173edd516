package upstream

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/tiles"
)

// fault is one way a backend can fail a fetch.
type fault struct {
	name    string
	handler http.HandlerFunc                               // served at secretPath
	setup   func(t *testing.T) (url string, hide []string) // instead of handler
	edit    func(*Options)
	timeout time.Duration // the fetch's deadline; default 5s

	wantErr    string // the whole error message
	wantIs     error  // errors.Is must hold, when set
	wantCode   int    // a *tiles.BackendError with this code, when set
	wantGone   bool
	wantResult string // what Observe was told
}

func TestFetchFaults(t *testing.T) {
	faults := []fault{
		{name: "500", handler: status(500), wantErr: "products: backend answered 500", wantCode: 500, wantResult: "500"},
		{name: "404", handler: status(404), wantErr: "products: backend answered 404", wantCode: 404, wantGone: true, wantResult: "404"},
		{name: "410", handler: status(410), wantErr: "products: backend answered 410", wantCode: 410, wantGone: true, wantResult: "410"},
		{name: "304 to an unconditional request", handler: status(304), wantErr: "products: backend answered 304", wantCode: 304, wantResult: "304"},
		{name: "slow headers", handler: func(w http.ResponseWriter, r *http.Request) { waitDone(r, 5*time.Second) },
			timeout: 50 * time.Millisecond, wantErr: "products: no answer: context deadline exceeded",
			wantIs: context.DeadlineExceeded, wantResult: "timeout"},
		{name: "body trickles past the deadline", handler: trickle,
			timeout: 50 * time.Millisecond, wantErr: "products: no answer: context deadline exceeded",
			wantIs: context.DeadlineExceeded, wantResult: "timeout"},
		{name: "huge body, chunked", handler: huge(2<<20, false), wantErr: "products: body over 1 MiB", wantResult: "too_large"},
		{name: "huge body, declared", handler: declared(2 << 20), wantErr: "products: body over 1 MiB", wantResult: "too_large"},
		{name: "body over a configured limit", handler: huge(101, false), edit: func(o *Options) { o.MaxBody = 100 },
			wantErr: "products: body over 100 bytes", wantResult: "too_large"},
		{name: "body over a fractional limit", handler: huge(2000, true), edit: func(o *Options) { o.MaxBody = 1536 },
			wantErr: "products: body over 1.5 KiB", wantResult: "too_large"},
		{name: "invalid JSON", handler: serveJSON(`{"items": [1, 2`), wantErr: "products: body is not valid JSON", wantResult: "bad_json"},
		{name: "empty body", handler: serveJSON(""), wantErr: "products: body is not valid JSON", wantResult: "bad_json"},
		{name: "invalid UTF-8 in JSON", handler: serveJSON("\"\xff\""), wantErr: "products: body is not valid JSON", wantResult: "bad_json"},
		{name: "text/plain", handler: typed("text/plain; charset=utf-8", `{"a":1}`),
			wantErr: "products: answered text/plain, not JSON", wantResult: "bad_content_type"},
		{name: "no content type", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil // keep net/http from sniffing one
			_, _ = w.Write([]byte(`{"a":1}`))
		}, wantErr: "products: answered without a content type, not JSON", wantResult: "bad_content_type"},
		{name: "malformed content type", handler: typed("application/json; ;=", `{}`),
			wantErr: "products: answered a malformed content type, not JSON", wantResult: "bad_content_type"},
		{name: "html tile answering JSON", handler: serveJSON(`{}`), edit: func(o *Options) { o.HTML = true },
			wantErr: "products: answered application/json, not HTML", wantResult: "bad_content_type"},
		{name: "html tile, invalid UTF-8", handler: typed("text/html", "<p>\xff</p>"), edit: func(o *Options) { o.HTML = true },
			wantErr: "products: HTML body is not valid UTF-8", wantResult: "bad_html"},
		{name: "connection refused", setup: refused, wantErr: "products: connection refused", wantResult: "refused"},
		{name: "connection closed without an answer", setup: rawBackend(""),
			wantErr: "products: connection closed without an answer", wantResult: "closed"},
		{name: "connection cut mid-body", setup: rawBackend(partialAnswer),
			wantErr: "products: answer cut short", wantResult: "truncated"},
		{name: "connection reset mid-body", setup: rawBackend(partialAnswer + "RST"),
			wantErr: "products: connection reset", wantResult: "reset"},
		{name: "redirect loop", handler: redirectTo(secretPath), wantErr: "products: redirect loop", wantResult: "redirect_loop"},
		{name: "endless redirects", handler: endlessRedirects, wantErr: "products: too many redirects", wantResult: "too_many_redirects"},
		{name: "redirect off the host", setup: offHost, wantErr: "products: redirect off the backend's host", wantResult: "redirect_off_host"},
		{name: "redirect off the host, caller's client", setup: offHost, edit: func(o *Options) {
			o.Client = &http.Client{Transport: o.Client.Transport} // follows any redirect
		}, wantErr: "products: redirect off the backend's host", wantResult: "redirect_off_host"},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) { checkFault(t, tt) })
	}
}

func checkFault(t *testing.T, tt fault) {
	url, hide := "", []string(nil)
	if tt.setup != nil {
		url, hide = tt.setup(t)
	} else {
		srv := newBackend(t, tt.handler)
		url, hide = srv.URL+secretPath, []string{srv.URL}
	}
	f, obs := newFetcher(t, url, tt.edit)
	timeout := cmp.Or(tt.timeout, 5*time.Second)
	out, err := f.Fetch(ctxFor(t, timeout), tiles.Request{User: "ann", ID: "req-1"})
	if err == nil {
		t.Fatalf("got %+v, no error; want %q", out, tt.wantErr)
	}
	if got := err.Error(); got != tt.wantErr {
		t.Errorf("got error %q; want %q", got, tt.wantErr)
	}
	assertNoAddress(t, err.Error(), append(hide, url)...)
	if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
		t.Errorf("got error %v; want one that is %v", err, tt.wantIs)
	}
	var be *tiles.BackendError
	switch {
	case tt.wantCode == 0 && errors.As(err, &be):
		t.Errorf("got a BackendError %v; want none", be)
	case tt.wantCode != 0 && !errors.As(err, &be):
		t.Errorf("got error %T; want a *tiles.BackendError", err)
	case tt.wantCode != 0 && (be.Code != tt.wantCode || be.Gone() != tt.wantGone):
		t.Errorf("got code %d, Gone %v; want %d, %v", be.Code, be.Gone(), tt.wantCode, tt.wantGone)
	}
	got := obs.results()
	if len(got) != 1 || !strings.HasSuffix(got[0], " "+tt.wantResult) {
		t.Errorf("got Observe calls %q; want one ending %q", got, tt.wantResult)
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error":"backend detail that stays in the backend"}`))
	}
}

func typed(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(body))
	}
}

// trickle sends a JSON array one element every 10ms until the client
// leaves.
func trickle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	rc := http.NewResponseController(w)
	for i := 0; i < 500; i++ {
		if _, err := fmt.Fprintf(w, "%d,", i); err != nil || rc.Flush() != nil {
			return
		}
		waitDone(r, 10*time.Millisecond)
		if r.Context().Err() != nil {
			return
		}
	}
}

// huge answers n bytes of a JSON string, declaring its length or not.
func huge(n int, declared bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if declared {
			w.Header().Set("Content-Length", fmt.Sprint(n))
		} else {
			_ = http.NewResponseController(w).Flush() // chunked: no length
		}
		_, _ = w.Write([]byte(`"` + strings.Repeat("x", n-2) + `"`))
	}
}

// declared promises n bytes and sends none until the client leaves: a
// declared length over the limit must fail before reading.
func declared(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(n))
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		waitDone(r, 5*time.Second)
	}
}

func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	}
}

// endlessRedirects sends /N to /N+1, a chain with no loop and no end.
func endlessRedirects(w http.ResponseWriter, r *http.Request) {
	var n int
	_, _ = fmt.Sscanf(strings.TrimPrefix(r.URL.Path, secretPath), "/%d", &n)
	http.Redirect(w, r, fmt.Sprintf("%s/%d", secretPath, n+1), http.StatusFound)
}

// offHost redirects to a second backend, which must never be asked.
func offHost(t *testing.T) (string, []string) {
	var asked atomic.Int32
	other := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		serveJSON(`{}`)(w, r)
	})
	t.Cleanup(func() {
		if n := asked.Load(); n != 0 {
			t.Errorf("the other host was asked %d times; want 0", n)
		}
	})
	srv := newBackend(t, redirectTo(other.URL+"/elsewhere"))
	return srv.URL + secretPath, []string{srv.URL, other.URL, "elsewhere"}
}

// refused returns the address of a listener that has been closed.
func refused(t *testing.T) (string, []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + secretPath, []string{addr}
}

// partialAnswer promises 1000 bytes and sends 12.
const partialAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[1,2,3,4,5,6"

// rawBackend serves every connection by reading one request and writing
// answer, then closing: with a trailing "RST", by resetting the connection
// (SO_LINGER 0) instead of closing it cleanly.
func rawBackend(answer string) func(t *testing.T) (string, []string) {
	return func(t *testing.T) (string, []string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				serveRaw(c.(*net.TCPConn), answer)
			}
		}()
		t.Cleanup(func() { _ = ln.Close(); <-done })
		addr := ln.Addr().String()
		return "http://" + addr + secretPath, []string{addr}
	}
}

func serveRaw(c *net.TCPConn, answer string) {
	defer c.Close()
	if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
		return
	}
	body, reset := strings.CutSuffix(answer, "RST")
	_, _ = c.Write([]byte(body))
	if reset {
		time.Sleep(20 * time.Millisecond) // let the client take the partial body first
		_ = c.SetLinger(0)
	}
}

// TestFetchKeepsConnectionAfterError checks that an unwanted body is read
// off the wire, so that a backend failing with long error pages does not
// also cost a new connection per fetch.
func TestFetchKeepsConnectionAfterError(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Repeat("<p>down</p>", 3000))) // 33 KB
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	f, _ := newFetcher(t, srv.URL+secretPath, nil)
	for range 3 {
		if _, err := f.Fetch(t.Context(), tiles.Request{}); err == nil {
			t.Fatal("got no error; want the 503")
		}
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("got %d connections for 3 fetches; want 1", got)
	}
}
