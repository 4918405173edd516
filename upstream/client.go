package upstream

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"vitrine/tracing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
)

// maxRedirects is how many redirects one fetch follows: enough for a moved
// path or a trailing slash, few enough that a loop fails fast.
const maxRedirects = 5

// The redirect failures, returned by checkRedirect through http.Client.Do.
var (
	errOffHost       = errors.New("redirect off the backend's host")
	errRedirectLoop  = errors.New("redirect loop")
	errManyRedirects = errors.New("too many redirects")
)

// NewClient returns the HTTP client that every tile should share, so that
// all backends draw on one pool of kept-alive connections. Its transport is
// a clone of http.DefaultTransport (proxy from the environment, HTTP/2 when
// a TLS backend offers it) with pools sized for a gateway's concurrency and
// a short dial and TLS handshake timeout. There is deliberately no overall
// Client.Timeout and no ResponseHeaderTimeout: each fetch's context carries
// the tile's deadline, which bounds headers and body alike. Compression is
// left on, so the transport asks for gzip and decodes it transparently (the
// body size limit then applies to the decoded body). Redirects are followed
// only to the original URL's scheme, host and port, at most 5 times.
func NewClient() *http.Client {
	return NewTracedClient(nil)
}

// NewTracedClient is NewClient whose requests are traced with tp: each
// round trip is a client span, child of the span in the request's context
// (the attempt), and carries that span's W3C traceparent to the backend.
// A nil tp (tracing off) gives NewClient's plain transport, which creates
// no span and sends no traceparent.
func NewTracedClient(tp trace.TracerProvider) *http.Client {
	base := newTransport()
	c := &http.Client{Transport: base, CheckRedirect: checkRedirect}
	if tp != nil {
		c.Transport = tracedTransport{otelhttp.NewTransport(base, tracing.HTTPOptions(tp)...), base}
	}
	return c
}

// tracedTransport is otelhttp's transport, which does not pass
// CloseIdleConnections on: without it Client.CloseIdleConnections would
// leave the pool's connections (and their goroutines) open.
type tracedTransport struct {
	*otelhttp.Transport
	base *http.Transport
}

func (t tracedTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// newTransport is the shared client's tuned transport (see NewClient).
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4096
	t.MaxIdleConnsPerHost = 1024
	t.MaxConnsPerHost = 0 // the per-tile bulkhead caps concurrency, not the pool
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	t.DialContext = (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 3 * time.Second
	t.ResponseHeaderTimeout = 0
	t.DisableCompression = false
	return t
}

// defaultClient is the client of every Fetcher built without one.
var defaultClient = sync.OnceValue(NewClient)

// checkRedirect keeps a fetch on its backend: a redirect elsewhere could
// hand a personalised request (its user and request id) to a third party.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if origin(req.URL.Scheme, req.URL.Host) != origin(via[0].URL.Scheme, via[0].URL.Host) {
		return errOffHost
	}
	next := req.URL.String()
	for _, v := range via {
		if v.URL.String() == next {
			return errRedirectLoop
		}
	}
	if len(via) > maxRedirects {
		return errManyRedirects
	}
	return nil
}

// origin is scheme://host:port with the default port made explicit, so that
// http://h and http://h:80 are the same origin.
func origin(scheme, hostport string) string {
	scheme = strings.ToLower(scheme)
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), ""
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + strings.ToLower(host) + ":" + port
}
