package upstream

import (
	"net/http"
	"sync"
	"testing"

	"vitrine/tiles"
)

// TestFetchFillsPathParams: each {name} of the URL's path is the page's
// value, percent-encoded as one segment, the rest of the URL kept.
func TestFetchFillsPathParams(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   string // the request URI the backend sees
	}{
		{"a slug", map[string]string{"slug": "outdoor"}, "/c%20x/category/outdoor/top?region=eu"},
		{"a slash stays in its segment", map[string]string{"slug": "../admin"}, "/c%20x/category/..%2Fadmin/top?region=eu"},
		{"escaped", map[string]string{"slug": "a b?\x00"}, "/c%20x/category/a%20b%3F%00/top?region=eu"},
		{"missing", nil, "/c%20x/category//top?region=eu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got string
			srv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = r.RequestURI
				mu.Unlock()
				serveJSON(`{}`)(w, r)
			})
			f, _ := newFetcher(t, srv.URL+"/c%20x/category/{slug}/top?region=eu", nil)
			if _, err := f.Fetch(t.Context(), tiles.Request{Params: tt.params}); err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got != tt.want {
				t.Errorf("backend saw %q; want %q", got, tt.want)
			}
		})
	}
}
