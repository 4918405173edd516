package web_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"vitrine/web"
)

// TestReloadRoute: POST /reload on the admin port answers what the reload
// changed, or 400 with its error; another method a JSON 405; the admin's
// other paths are untouched.
func TestReloadRoute(t *testing.T) {
	var calls int
	var fail error
	admin := web.NewAdmin(fakeMetrics, nil, nil, web.ReloadRoute(func() (web.Reloaded, error) {
		calls++
		return web.Reloaded{Tiles: []string{"banners", "notice"}, Added: []string{"notice"}}, fail
	}))
	rec := serveAdmin(context.Background(), admin, http.MethodPost, "/reload")
	want := `{"reloaded":true,"tiles":["banners","notice"],"added":["notice"],"rebuilt":[],"removed":[]}` + "\n"
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Errorf("POST /reload = %d %q; want 200 %q", rec.Code, rec.Body, want)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", got)
	}

	fail = errors.New("/etc/vitrine.yaml:3:7: tiles[0].ttl: \"5\" has no unit; write e.g. 5ms or 5s")
	rec = serveAdmin(context.Background(), admin, http.MethodPost, "/reload")
	if got := errorBody(t, rec, http.StatusBadRequest); got != fail.Error() {
		t.Errorf("error = %q; want %q", got, fail)
	}

	rec = serveAdmin(context.Background(), admin, http.MethodGet, "/reload")
	if got := errorBody(t, rec, http.StatusMethodNotAllowed); got != "method GET is not allowed on /reload; use POST" {
		t.Errorf("GET /reload: error = %q", got)
	}
	if got := rec.Header().Get("Allow"); got != "POST" {
		t.Errorf("GET /reload: Allow = %q; want POST", got)
	}
	if calls != 2 {
		t.Errorf("reload called %d times; want 2, once per POST", calls)
	}
	if rec := serveAdmin(context.Background(), admin, http.MethodGet, "/healthz"); rec.Code != http.StatusOK {
		t.Errorf("GET /healthz beside /reload = %d; want 200", rec.Code)
	}
}
