package web_test

import (
	"net/http"
	"strings"
	"testing"

	"vitrine/identity"
)

// shopper is an identity source that believes the X-Test-User header alone.
type shopper struct{}

func (shopper) Identify(r *http.Request) (string, identity.Result, error) {
	if u := r.Header.Get("X-Test-User"); u != "" {
		return u, identity.Valid, nil
	}
	return "", identity.Absent, nil
}

var _ identity.Source = shopper{}

// TestIdentitySource: the tiles are asked for the shopper the source names,
// not ?user=, on the page and on one tile; no credential is an anonymous 200.
func TestIdentitySource(t *testing.T) {
	s := newServer(t, opts{Identity: shopper{}}, fetchers(echoUser("recommendations"))...)
	tests := []struct {
		name, target, header, want string
	}{
		{"page", "/home?user=bob", "X-Test-User: alice", `"user":"alice"`},
		{"tile", "/tiles/recommendations?user=bob", "X-Test-User: alice", `"user":"alice"`},
		{"anonymous despite ?user=", "/home?user=bob", "", `"user":""`},
		{"a malformed ?user= is ignored", "/home?user=b%20b&user=eve", "", `"user":""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.header != "" {
				h = append(h, tt.header)
			}
			rec := s.do(http.MethodGet, tt.target, append(h, "Accept: application/json")...)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("got %d %s; want 200 with %s", rec.Code, rec.Body, tt.want)
			}
		})
	}
}
