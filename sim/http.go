package sim

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"

	"vitrine/catalogue"
	"vitrine/httpjson"
	"vitrine/tiles"
	"vitrine/tracing"
)

// Handler serves the simulated backends over HTTP (`vitrine backends`):
// GET /NAME answers that tile's data as JSON (?user= personalises it) after
// the simulated latency, or a 503 when the simulator fails it, with a
// strong ETag (If-None-Match gets a 304) and no Cache-Control. A
// collection (Def.Item) answers GET /NAME/KEY the same way, or a 404 for a
// key it does not have; a key that is no catalogue.SlugPattern is a 404
// at once that never reaches the tile. GET /healthz
// says it serves; GET /stats counts the requests that reached each tile,
// per user; GET /.well-known/jwks.json is the demo identity provider's key
// set (idp.go). Backend names must be distinct, and neither healthz nor stats.
func Handler(backends []*Simulated, logger *slog.Logger) http.Handler {
	return TracedHandler(backends, logger, nil)
}

// TracedHandler is Handler with a server span per request, continuing the
// caller's trace, when tp is set (`vitrine backends -trace`).
func TracedHandler(backends []*Simulated, logger *slog.Logger, tp trace.TracerProvider) http.Handler {
	s := newServer(backends, logger)
	if tp == nil {
		return s
	}
	return otelhttp.NewHandler(s, "vitrine backends", tracing.HTTPOptions(tp,
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return tracing.SpanName(r.Method, s.pattern(r.URL.Path))
		}))...)
}

// newServer builds Handler's routes.
func newServer(backends []*Simulated, logger *slog.Logger) *server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	names := make([]string, len(backends))
	for i, b := range backends {
		names[i] = b.Name()
	}
	s := &server{logger: logger, routes: map[string]http.HandlerFunc{}, collections: map[string]*Simulated{},
		stats: newStats(names)}
	for _, b := range backends {
		s.add("/"+b.Name(), func(w http.ResponseWriter, r *http.Request) { s.serveTile(w, r, b, "") })
		if b.def.Item != nil {
			s.collections[b.Name()] = b
			s.paths = append(s.paths, "/"+b.Name()+"/{slug}")
		}
	}
	s.add("/healthz", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, r, http.StatusOK, []byte(`{"status":"ok"}`))
	})
	s.add("/stats", s.serveStats)
	s.add(DemoJWKSPath, serveDemoJWKS)
	return s
}

// server routes by exact path, with JSON errors (unlike http.ServeMux).
type server struct {
	logger *slog.Logger
	routes map[string]http.HandlerFunc
	paths  []string // in the order they were added, for the 404 message
	stats  *stats
	// collections are the tiles with items, by name: GET /NAME/KEY.
	collections map[string]*Simulated
}

func (s *server) add(path string, h http.HandlerFunc) {
	if _, dup := s.routes[path]; dup || path == "/" {
		panic(fmt.Sprintf("sim: Handler: route %q given twice or empty", path))
	}
	s.routes[path] = h
	s.paths = append(s.paths, path)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := s.routes[r.URL.Path]
	if !ok {
		h, ok = s.itemRoute(r.URL.Path)
	}
	if !ok {
		httpjson.Error(w, r, http.StatusNotFound, fmt.Sprintf("no route %q; the routes are %s",
			tiles.Clip(r.URL.Path, 64), strings.Join(s.paths, ", ")))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpjson.Error(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s; use GET or HEAD",
			tiles.Clip(r.Method, 16), r.URL.Path))
		return
	}
	h(w, r)
}

// itemRoute routes /NAME/KEY to the collection NAME; false when NAME is
// none. A key that is no slug names no item: a 404 before the tile.
func (s *server) itemRoute(path string) (http.HandlerFunc, bool) {
	name, key, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	b := s.collections[name]
	switch {
	case !ok || b == nil:
		return nil, false
	case !catalogue.SlugPattern.MatchString(key):
		return func(w http.ResponseWriter, r *http.Request) {
			httpjson.Error(w, r, http.StatusNotFound, fmt.Sprintf("no %s %q: a key is 1 to 64 characters of a-z, 0-9 and -",
				name, tiles.Clip(key, 64)))
		}, true
	}
	return func(w http.ResponseWriter, r *http.Request) { s.serveTile(w, r, b, key) }, true
}

// pattern is the route that serves path, for span names: the path itself,
// /NAME/{slug} for a collection's item, or "" for none.
func (s *server) pattern(path string) string {
	if _, ok := s.routes[path]; ok {
		return path
	}
	if name, _, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/"); ok && s.collections[name] != nil {
		return "/" + name + "/{slug}"
	}
	return ""
}

// serveTile answers b's content for the request's user, or its item key
// when key is set. Every request with a valid user counts as one that
// reached the tile.
func (s *server) serveTile(w http.ResponseWriter, r *http.Request, b *Simulated, key string) {
	start, name := time.Now(), b.Name()
	logged := name // the tile, or its item: category/outdoor
	if key != "" {
		logged += "/" + key
	}
	id := tiles.Clip(r.Header.Get("X-Request-Id"), 128)
	req, err := tiles.NewRequest(r.URL.Query().Get("user"))
	code := http.StatusBadRequest
	if err == nil {
		req.ID = id
		s.stats.counter(name, req.User).Add(1)
		var out tiles.Outcome
		if key == "" {
			out, err = b.Fetch(r.Context(), req)
		} else {
			out, err = b.FetchItem(r.Context(), key)
		}
		code = answer(w, r, out, err)
	} else {
		httpjson.Error(w, r, code, err.Error())
	}
	s.logger.DebugContext(r.Context(), "backend request", "tile", logged, "user", req.User,
		"request_id", id, "status", code, "elapsed", time.Since(start))
}

// answer writes the outcome of a fetch and returns its status.
func answer(w http.ResponseWriter, r *http.Request, out tiles.Outcome, err error) int {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The client left, or the server is shutting down.
		httpjson.Error(w, r, http.StatusServiceUnavailable, "request cancelled before the tile was ready")
		return http.StatusServiceUnavailable
	case errors.As(err, new(*tiles.Error)):
		httpjson.Error(w, r, http.StatusNotFound, err.Error()) // a collection's ENOTFOUND, its only code
		return http.StatusNotFound
	case errors.Is(err, ErrSimulated):
		httpjson.Error(w, r, http.StatusServiceUnavailable, err.Error())
		return http.StatusServiceUnavailable
	case err != nil:
		httpjson.Error(w, r, http.StatusInternalServerError, err.Error())
		return http.StatusInternalServerError
	}
	tag := etag(out.Data)
	w.Header().Set("ETag", tag)
	if etagMatches(r.Header.Values("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	httpjson.Write(w, r, http.StatusOK, out.Data)
	return http.StatusOK
}

// etag is a strong entity tag for body, equal for equal content.
func etag(body []byte) string {
	h := fnv.New64a()
	h.Write(body) // a hash.Hash never fails to write
	return `"` + hex.EncodeToString(h.Sum(nil)) + `"`
}

// etagMatches reports whether If-None-Match values name tag, by the weak
// comparison of RFC 9110 13.1.2 (W/ ignored; * matches).
func etagMatches(ifNoneMatch []string, tag string) bool {
	for _, v := range ifNoneMatch {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.TrimSpace(c)
			if c == "*" || strings.TrimPrefix(c, "W/") == tag {
				return true
			}
		}
	}
	return false
}

func (s *server) serveStats(w http.ResponseWriter, r *http.Request) {
	body, err := json.Marshal(s.stats.snapshot())
	if err != nil { // maps of strings to numbers always encode
		httpjson.Error(w, r, http.StatusInternalServerError, "stats: "+err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store") // it changes with every request
	httpjson.Write(w, r, http.StatusOK, body)
}

// maxStatKeys bounds the (tile, user) pairs that /stats counts one by
// one; past it, new users are counted together under otherUsers.
const (
	maxStatKeys = 10_000
	otherUsers  = "*" // never a valid user
)

// stats counts requests per tile and user; once a pair has been seen,
// counting it takes no lock.
type stats struct {
	tiles  []string
	counts sync.Map // statKey → *atomic.Int64
	keys   atomic.Int64
}

type statKey struct{ tile, user string }

func newStats(tiles []string) *stats { return &stats{tiles: tiles} }

// counter returns the counter of tile and user.
func (s *stats) counter(tile, user string) *atomic.Int64 {
	k := statKey{tile, user}
	if c, ok := s.counts.Load(k); ok {
		return c.(*atomic.Int64)
	}
	if s.keys.Load() >= maxStatKeys {
		k.user = otherUsers
	}
	c, loaded := s.counts.LoadOrStore(k, new(atomic.Int64))
	if !loaded {
		s.keys.Add(1)
	}
	return c.(*atomic.Int64)
}

// snapshot returns the counts by tile, then user ("" for anonymous), with
// every tile.
func (s *stats) snapshot() map[string]map[string]int64 {
	out := make(map[string]map[string]int64, len(s.tiles))
	for _, t := range s.tiles {
		out[t] = map[string]int64{}
	}
	s.counts.Range(func(k, c any) bool {
		key := k.(statKey)
		out[key.tile][key.user] = c.(*atomic.Int64).Load()
		return true
	})
	return out
}
