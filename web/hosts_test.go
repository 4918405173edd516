package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// TestTileHostsOnTheOperatorPort: GET /tiles names an HTTP tile's source by
// its label on the public port, with the same shape as before, and only the
// operator port's /tiles adds the backend's host.
func TestTileHostsOnTheOperatorPort(t *testing.T) {
	const host = "weather.internal:9100"
	weather := described{setting("weather"), tiles.Info{Name: "weather", Source: "weather-api", Host: host}}
	agg, err := aggregator.New([]tiles.Fetcher{weather}, aggregator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Views: map[string]string{"weather": ViewJSON}}
	get := func(h http.Handler) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/tiles", nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("GET /tiles: %d %q; want 200 JSON", rec.Code, rec.Header().Get("Content-Type"))
		}
		return rec.Body.String()
	}
	public := get(cookieServer(t, opts, weather))
	const want = `[{"name":"weather","timeout_ms":500,"personalised":false,"url":"/tiles/weather",` +
		`"source":"weather-api","view":"json","primary":false}]` + "\n"
	if public != want {
		t.Errorf("public GET /tiles:\n got %s\nwant %s", public, want)
	}
	admin := get(NewAdmin(nil, AdminTiles(agg, opts), nil))
	if !strings.Contains(admin, `"source":"weather-api","host":"`+host+`"`) {
		t.Errorf("admin GET /tiles = %s; want the source and its host %s", admin, host)
	}
}
