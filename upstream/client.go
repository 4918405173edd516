package upstream

import (
	"cmp"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"vitrine/tracing"
)

// maxRedirects is how many redirects one fetch follows.
const maxRedirects = 5

// The redirect failures, returned by checkRedirect.
var (
	errOffHost       = errors.New("redirect off the backend's host")
	errRedirectLoop  = errors.New("redirect loop")
	errManyRedirects = errors.New("too many redirects")
)

// NewClient returns the HTTP client every tile should share: one pool of
// kept-alive connections, no timeout of its own (each fetch's context has
// the tile's deadline), gzip decoded before the body limit applies, and
// redirects followed only to the original scheme, host and port, and each
// fetch's response head bounded by its tile's limit (Options.MaxHeaderBytes).
func NewClient() *http.Client {
	return NewTracedClient(nil)
}

// NewTracedClient is NewClient whose round trips are client spans on tp,
// carrying the W3C traceparent to the backend. A nil tp gives NewClient's.
func NewTracedClient(tp trace.TracerProvider) *http.Client {
	base := &transports{}
	c := &http.Client{Transport: base, CheckRedirect: checkRedirect}
	if tp != nil {
		c.Transport = tracedTransport{otelhttp.NewTransport(hideUser{base}, tracing.HTTPOptions(tp)...), base}
	}
	return c
}

// hideUser, under otelhttp's transport, rewrites the client span's url.full
// (which otelhttp sets before the round trip) with the user parameter's
// values as "redacted": a span never carries the shopper's id.
type hideUser struct{ base http.RoundTripper }

func (h hideUser) RoundTrip(r *http.Request) (*http.Response, error) {
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() && r.URL.Query().Has("user") {
		u := *r.URL
		q := u.Query()
		for i := range q["user"] {
			q["user"][i] = "redacted"
		}
		u.User, u.RawQuery = nil, q.Encode()
		span.SetAttributes(attribute.String("url.full", u.String()))
	}
	return h.base.RoundTrip(r)
}

// tracedTransport passes CloseIdleConnections on, as otelhttp's transport
// does not.
type tracedTransport struct {
	*otelhttp.Transport
	base *transports
}

func (t tracedTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// headLimitKey carries a fetch's response head limit to transports.
type headLimitKey struct{}

// transports is the shared client's round tripper: one tuned transport per
// response head limit (MaxResponseHeaderBytes is a transport's, not a
// request's), so tiles with the same limit share a pool of connections.
type transports struct{ sync.Map } // limit -> *http.Transport

func (t *transports) RoundTrip(r *http.Request) (*http.Response, error) {
	limit, _ := r.Context().Value(headLimitKey{}).(int64)
	limit = cmp.Or(limit, DefaultMaxHeaderBytes)
	tr, ok := t.Load(limit)
	if !ok {
		tr, _ = t.LoadOrStore(limit, newTransport(limit))
	}
	return tr.(*http.Transport).RoundTrip(r)
}

func (t *transports) CloseIdleConnections() {
	for _, tr := range t.Range {
		tr.(*http.Transport).CloseIdleConnections()
	}
}

// newTransport is a tuned transport for transports (see NewClient): a
// clone of http.DefaultTransport (proxy from the environment, HTTP/2, no
// cap per host: the per-tile bulkhead caps concurrency, not the pool).
func newTransport(maxHead int64) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4096
	t.MaxIdleConnsPerHost = 1024
	t.DialContext = (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 3 * time.Second
	t.MaxResponseHeaderBytes = maxHead
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
