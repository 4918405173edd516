package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"vitrine/aggregator"
	"vitrine/web"
)

// readyServer is the public handler with readiness as /readyz's source.
func readyServer(t *testing.T, readiness func() web.Readiness) http.Handler {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	agg, err := aggregator.New(fetchers(threeOK()...), aggregator.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return web.NewServer(logger, agg, web.Options{Readiness: readiness})
}

// TestReadyz: /readyz on both ports says ready, degraded or unready as the
// replica's readiness and its dependencies are, 200 when it can serve and
// 503 when not; only the admin port shows why the shared tier is down.
func TestReadyz(t *testing.T) {
	since := time.Date(2026, 3, 1, 12, 30, 0, 0, time.FixedZone("CET", 3600))
	closed := []web.TileState{{"banners", "closed"}, {"products", "closed"}, {"recommendations", "closed"}}
	down := &web.DependencyState{State: "down", Since: since, Error: "dial tcp 10.0.0.9:6379: connection refused"}
	tests := []struct {
		name      string
		readiness func() web.Readiness // nil: none given
		code      int
		public    string // the body on the public port
		admin     string // on the admin port, if not public
	}{
		{name: "no readiness given", code: 200, public: `{"status":"ready","tiles":{}}`},
		{name: "ready without redis",
			readiness: func() web.Readiness { return web.Readiness{Ready: true, Tiles: closed} },
			code:      200,
			public:    `{"status":"ready","tiles":{"banners":{"breaker":"closed"},"products":{"breaker":"closed"},"recommendations":{"breaker":"closed"}}}`},
		{name: "ready with redis up",
			readiness: func() web.Readiness {
				return web.Readiness{Ready: true, Redis: &web.DependencyState{State: "up", Since: since}, Tiles: closed[:1]}
			},
			code:   200,
			public: `{"status":"ready","redis":{"state":"up","since":"2026-03-01T11:30:00Z"},"tiles":{"banners":{"breaker":"closed"}}}`},
		{name: "redis down: degraded, still 200, error on the admin port only",
			readiness: func() web.Readiness { return web.Readiness{Ready: true, Redis: down, Tiles: closed[:1]} },
			code:      200,
			public:    `{"status":"degraded","redis":{"state":"down","since":"2026-03-01T11:30:00Z"},"tiles":{"banners":{"breaker":"closed"}}}`,
			admin:     `{"status":"degraded","redis":{"state":"down","since":"2026-03-01T11:30:00Z","error":"dial tcp 10.0.0.9:6379: connection refused"},"tiles":{"banners":{"breaker":"closed"}}}`},
		{name: "redis answering but failing: degraded, still 200",
			readiness: func() web.Readiness {
				return web.Readiness{Ready: true, Redis: &web.DependencyState{State: "degraded", Since: since,
					Error: "OOM command not allowed"}}
			},
			code:   200,
			public: `{"status":"degraded","redis":{"state":"degraded","since":"2026-03-01T11:30:00Z"},"tiles":{}}`,
			admin:  `{"status":"degraded","redis":{"state":"degraded","since":"2026-03-01T11:30:00Z","error":"OOM command not allowed"},"tiles":{}}`},
		{name: "a breaker open: degraded",
			readiness: func() web.Readiness {
				return web.Readiness{Ready: true, Tiles: []web.TileState{{"recommendations", "open"}, {"banners", "closed"}}}
			},
			code:   200,
			public: `{"status":"degraded","tiles":{"recommendations":{"breaker":"open"},"banners":{"breaker":"closed"}}}`},
		{name: "a breaker half-open: degraded",
			readiness: func() web.Readiness {
				return web.Readiness{Ready: true, Tiles: []web.TileState{{"products", "half-open"}}}
			},
			code:   200,
			public: `{"status":"degraded","tiles":{"products":{"breaker":"half-open"}}}`},
		{name: "a tile without a breaker is not degraded",
			readiness: func() web.Readiness { return web.Readiness{Ready: true, Tiles: []web.TileState{{Name: "weather"}}} },
			code:      200,
			public:    `{"status":"ready","tiles":{"weather":{"breaker":"none"}}}`},
		{name: "redis up without a since",
			readiness: func() web.Readiness { return web.Readiness{Ready: true, Redis: &web.DependencyState{State: "up"}} },
			code:      200,
			public:    `{"status":"ready","redis":{"state":"up"},"tiles":{}}`},
		{name: "unready: 503",
			readiness: func() web.Readiness { return web.Readiness{Ready: false, Redis: down, Tiles: closed[:1]} },
			code:      503,
			public:    `{"status":"unready","redis":{"state":"down","since":"2026-03-01T11:30:00Z"},"tiles":{"banners":{"breaker":"closed"}}}`,
			admin:     `{"status":"unready","redis":{"state":"down","since":"2026-03-01T11:30:00Z","error":"dial tcp 10.0.0.9:6379: connection refused"},"tiles":{"banners":{"breaker":"closed"}}}`},
		{name: "names escaped",
			readiness: func() web.Readiness { return web.Readiness{Ready: true, Tiles: []web.TileState{{`a"<b`, "closed"}}} },
			code:      200,
			public:    `{"status":"ready","tiles":{"a\"\u003cb":{"breaker":"closed"}}}`},
	}
	for _, tt := range tests {
		if tt.admin == "" {
			tt.admin = tt.public
		}
		ports := []struct {
			name string
			h    http.Handler
			want string
		}{
			{"public", readyServer(t, tt.readiness), tt.public},
			{"admin", web.NewAdmin(nil, nil, tt.readiness), tt.admin},
		}
		for _, p := range ports {
			t.Run(tt.name+"/"+p.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				p.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
				if rec.Code != tt.code {
					t.Errorf("status = %d; want %d", rec.Code, tt.code)
				}
				if got, want := strings.TrimSuffix(rec.Body.String(), "\n"), p.want; got != want {
					t.Errorf("body = %s\nwant   %s", got, want)
				}
				if !json.Valid(rec.Body.Bytes()) {
					t.Errorf("body %q is not JSON", rec.Body)
				}
				checkReadyHeaders(t, rec)
			})
		}
	}
}

// checkReadyHeaders wants /readyz's JSON never stored by a cache.
func checkReadyHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type = %q; want application/json", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
}

// TestReadyzMethods: /readyz answers HEAD as GET, headers only, and refuses other methods with the contract's 405, on both ports; a 404
// on either suggests it.
func TestReadyzMethods(t *testing.T) {
	unready := func() web.Readiness { return web.Readiness{} }
	for _, p := range []struct {
		name string
		h    http.Handler
	}{
		{"public", readyServer(t, unready)},
		{"admin", web.NewAdmin(nil, nil, unready)},
	} {
		t.Run(p.name, func(t *testing.T) {
			for _, tc := range []struct {
				method string
				code   int
				body   string // in the body
			}{
				{http.MethodHead, http.StatusServiceUnavailable, ""},
				{http.MethodPost, http.StatusMethodNotAllowed, "method POST is not allowed on /readyz"},
			} {
				rec := httptest.NewRecorder()
				p.h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/readyz", nil))
				if rec.Code != tc.code {
					t.Errorf("%s /readyz: status = %d; want %d", tc.method, rec.Code, tc.code)
				}
				if !strings.Contains(rec.Body.String(), tc.body) {
					t.Errorf("%s /readyz: body %q; want %q", tc.method, rec.Body, tc.body)
				}
			}
			rec := httptest.NewRecorder()
			p.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nope", nil))
			if !strings.Contains(rec.Body.String(), "/readyz") {
				t.Errorf("GET /nope: body %q; want it to suggest /readyz", rec.Body)
			}
		})
	}
}
