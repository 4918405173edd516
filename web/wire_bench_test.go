package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// BenchmarkPageEncoding asks whether the hand-written page writer pays for
// itself where it matters: through the real HTTP stack, on a real page (the
// three built-in tiles over the shipped catalogue, no simulated latency,
// for a user). Each sub-benchmark serves the same page from a real socket,
// writing it with appendPage (hand) or with json.Marshal of the contract's
// structs (encoding-json), and a keep-alive client GETs and reads it whole.
// The difference between the two is what the encoder saves per page.
//
//	go test -run XXX -bench PageEncoding -benchtime 3000x ./web/
func BenchmarkPageEncoding(b *testing.B) {
	agg := builtinAggregator(b)
	req := tiles.Request{User: "alice"}
	for _, bc := range []struct {
		name  string
		write func(aggregator.Page) ([]byte, error)
	}{
		{"hand", func(p aggregator.Page) ([]byte, error) {
			return append(appendPage(make([]byte, 0, 8<<10), p), '\n'), nil
		}},
		{"encoding-json", func(p aggregator.Page) ([]byte, error) {
			body, err := json.Marshal(newPageRef(p))
			return append(body, '\n'), err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := bc.write(agg.Page(r.Context(), req))
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			client := srv.Client() // keep-alive; closed with srv
			client.Transport.(*http.Transport).DisableCompression = true

			get := func() []byte {
				resp, err := client.Get(srv.URL + "/home")
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status = %d; want 200 (body %s)", resp.StatusCode, body)
				}
				return body
			}
			first := get()
			if !json.Valid(first) {
				b.Fatalf("body %.200s: not valid JSON", first)
			}
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
			b.ReportMetric(float64(len(first)), "bytes/page")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/page")
		})
	}
}
