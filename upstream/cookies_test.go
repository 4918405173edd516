package upstream

import (
	"net/http"
	"slices"
	"testing"

	"vitrine/tiles"
)

// TestCookies: the backend's Set-Cookie lines travel in the outcome, every
// one, for web/ to pass on or drop.
func TestCookies(t *testing.T) {
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "session=abc; Path=/; HttpOnly")
		w.Header().Add("Set-Cookie", "seen=1")
		serveJSON(`{"ok":true}`)(w, r)
	})
	f, _ := newFetcher(t, srv.URL, nil)
	out, err := f.Fetch(t.Context(), tiles.Request{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got, want := out.Cookies, []string{"session=abc; Path=/; HttpOnly", "seen=1"}; !slices.Equal(got, want) {
		t.Errorf("Cookies = %q; want %q", got, want)
	}
}
