package web

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"vitrine/httpjson"
	"vitrine/tiles"
)

// adminPaths is what a 404 on the admin port suggests.
var adminPaths = []string{"/metrics", "/healthz", "/readyz", "/debug/pprof/"}

// NewAdmin returns the handler of the operator port (-admin-addr): metrics
// (if not nil) at /metrics, /healthz, /readyz as readiness reports it (nil:
// always ready), and net/http/pprof under /debug/pprof/, on a private mux:
// never on http.DefaultServeMux, as the public port must not expose a
// profiler. Errors are JSON, except those pprof's own handlers write.
func NewAdmin(metrics http.Handler, readiness func() Readiness) http.Handler {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("/metrics", adminReadOnly(metrics))
	}
	mux.Handle("/healthz", adminReadOnly(handleHealth))
	mux.Handle("/readyz", adminReadOnly(handleReady(readiness, true)))
	// pprof.Index also serves the named profiles (heap, goroutine, ...).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol) // go tool pprof POSTs here
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Error(w, r, http.StatusNotFound, fmt.Sprintf("no such path %s on the admin port; try %s",
			tiles.Clip(r.URL.Path, 128), strings.Join(adminPaths, ", ")))
	})
	return adminNosniff(mux)
}

// adminReadOnly answers GET and HEAD with h, and any other method with the
// contract's JSON 405.
func adminReadOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httpjson.Error(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s; use GET",
				tiles.Clip(r.Method, 32), r.URL.Path))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// adminNosniff sets the header every Vitrine response carries.
func adminNosniff(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// Readiness is what GET /readyz reports: whether this replica can serve,
// and the state of what it depends on.
type Readiness struct {
	// Ready is whether this replica can serve whole pages: 200 when true,
	// 503 when not. The caller decides; a shared tier down, or a breaker
	// open on a tile with a fallback, is "degraded" but ready.
	Ready bool
	Redis *DependencyState // the shared tier; nil without -redis
	Tiles []TileState      // in page order
}

// DependencyState is the state of something a replica talks to.
type DependencyState struct {
	State string    // "up" or "down"
	Since time.Time // when it entered State; zero if not known
	// Error says why it is down; only the admin port shows it, as it may
	// name a host.
	Error string
}

// TileState is a tile's circuit breaker: "closed", "open", "half-open",
// or "" for none.
type TileState struct {
	Name    string
	Breaker string
}

// Readiness statuses.
const (
	statusReady    = "ready"
	statusDegraded = "degraded" // ready, but the shared tier is down or a breaker is not closed
	statusUnready  = "unready"
)

// status says how ready r is.
func (r Readiness) status() string {
	if !r.Ready {
		return statusUnready
	}
	if r.Redis != nil && r.Redis.State != "up" {
		return statusDegraded
	}
	for _, t := range r.Tiles {
		if t.Breaker != "" && t.Breaker != "closed" {
			return statusDegraded
		}
	}
	return statusReady
}

// handleReady serves /readyz as readiness (nil: always ready) says, on
// either port; detail adds the shared tier's error, for the admin port.
func handleReady(readiness func() Readiness, detail bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd := Readiness{Ready: true}
		if readiness != nil {
			rd = readiness()
		}
		code := http.StatusOK
		if !rd.Ready {
			code = http.StatusServiceUnavailable
		}
		// A probe answered by a cache would report a state that has passed.
		w.Header().Set("Cache-Control", "no-store")
		httpjson.Write(w, r, code, append(appendReadiness(make([]byte, 0, 256), rd, detail), '\n'))
	})
}

// appendReadiness writes r as /readyz's JSON, the tiles in page order:
// {"status":"ready","redis":{"state":"up","since":"RFC3339"},
// "tiles":{"banners":{"breaker":"closed"}}}.
func appendReadiness(b []byte, r Readiness, detail bool) []byte {
	b = append(b, `{"status":`...)
	b = appendString(b, r.status())
	if d := r.Redis; d != nil {
		b = append(b, `,"redis":{"state":`...)
		b = appendString(b, d.State)
		if !d.Since.IsZero() {
			b = append(b, `,"since":`...)
			b = appendString(b, d.Since.UTC().Format(time.RFC3339))
		}
		if detail && d.Error != "" {
			b = append(b, `,"error":`...)
			b = appendString(b, d.Error)
		}
		b = append(b, '}')
	}
	b = append(b, `,"tiles":{`...)
	for i, t := range r.Tiles {
		if i > 0 {
			b = append(b, ',')
		}
		breaker := t.Breaker
		if breaker == "" {
			breaker = "none"
		}
		b = appendString(b, t.Name)
		b = append(b, `:{"breaker":`...)
		b = appendString(b, breaker)
		b = append(b, '}')
	}
	return append(b, "}}"...)
}
