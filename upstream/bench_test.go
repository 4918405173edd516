package upstream

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"vitrine/tiles"
)

// BenchmarkFetch measures one fetch of a 1 KiB JSON tile over a kept-alive
// loopback connection: the client's own cost per backend request.
func BenchmarkFetch(b *testing.B) {
	body := `{"items":["` + strings.Repeat("x", 1000) + `"]}`
	srv := httptestServer(b, serveJSON(body))
	client := NewClient()
	b.Cleanup(client.CloseIdleConnections)
	f, err := New(Options{Name: "products", URL: srv + "/products", Client: client})
	if err != nil {
		b.Fatal(err)
	}
	req := tiles.Request{User: "ann", ID: "req-1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Fetch(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func httptestServer(b *testing.B, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}
