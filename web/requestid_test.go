package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// idRecorder is a tile that records the request id of every fetch.
type idRecorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *idRecorder) fetcher(name string) *tilestest.Fetcher {
	return &tilestest.Fetcher{TileName: name, FetchFn: func(_ context.Context, req tiles.Request) (tiles.Outcome, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ids = append(r.ids, req.ID)
		return tiles.Fresh([]byte(`{}`)), nil
	}}
}

func (r *idRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.ids
	r.ids = nil
	return ids
}

// generatedID is what Vitrine makes up: 128 random bits in hex.
var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestRequestID: every request to /home and /tiles/NAME has an id, the
// client's if well-formed, else a new one; it is echoed, reaches every
// fetch of the request and is in the request's log line.
func TestRequestID(t *testing.T) {
	tests := []struct {
		name    string
		sent    []string // X-Request-Id values sent
		keep    bool     // the first one is kept
		refused bool     // the request is a 400 (and still has an id)
	}{
		{"none", nil, false, false},
		{"uuid kept", []string{"0f8fad5b-d9cb-469f-a165-70867728950e"}, true, false},
		{"semicolon replaced", []string{"Root=1-67891233-abcdef0123;Parent=53995c3f42cd8ad8"}, false, false},
		{"token kept", []string{"req_01.a:b-c+d/e=="}, true, false},
		{"128 characters kept", []string{strings.Repeat("a", 128)}, true, false},
		{"129 characters replaced", []string{strings.Repeat("a", 129)}, false, false},
		{"spaces replaced", []string{"two words"}, false, false},
		{"quotes replaced", []string{`"x"`}, false, false},
		{"non-ASCII replaced", []string{"idé"}, false, false},
		{"empty replaced", []string{""}, false, false},
		{"two replaced", []string{"a", "b"}, false, false},
		{"kept on a bad request", []string{"abc"}, true, true},
	}
	rec := &idRecorder{}
	s := newServer(t, opts{}, rec.fetcher("banners"), rec.fetcher("weather"))
	for _, tt := range tests {
		for _, target := range []string{"/home?format=json", "/home?format=html", "/home?format=ndjson", "/tiles/weather"} {
			t.Run(tt.name+" "+target, func(t *testing.T) {
				if tt.refused {
					target += "&format=xml"
					if !strings.Contains(target, "?") {
						target = strings.Replace(target, "&", "?", 1)
					}
				}
				req := httptest.NewRequest(http.MethodGet, target, nil)
				for _, v := range tt.sent {
					req.Header.Add("X-Request-Id", v)
				}
				w := httptest.NewRecorder()
				s.e.ServeHTTP(w, req)
				id := w.Header().Get("X-Request-Id")
				switch {
				case tt.keep && id != tt.sent[0]:
					t.Errorf("X-Request-Id = %q; want the client's %q", id, tt.sent[0])
				case !tt.keep && !generatedID.MatchString(id):
					t.Errorf("X-Request-Id = %q; want a new id of 32 hex digits", id)
				}
				fetched := rec.take()
				wantFetches := 2
				switch {
				case tt.refused:
					wantFetches = 0
				case strings.HasPrefix(target, "/tiles/"):
					wantFetches = 1
				}
				if len(fetched) != wantFetches {
					t.Errorf("%d fetches; want %d", len(fetched), wantFetches)
				}
				for _, got := range fetched {
					if got != id {
						t.Errorf("a fetch had id %q; want the response's %q", got, id)
					}
				}
				lines := strings.Split(strings.TrimSpace(s.logs.String()), "\n")
				last := lines[len(lines)-1]
				if !strings.Contains(last, "request_id="+id) && !strings.Contains(last, "request_id="+strconv.Quote(id)) {
					t.Errorf("log line %q; want request_id=%s", last, id)
				}
			})
		}
	}
}

// TestRequestIDsDiffer: two requests without an id get different ones.
func TestRequestIDsDiffer(t *testing.T) {
	s := newServer(t, opts{}, fetchers(threeOK()...)...)
	a := s.do(http.MethodGet, "/home").Header().Get("X-Request-Id")
	b := s.do(http.MethodGet, "/home").Header().Get("X-Request-Id")
	if !generatedID.MatchString(a) || a == b {
		t.Errorf("ids %q and %q; want two different new ones", a, b)
	}
}

// TestLogLineHidesUser: the request's log line keeps its path and other
// parameters but never the user's id, however the parameter is spelt.
func TestLogLineHidesUser(t *testing.T) {
	s := newServer(t, opts{}, (&idRecorder{}).fetcher("banners"))
	tests := []struct{ target, want string }{
		{"/home?user=alice7", `uri="/home?user=redacted"`},
		{"/home?format=json&user=alice7", `uri="/home?format=json&user=redacted"`},
		{"/home?%75ser=alice7", `uri="/home?%75ser=redacted"`},
		{"/home?user=alice7&user=alice7", `uri="/home?user=redacted&user=redacted"`},
		{"/tiles/banners?us%zzer=alice7", `uri="/tiles/banners?us%zzer=redacted"`},
		{"/home", "uri=/home"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			s.e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tt.target, nil))
			lines := strings.Split(strings.TrimSpace(s.logs.String()), "\n")
			last := lines[len(lines)-1]
			if strings.Contains(last, "alice7") || !strings.Contains(last, tt.want) {
				t.Errorf("log line %q; want %s and no user id", last, tt.want)
			}
		})
	}
}

// TestAccessLogTakesRequestLines: with Options.AccessLog, the request lines
// go there and nowhere else; the server's other lines stay on its logger.
func TestAccessLogTakesRequestLines(t *testing.T) {
	access := &strings.Builder{}
	s := newServer(t, opts{AccessLog: access}, tilestest.Panicking("banners", "boom"))
	s.e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/home", nil))
	if got := access.String(); strings.Count(got, "msg=request") != 1 || strings.Contains(got, "panicked") {
		t.Errorf("access log %q; want the one request line alone", got)
	}
	if got := s.logs.String(); strings.Contains(got, "msg=request") || !strings.Contains(got, "tile panicked") {
		t.Errorf("server log %q; want the tile's panic and no request line", got)
	}
}
