package web

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptrace"
	"testing"
	"time"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
)

// streamTimes is what a client sees of one streamed page.
type streamTimes struct {
	ttfb, firstTile, lastTile time.Duration
}

// readStream requests url with accept and reads the body as it arrives,
// noting when the first byte came and when the first and the last of n
// tiles were complete (the nth occurrence of marker).
func readStream(tb testing.TB, client *http.Client, url, accept string, marker []byte, n int) streamTimes {
	var st streamTimes
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	start := time.Now()
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotFirstResponseByte: func() { st.ttfb = time.Since(start) },
	}))
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body []byte
	buf := make([]byte, 32<<10)
	seen := 0
	for {
		k, err := resp.Body.Read(buf)
		body = append(body, buf[:k]...)
		if c := bytes.Count(body, marker); c > seen {
			if seen == 0 {
				st.firstTile = time.Since(start)
			}
			if c >= n && seen < n {
				st.lastTile = time.Since(start)
			}
			seen = c
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	if seen < n {
		tb.Fatalf("saw %d tiles; want %d", seen, n)
	}
	return st
}

// BenchmarkStream measures the streamed homepage as a client sees it, over
// a real socket with the real tiles at their default latencies (40, 80 and
// 120 ms): time to first byte (about 0: the header and, for HTML, the shell
// go out at once), to the first tile (about the fastest tile) and to the
// last tile (about the slowest, not the sum).
func BenchmarkStream(b *testing.B) {
	cat := catalogue.Default()
	var fs []tiles.Fetcher
	for _, d := range sim.Builtins() {
		f, err := sim.New(d, cat, sim.Backend{Latency: d.Latency})
		if err != nil {
			b.Fatalf("sim.New(%s): %v", d.Name, err)
		}
		fs = append(fs, f)
	}
	for _, bc := range []struct {
		name, accept string
		marker       string // one per tile
	}{
		{"HTML", "text/html", "data-status="},
		{"NDJSON", "application/x-ndjson", `"status":`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv, client := realServer(b, aggregator.DefaultTileTimeout, fs...)
			b.ReportAllocs()
			var sum streamTimes
			n := 0
			for b.Loop() {
				st := readStream(b, client, srv.URL+"/home", bc.accept, []byte(bc.marker), len(fs))
				sum.ttfb += st.ttfb
				sum.firstTile += st.firstTile
				sum.lastTile += st.lastTile
				n++
			}
			avg := func(d time.Duration) float64 { return float64(d) / float64(n) / float64(time.Millisecond) }
			b.ReportMetric(avg(sum.ttfb), "ttfb-ms")
			b.ReportMetric(avg(sum.firstTile), "first-tile-ms")
			b.ReportMetric(avg(sum.lastTile), "last-tile-ms")
		})
	}
}
