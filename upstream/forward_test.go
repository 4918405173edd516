package upstream

import (
	"net/url"
	"testing"

	"vitrine/tiles"
)

// TestFetchForwards: a backend receives the values its tile's Forward
// names and no others; cookies and the user only if the tile is
// personalised; the user by header when Forward.UserHeader says so.
func TestFetchForwards(t *testing.T) {
	passed := []tiles.Passed{
		{From: tiles.FromHeader, Name: "Accept-Language", Value: "de"},
		{From: tiles.FromHeader, Name: "X-Other", Value: "o"},
		{From: tiles.FromCookie, Name: "cart", Value: "c1"},
		{From: tiles.FromCookie, Name: "ab", Value: "b"},
		{From: tiles.FromQuery, Name: "q", Value: "shoes"},
		{From: tiles.FromHeader, Name: "X-Request-Id", Value: "forged"},
	}
	fw := tiles.Forward{Headers: []string{"Accept-Language", "X-Request-Id"}, Cookies: []string{"cart", "ab"},
		Query: []string{"q"}}
	tests := []struct {
		name               string
		personalised       bool
		userHeader         string
		query, cookie, uid string
	}{
		{"personalised", true, "", "q=shoes&region=eu&user=ann", "cart=c1; ab=b", ""},
		{"user by header", true, "X-User-Id", "q=shoes&region=eu", "cart=c1; ab=b", "ann"},
		{"not personalised", false, "X-User-Id", "q=shoes&region=eu", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c captured
			srv := newBackend(t, c.handler)
			f, _ := newFetcher(t, srv.URL+secretPath+"?region=eu", func(o *Options) {
				o.Personalised, o.Forward = tt.personalised, fw
				o.Forward.UserHeader = tt.userHeader
			})
			if _, err := f.Fetch(t.Context(), tiles.Request{User: "ann", ID: "id1", Forwarded: passed}); err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got, want := c.query.Encode(), mustQuery(tt.query); got != want {
				t.Errorf("query %q; want %q", got, want)
			}
			h := c.header
			if h.Get("Cookie") != tt.cookie || h.Get("X-User-Id") != tt.uid || h.Get("Accept-Language") != "de" ||
				h.Get("X-Other") != "" || h.Get("X-Request-Id") != "id1" {
				t.Errorf("headers %v; want Cookie %q, X-User-Id %q, Accept-Language de, X-Request-Id id1",
					h, tt.cookie, tt.uid)
			}
		})
	}
}

func mustQuery(s string) string {
	q, _ := url.ParseQuery(s)
	return q.Encode()
}
