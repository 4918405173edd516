package web

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"

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
	// pprof.Index also serves the named profiles: /debug/pprof/heap,
	// goroutine, allocs, block, mutex, threadcreate.
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
