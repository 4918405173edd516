package web_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// TestErrors checks every error status of the contract: each body is JSON
// {"error": "..."} naming what was wrong, and bad input never reaches a tile.
func TestErrors(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		name     string
		method   string
		target   string
		header   []string
		wantCode int
		wantHas  []string // the message contains each
	}{
		// 400: a bad parameter, named.
		{"user too long", "GET", "/home?user=" + long, nil, 400, []string{"user"}},
		{"user very long is clipped", "GET", "/home?user=" + strings.Repeat("b", 10000), nil, 400, []string{"user", "got 10000 bytes"}},
		{"user with a space", "GET", "/home?user=a%20b", nil, 400, []string{"user", "a space at byte 2"}},
		{"user with a slash", "GET", "/home?user=..%2Fetc", nil, 400, []string{"user"}},
		{"user with markup", "GET", "/home?user=" + url.QueryEscape("<script>"), nil, 400, []string{"user"}},
		{"user with a quote", "GET", "/home?user=" + url.QueryEscape(`a"b`), nil, 400, []string{"user"}},
		{"user not ASCII", "GET", "/home?user=" + url.QueryEscape("zoë"), nil, 400, []string{"user"}},
		{"user with a newline", "GET", "/home?user=a%0Ab", nil, 400, []string{"user"}},
		{"user with a NUL", "GET", "/home?user=a%00b", nil, 400, []string{"user"}},
		{"user bad with JSON Accept", "GET", "/home?user=a.b", []string{"Accept: application/json"}, 400, []string{"user"}},
		{"user bad with format=json", "GET", "/home?format=json&user=a.b", nil, 400, []string{"user"}},
		{"user bad on a tile", "GET", "/tiles/recommendations?user=a.b", nil, 400, []string{"user"}},
		{"user too long on a tile", "GET", "/tiles/banners?user=" + long, nil, 400, []string{"user"}},
		{"format unknown", "GET", "/home?format=xml", nil, 400, []string{"format", "xml"}},
		{"format empty", "GET", "/home?format=", nil, 400, []string{"format"}},
		{"format twice", "GET", "/home?format=json&format=html", nil, 400, []string{"format"}},
		{"format very long is clipped", "GET", "/home?format=" + strings.Repeat("x", 10000), nil, 400, []string{"format"}},

		// 404: an unknown tile (listing the known ones) or path.
		{"unknown tile", "GET", "/tiles/weather", nil, 404, []string{"weather", "banners", "products", "recommendations"}},
		{"tile name case", "GET", "/tiles/Banners", nil, 404, []string{"banners, products, recommendations"}},
		{"unknown tile with a bad user", "GET", "/tiles/weather?user=a.b", nil, 400, []string{"user"}},
		{"unknown path", "GET", "/nope", nil, 404, []string{"/nope", "/home"}},
		{"root", "GET", "/", nil, 404, []string{"/home"}},
		{"under home", "GET", "/home/extra", nil, 404, []string{"/home/extra"}},
		{"under a tile", "GET", "/tiles/banners/x", nil, 404, []string{"banners/x"}},

		// 405: a wrong method, naming the right one.
		{"POST /home", "POST", "/home", nil, 405, []string{"POST", "/home", "GET"}},
		{"PUT /tiles", "PUT", "/tiles", nil, 405, []string{"PUT", "GET"}},
		{"DELETE /tiles/NAME", "DELETE", "/tiles/banners", nil, 405, []string{"DELETE", "GET"}},
		{"POST /healthz", "POST", "/healthz", nil, 405, []string{"POST", "GET"}},
		{"PATCH /test", "PATCH", "/test", nil, 405, []string{"PATCH", "GET"}},
		{"POST /home with a bad user", "POST", "/home?user=a.b", nil, 405, []string{"POST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := threeOK()
			s := newServer(t, opts{}, fetchers(fs...)...)
			rec := s.do(tt.method, tt.target, tt.header...)
			checkStatus(t, rec, tt.wantCode)
			msg := checkErrorBody(t, rec)
			for _, want := range tt.wantHas {
				if !strings.Contains(msg, want) {
					t.Errorf("error = %q; want it to contain %q", msg, want)
				}
			}
			if len(msg) > 400 {
				t.Errorf("error is %d bytes long; want a short sentence", len(msg))
			}
			for _, f := range fs {
				if got := f.Calls(); got != 0 {
					t.Errorf("%s was fetched %d times; want 0: bad input must not reach a tile", f.TileName, got)
				}
			}
			if tt.wantCode == http.StatusMethodNotAllowed {
				if allow := rec.Header().Get(echo.HeaderAllow); !strings.Contains(allow, http.MethodGet) {
					t.Errorf("Allow = %q; want it to include GET", allow)
				}
			}
		})
	}
}

// checkErrorBody checks that rec's body is exactly {"error": "..."} with a
// non-empty message, and returns the message.
func checkErrorBody(t *testing.T, r *httptest.ResponseRecorder) string {
	t.Helper()
	checkJSONType(t, r)
	var body map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v; want JSON", r.Body, err)
	}
	msg, ok := body["error"].(string)
	if len(body) != 1 || !ok || msg == "" {
		t.Fatalf("body = %s; want {\"error\": \"...\"}", r.Body)
	}
	return msg
}

// TestErrorsValidUser checks the edges of a valid user next to the bad ones.
func TestErrorsValidUser(t *testing.T) {
	tests := []struct {
		user string
		code int
	}{
		{"a", 200},
		{"A-z_0-9", 200},
		{strings.Repeat("x", 64), 200},
		{strings.Repeat("x", 65), 400},
		{"-", 200},
		{"a.b", 400},
	}
	for _, tt := range tests {
		t.Run(tt.user[:min(len(tt.user), 10)], func(t *testing.T) {
			fs := threeOK()
			s := newServer(t, opts{}, fetchers(fs...)...)
			rec := s.do(http.MethodGet, "/home?user="+url.QueryEscape(tt.user))
			checkStatus(t, rec, tt.code)
			wantCalls := int64(1)
			if tt.code != 200 {
				wantCalls = 0
			}
			for _, f := range fs {
				if got := f.Calls(); got != wantCalls {
					t.Errorf("%s was fetched %d times; want %d", f.TileName, got, wantCalls)
				}
			}
		})
	}
}

// TestHandlerPanic registers a handler that panics next to Vitrine's routes:
// the client gets a JSON 500 that names the request id but not the panic;
// the log line with that id holds the panic and the stack; the server goes
// on serving. A panic's value never picks the answer, even an Echo error's.
func TestHandlerPanic(t *testing.T) {
	const secret = "secret-internal-detail"
	tests := []struct {
		name    string
		value   any
		header  string
		wantLog string
	}{
		{"string", secret, "", secret},
		{"error", errors.New(secret), "", secret},
		{"the client's request id", secret, "client-id-1", secret},
		{"echo error", echo.NewHTTPError(http.StatusBadRequest, secret), "", secret},
		{"tiles error", tiles.Errorf(tiles.EINVALID, secret), "", secret},
		{"nil map", nil, "", "assignment to entry in nil map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, opts{}, fetchers(threeOK()...)...)
			s.e.GET("/boom", func(c echo.Context) error {
				if tt.value == nil {
					var m map[string]int
					m[secret]++
				}
				panic(tt.value)
			})
			rec := s.do(http.MethodGet, "/boom", "X-Request-Id: "+tt.header)
			checkStatus(t, rec, http.StatusInternalServerError)
			msg, id := checkErrorBody(t, rec), rec.Header().Get("X-Request-Id")
			if tt.header != "" && id != tt.header {
				t.Errorf("X-Request-Id = %q; want the client's, %q", id, tt.header)
			}
			if want := "internal error; quote request id " + id + " when reporting it"; id == "" || msg != want {
				t.Errorf("error = %q, X-Request-Id %q; want %q", msg, id, want)
			}
			if !logLine(s.logs.String(), "handler panicked", tt.wantLog, "request_id="+id, "errors_test.go") {
				t.Errorf("logs %q; want a line with the panic (%q), request_id=%s and the stack", s.logs, tt.wantLog, id)
			}
			rec = s.do(http.MethodGet, "/home")
			checkStatus(t, rec, http.StatusOK)
		})
	}
}

// TestTilePanicHidden: a tile's panic is its error status on every page and
// format, the value only in the log line with the request's id.
func TestTilePanicHidden(t *testing.T) {
	const secret = "secret-internal-detail"
	for _, target := range []string{"/home", "/home?format=html", "/home?format=ndjson", "/tiles/products",
		"/tiles/products?format=html"} {
		t.Run(target, func(t *testing.T) {
			fs := threeOK()
			fs[1] = tilestest.Panicking("products", secret)
			s := newServer(t, opts{}, fetchers(fs...)...)
			rec := s.do(http.MethodGet, target)
			id := rec.Header().Get("X-Request-Id")
			shown := "internal error (panic)"
			if strings.Contains(target, "html") {
				shown = `data-status="error"` // the HTML page names no error
			}
			if body := rec.Body.String(); strings.Contains(body, secret) || !strings.Contains(body, shown) {
				t.Errorf("body %q; want the tile's error, without the panic's value", body)
			}
			if id == "" || !logLine(s.logs.String(), "tile panicked", secret, "request_id="+id, "stack=") {
				t.Errorf("logs %q; want a line with the panic, request_id=%s and the stack", s.logs, id)
			}
		})
	}
}

// TestInternalErrorHidden registers a handler returning a plain error: the
// client sees a generic 500, never the error's text.
func TestInternalErrorHidden(t *testing.T) {
	s := newServer(t, opts{}, fetchers(threeOK()...)...)
	s.e.GET("/fail", func(c echo.Context) error { return errors.New("dial tcp 10.0.0.7: secret") })
	rec := s.do(http.MethodGet, "/fail")
	checkStatus(t, rec, http.StatusInternalServerError)
	if msg := checkErrorBody(t, rec); strings.Contains(msg, "secret") {
		t.Errorf("error = %q; want it not to leak the internal error", msg)
	}
	id := rec.Header().Get("X-Request-Id")
	if id == "" || !logLine(s.logs.String(), "request failed", "request_id="+id, "10.0.0.7: secret") {
		t.Errorf("logs %q; want a line with the error and the request id %q", s.logs, id)
	}
	// An Echo error with a 5xx status is internal too: its message is not shown.
	s.e.GET("/fail5xx", func(c echo.Context) error { return echo.NewHTTPError(http.StatusBadGateway, "dial 10.0.0.7") })
	rec = s.do(http.MethodGet, "/fail5xx")
	checkStatus(t, rec, http.StatusBadGateway)
	if msg := checkErrorBody(t, rec); strings.Contains(msg, "10.0.0.7") {
		t.Errorf("error = %q; want it not to leak the internal error", msg)
	}
}
