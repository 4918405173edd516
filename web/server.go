// Package web provides Vitrine's HTTP interface: the Echo routes, their
// handlers, content negotiation and the one error handler that turns every
// error into the contract's JSON shape.
package web

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/httpjson"
	"vitrine/identity"
	"vitrine/tiles"
)

// Options tune the server. A nil func or handler turns its feature off.
type Options struct {
	TestDelay time.Duration        // how long GET /test waits
	Catalogue *catalogue.Catalogue // the HTML page's product pictures
	// Metrics is served at GET /metrics; nil when the admin port serves it.
	Metrics http.Handler
	// InFlight is told of every request by route as it starts, and the
	// function it returns when it ends.
	InFlight func(route string) (done func())
	// WriteStall is how long a write may wait on a client that does not
	// read before its connection is cut; 0 means DefaultWriteStall.
	WriteStall time.Duration
	// WriteCut is told, by route, of every response the server cuts on a
	// listener from WatchWrites.
	WriteCut func(route string)
	// Primary names the tile whose result decides /home's status ("" none).
	Primary string
	// Pages are served in place of /home, each at its path; none: /home with agg's tiles.
	Pages []Page
	// TileParams names the page parameters each tile's URL uses, which
	// /tiles/NAME needs as query parameters.
	TileParams map[string][]string
	// SetCookie names the other tiles whose backends' Set-Cookie reach the
	// browser (the primary's always do); /home's header waits for them.
	SetCookie []string
	// CookiesDropped is told of the Set-Cookie lines of any other tile,
	// kept from the browser; nil: not counted.
	CookiesDropped func(tile string, n int)
	// Readiness says what GET /readyz reports; called on every probe, it
	// must not make a round trip. Nil: always ready.
	Readiness func() Readiness
	// Views maps a tile to one of ViewNames; others get viewOf's.
	Views map[string]string
	// TracerProvider traces every request; nil: tracing off, at no cost.
	TracerProvider trace.TracerProvider
	// Identity names the shopper of each request; nil: identity.Query.
	Identity identity.Source
	// Forward names every value of the shopper's request some tile
	// forwards (tiles.Forward.Union of the tiles'): only these are read.
	Forward tiles.Forward
	// AccessLog receives the line of each request; nil: NewServer's logger.
	AccessLog *slog.Logger
}

// NewServer returns the Echo instance serving Vitrine's routes. It panics
// if opts do not fit agg's tiles (Options.Check): a wiring mistake.
func NewServer(logger *slog.Logger, agg *aggregator.Aggregator, opts Options) *echo.Echo {
	if err := opts.Check(agg.Names()); err != nil {
		panic(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(logger)
	routes := map[string]bool{} // filled once the routes are added
	if opts.TracerProvider != nil {
		e.Pre(serverSpans(opts.TracerProvider)) // first: the span covers the rest
		e.Use(nameServerSpans(routes))
	}
	e.Pre(routeOnDecodedPath)
	e.Use(requestLogger(cmp.Or(opts.AccessLog, logger))) // outside Recover: it logs recovered panics
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true, // this goroutine's stack is enough
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			logger.ErrorContext(c.Request().Context(), "handler panicked", "method", c.Request().Method,
				"path", c.Request().URL.Path, "request_id", errorID(c), "err", err, "stack", string(stack))
			return fmt.Errorf("handler panicked: %v", err) // %v: no panic value decides the answer
		},
	}))
	if opts.InFlight != nil {
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				defer opts.InFlight(c.Path())()
				return next(c)
			}
		})
	}
	e.Use(writeDeadlines(opts.writeStall(), opts.WriteCut))
	e.Use(securityHeaders)
	e.Use(gzipByWeight())
	addRoutes(e, agg, newRenderer(opts.Views), opts)
	for _, r := range e.Routes() {
		routes[r.Method+" "+r.Path] = true
	}
	return e
}

// loggedURI is u as the request sent it, with the value of every user
// parameter (and every parameter whose name does not decode) replaced: a
// log line never holds a shopper's id in clear.
func loggedURI(u *url.URL) string {
	if u.RawQuery == "" {
		return u.EscapedPath()
	}
	params := strings.Split(u.RawQuery, "&")
	for i, p := range params {
		raw, _, _ := strings.Cut(p, "=")
		if name, err := url.QueryUnescape(raw); err != nil || name == "user" {
			params[i] = raw + "=redacted"
		}
	}
	return u.EscapedPath() + "?" + strings.Join(params, "&")
}

// requestLogger logs one line per request. It hands errors to the error
// handler itself, so that the status it logs is the one sent.
func requestLogger(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			r, status := c.Request(), c.Response().Status
			attrs := []slog.Attr{slog.String("method", r.Method), slog.String("uri", loggedURI(r.URL)),
				slog.Int("status", status), slog.Duration("latency", time.Since(start))}
			if id := loggedRequestID(c); id != "" {
				attrs = append(attrs, slog.String("request_id", id))
			}
			level := slog.LevelInfo
			if err != nil {
				attrs = append(attrs, slog.String("err", err.Error()))
				if status >= 500 {
					level = slog.LevelError
				}
			}
			logger.LogAttrs(r.Context(), level, "request", attrs...)
			return nil
		}
	}
}

// statusOf maps Vitrine's error codes to HTTP statuses.
var statusOf = map[string]int{
	tiles.EINVALID:  http.StatusBadRequest,
	tiles.ENOTFOUND: http.StatusNotFound,
}

// errorHandler writes every error as {"error": "..."} with its status;
// a 5xx is logged and shown as "internal error" with the request id.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			// A streamed page has already sent its status: log only.
			logger.WarnContext(c.Request().Context(), "error after response started", "path", c.Request().URL.Path,
				"request_id", loggedRequestID(c), "err", err)
			return
		}
		status, msg := http.StatusInternalServerError, "internal error"
		var te *tiles.Error
		var he *echo.HTTPError
		switch {
		case errors.As(err, &te):
			if s, ok := statusOf[te.Code]; ok { // the others are internal
				status, msg = s, te.Message
			}
		case errors.As(err, &he):
			status = he.Code
			msg = httpErrorMessage(c, he)
		}
		if status >= 500 {
			id := errorID(c)
			logger.ErrorContext(c.Request().Context(), "request failed", "method", c.Request().Method,
				"path", c.Request().URL.Path, "request_id", id, "err", err)
			msg = "internal error; quote request id " + id + " when reporting it"
		}
		httpjson.Error(c.Response(), c.Request(), status, msg)
	}
}

// errorID is the request's id, given it here if no handler did: a 5xx
// names it to the client and in the log, which alone holds the cause.
func errorID(c echo.Context) string {
	if id := loggedRequestID(c); id != "" {
		return id
	}
	return requestID(c)
}

// httpErrorMessage gives Echo's own errors a sentence a person can act on.
func httpErrorMessage(c echo.Context, he *echo.HTTPError) string {
	r := c.Request()
	switch he.Code {
	case http.StatusNotFound:
		return fmt.Sprintf("no such path %s; try %s", r.URL.Path, strings.Join(suggestedPaths(c.Echo()), ", "))
	case http.StatusMethodNotAllowed:
		// Echo's Allow lists OPTIONS too, which no one needs to be told.
		allow := strings.TrimPrefix(c.Response().Header().Get(echo.HeaderAllow), "OPTIONS, ")
		if allow == "" {
			allow = http.MethodGet
		}
		return fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, allow)
	}
	if m, ok := he.Message.(string); ok {
		return m
	}
	return strings.ToLower(http.StatusText(he.Code))
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}
