package web

import (
	"cmp"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/pprof"
	runtimepprof "runtime/pprof"
	"strings"
	"time"

	"vitrine/httpjson"
	"vitrine/tiles"
)

var adminPaths = []string{"/metrics", "/tiles", "/healthz", "/readyz", "/debug/pprof/"}

// AdminRoute is a route NewAdmin adds to the operator port.
type AdminRoute struct {
	Path    string
	Handler http.Handler
}

// postOnly serves path with h for POST, and answers other methods with
// the contract's JSON 405.
func postOnly(path string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			httpjson.Error(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s; use POST",
				tiles.Clip(r.Method, 32), path))
			return
		}
		h(w, r)
	})
}

// NewAdmin returns the handler of the operator port: metrics and tileHosts
// (GET /tiles with the backends' hosts: AdminTiles) if not nil, /healthz,
// /readyz as readiness reports it (nil: always ready), pprof on a private
// mux, never http.DefaultServeMux, which the public port could expose, and
// routes (such as PurgeRoute). Errors are JSON, except those pprof's own
// handlers write.
func NewAdmin(metrics, tileHosts http.Handler, readiness func() Readiness, routes ...AdminRoute) http.Handler {
	mux, paths := http.NewServeMux(), adminPaths
	for _, r := range routes {
		mux.Handle(r.Path, r.Handler)
		paths = append(paths[:len(paths):len(paths)], r.Path)
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		httpjson.Error(w, r, http.StatusNotFound, fmt.Sprintf("no such path %s on the admin port; try %s",
			tiles.Clip(r.URL.Path, 128), strings.Join(paths, ", ")))
	}
	if metrics != nil {
		mux.Handle("/metrics", adminReadOnly(metrics))
	}
	if tileHosts != nil {
		mux.Handle("/tiles", adminReadOnly(tileHosts))
	}
	mux.Handle("/healthz", adminReadOnly(handleHealth))
	mux.Handle("/readyz", adminReadOnly(handleReady(readiness, true)))
	mux.HandleFunc("/debug/pprof/{$}", pprofIndex)
	mux.HandleFunc("/debug/pprof/", pprof.Index) // the named profiles (heap, goroutine, ...)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol) // go tool pprof POSTs here
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No cmdline: the command line may hold a secret, and the port no password.
	mux.HandleFunc("/debug/pprof/cmdline", notFound)
	mux.HandleFunc("/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

// pprofIndex lists what pprof serves here, as net/http/pprof's index does
// but without cmdline.
func pprofIndex(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<title>/debug/pprof/</title>\n<p>Profiles (count):</p>\n<ul>\n")
	for _, p := range runtimepprof.Profiles() {
		fmt.Fprintf(&b, "<li><a href=\"%[1]s?debug=1\">%[1]s</a> (%d)</li>\n", html.EscapeString(p.Name()), p.Count())
	}
	b.WriteString(`<li><a href="profile?seconds=30">profile</a>: 30s of CPU</li>` + "\n" +
		`<li><a href="trace?seconds=5">trace</a>: 5s of execution trace</li>` + "\n</ul>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, b.String()) // a client that left is not an error to report
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

// Readiness is what GET /readyz reports. Ready (200, else 503) is whether
// this replica can serve whole pages, as the caller decides; a shared tier
// down or a breaker not closed is "degraded" but ready.
type Readiness struct {
	Ready bool
	Redis *DependencyState // the shared tier; nil without -redis
	Tiles []TileState      // in page order
}

// DependencyState is the state of something a replica talks to.
type DependencyState struct {
	State string    // "up", "degraded" (up, but failing calls) or "down"
	Since time.Time // when it entered State; zero if not known
	Error string    // why it is down or degraded; only the admin port shows it (it may name a host)
}

// TileState is a tile's circuit breaker: "closed", "open", "half-open",
// or "" for none.
type TileState struct {
	Name    string
	Breaker string
}

// status says how ready r is: "ready", "degraded" or "unready".
func (r Readiness) status() string {
	if !r.Ready {
		return "unready"
	}
	if r.Redis != nil && r.Redis.State != "up" {
		return "degraded"
	}
	for _, t := range r.Tiles {
		if t.Breaker != "" && t.Breaker != "closed" {
			return "degraded"
		}
	}
	return "ready"
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
		b = appendString(b, t.Name)
		b = append(b, `:{"breaker":`...)
		b = appendString(b, cmp.Or(t.Breaker, "none"))
		b = append(b, '}')
	}
	return append(b, "}}"...)
}
