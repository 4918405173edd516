package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The machinery of the tests under load: an HTTP client sized for many
// concurrent pages, a closed-loop driver that records every page, and a
// reader of the /metrics series.

// newLoadClient returns a client whose transport keeps a connection per
// worker alive (the default keeps 2 per host, which would make most pages
// dial). It does not ask for gzip, like wrk in the shared bench, so the
// server does not compress and the client does not inflate. Close its idle
// connections when done.
func newLoadClient(workers int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // 127.0.0.1, never through a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * workers,
			MaxIdleConnsPerHost: 2 * workers,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
		Timeout: 10 * time.Second, // every request ends by itself
	}
}

// usersPath is a loadPlan's path for pages spread over users users.
func usersPath(users int) func(int) string {
	return func(i int) string { return fmt.Sprintf("/home?user=u%d", i%users) }
}

// loadPlan is one closed-loop run: workers each issue a page, wait for it,
// and issue the next, until pages pages have been issued or maxTime has
// passed.
type loadPlan struct {
	workers int
	pages   int
	maxTime time.Duration
	path    func(i int) string // the i-th page's path and query, e.g. /home?user=u7
}

// pageRecord is what the client saw of one page.
type pageRecord struct {
	sent    time.Duration // when the request was sent, since the plan started
	latency time.Duration // from sending the request to the end of the body
	server  time.Duration // the page's own elapsed_ms: its time in the aggregator
	code    int           // HTTP status; 0 when the request failed
	tiles   int           // tiles in the page
	status  [nStatus]uint8
}

// Tile statuses of the contract, as pageRecord counts them.
const (
	stOK = iota
	stStale
	stFallback
	stTimeout
	stError
	stOther
	nStatus
)

var statusIndex = map[string]int{"ok": stOK, "stale": stStale, "fallback": stFallback, "timeout": stTimeout, "error": stError}

// whole reports whether every tile of the page came back with content:
// ok, stale or fallback.
func (r pageRecord) whole() bool {
	return r.code == http.StatusOK && r.tiles > 0 && int(r.status[stOK])+int(r.status[stStale])+int(r.status[stFallback]) == r.tiles
}

// loadResult is the outcome of a loadPlan.
type loadResult struct {
	pages   []pageRecord // the pages completed, in the order they were issued
	elapsed time.Duration
	tiles   map[string]*tileCounts // per tile name
	stopped bool                   // stopped by maxTime or ctx before every page was issued
	// lag is the longest a 5ms sleep overslept during the run: how long
	// the process went without being scheduled (CPU starvation, a stalled
	// VM), which delays the server and the clients alike.
	lag time.Duration
}

// drive runs plan against base with client. Each worker first opens its
// connection with GET /healthz, unmeasured; then all start together.
func drive(ctx context.Context, client *http.Client, base string, plan loadPlan) loadResult {
	records := make([]pageRecord, plan.pages) // each page writes its own slot
	perWorker := make([]map[string]*tileCounts, plan.workers)
	var next atomic.Int64
	var ready, wg sync.WaitGroup
	gate := make(chan struct{})
	var start, deadline time.Time // written before gate is closed, read after
	ready.Add(plan.workers)
	for w := range plan.workers {
		counts := map[string]*tileCounts{}
		perWorker[w] = counts
		wg.Go(func() {
			var buf bytes.Buffer
			getPage(ctx, client, base+"/healthz", &buf) // dial now, not in the first page
			ready.Done()
			<-gate
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= plan.pages {
					return
				}
				records[i] = onePage(ctx, client, base+plan.path(i), &buf, counts, start)
			}
		})
	}
	ready.Wait()
	lag, stopLag := watchLag()
	start = time.Now()
	deadline = start.Add(plan.maxTime)
	close(gate)
	wg.Wait()
	res := loadResult{elapsed: time.Since(start), tiles: map[string]*tileCounts{}}
	stopLag()
	res.lag = *lag
	issued := min(int(next.Load()), plan.pages)
	res.pages = records[:issued]
	res.stopped = issued < plan.pages
	for _, counts := range perWorker {
		for name, c := range counts {
			sum := res.tiles[name]
			if sum == nil {
				sum = &tileCounts{}
				res.tiles[name] = sum
			}
			for s, n := range c.n {
				sum.n[s] += n
			}
			sum.error = cmp.Or(sum.error, c.error)
		}
	}
	return res
}

// tileCounts are how often each status came back for a tile, with the
// first error message seen.
type tileCounts struct {
	n     [nStatus]int
	error string
}

// watchLag measures, until stop is called, the longest a 5ms sleep
// oversleeps. stop returns once the watcher has stopped; *lag is then final.
func watchLag() (lag *time.Duration, stop func()) {
	lag = new(time.Duration)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		const nap = 5 * time.Millisecond
		for {
			select {
			case <-quit:
				return
			default:
			}
			t := time.Now()
			time.Sleep(nap)
			*lag = max(*lag, time.Since(t)-nap)
		}
	}()
	return lag, func() { close(quit); <-done }
}

// homePage is the part of GET /home's JSON the driver reads.
type homePage struct {
	Tiles map[string]struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"tiles"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

// onePage GETs url, timing it up to the last byte of the body, then decodes
// the tiles' statuses (untimed).
func onePage(ctx context.Context, client *http.Client, url string, buf *bytes.Buffer, counts map[string]*tileCounts, began time.Time) pageRecord {
	start := time.Now()
	code, err := getPage(ctx, client, url, buf)
	rec := pageRecord{sent: start.Sub(began), latency: time.Since(start), code: code}
	if err != nil {
		rec.code = 0
		return rec
	}
	if code != http.StatusOK {
		return rec
	}
	var page homePage
	if err := json.Unmarshal(buf.Bytes(), &page); err != nil {
		rec.code = 0
		return rec
	}
	rec.tiles = len(page.Tiles)
	rec.server = time.Duration(page.ElapsedMS * float64(time.Millisecond))
	for name, t := range page.Tiles {
		s, ok := statusIndex[t.Status]
		if !ok {
			s = stOther
		}
		rec.status[s]++
		c := counts[name]
		if c == nil {
			c = &tileCounts{}
			counts[name] = c
		}
		c.n[s]++
		c.error = cmp.Or(c.error, t.Error)
	}
	return rec
}

// getPage GETs url and reads the whole body into buf.
func getPage(ctx context.Context, client *http.Client, url string, buf *bytes.Buffer) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, err
}

// latencies returns the pages' latencies, sorted.
func (r loadResult) latencies() []time.Duration {
	return r.sorted(func(p pageRecord) time.Duration { return p.latency })
}

// sorted returns f of every page, sorted.
func (r loadResult) sorted(f func(pageRecord) time.Duration) []time.Duration {
	ls := make([]time.Duration, len(r.pages))
	for i, p := range r.pages {
		ls[i] = f(p)
	}
	slices.Sort(ls)
	return ls
}

// slowest describes the n slowest pages: when each was sent, how long the
// client waited and how long the server says it took.
func (r loadResult) slowest(n int) string {
	ps := slices.Clone(r.pages)
	slices.SortFunc(ps, func(a, b pageRecord) int { return cmp.Compare(b.latency, a.latency) })
	var parts []string
	for _, p := range ps[:min(n, len(ps))] {
		parts = append(parts, fmt.Sprintf("sent at %v: %v (server %v)", p.sent.Round(time.Millisecond), p.latency.Round(time.Millisecond), p.server.Round(time.Millisecond)))
	}
	return strings.Join(parts, "; ")
}

// quantile is the q-quantile of sorted (nearest rank): the smallest value
// that at least q of the values do not exceed.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// share is the percentage of the pages for which f holds.
func (r loadResult) share(f func(pageRecord) bool) float64 {
	if len(r.pages) == 0 {
		return 0
	}
	n := 0
	for _, p := range r.pages {
		if f(p) {
			n++
		}
	}
	return 100 * float64(n) / float64(len(r.pages))
}

// count is how many pages f holds for.
func (r loadResult) count(f func(pageRecord) bool) int {
	n := 0
	for _, p := range r.pages {
		if f(p) {
			n++
		}
	}
	return n
}

// tileSummary says, per tile, how often each status came back, e.g.
// "banners ok=3990 stale=10; ...".
func (r loadResult) tileSummary() string {
	names := make([]string, 0, len(r.tiles))
	for name := range r.tiles {
		names = append(names, name)
	}
	slices.Sort(names)
	statusNames := [nStatus]string{"ok", "stale", "fallback", "timeout", "error", "other"}
	var parts []string
	for _, name := range names {
		part := name
		c := r.tiles[name]
		for s, n := range c.n {
			if n > 0 {
				part += fmt.Sprintf(" %s=%d", statusNames[s], n)
			}
		}
		if c.error != "" {
			part += fmt.Sprintf(" (first error %q)", c.error)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

// metricSamples is a scrape of /metrics: every sample, a histogram's
// flattened into its _bucket, _sum and _count series as the text format
// writes them, each sample's name under the label __name__.
type metricSamples model.Vector

// scrapeMetrics GETs base/metrics and parses it with expfmt.
func scrapeMetrics(client *http.Client, base string) (metricSamples, error) {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	if f := expfmt.ResponseFormat(resp.Header); f.FormatType() != expfmt.TypeTextPlain {
		return nil, fmt.Errorf("GET /metrics: Content-Type %q; want the text exposition format", resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	samples, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{}, slices.Collect(maps.Values(families))...)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	return metricSamples(samples), nil
}

// sum adds up the samples of the series name whose labels include every
// label=value pair in match (given as "label", "value", ...); 0 when none
// matches.
func (m metricSamples) sum(name string, match ...string) float64 {
	total, _ := m.lookup(name, match...)
	return total
}

// lookup is sum, and whether any sample matched.
func (m metricSamples) lookup(name string, match ...string) (total float64, found bool) {
	for _, s := range m {
		if string(s.Metric[model.MetricNameLabel]) != name || !hasLabels(s.Metric, match) {
			continue
		}
		total += float64(s.Value)
		found = true
	}
	return total, found
}

// hasLabels reports whether metric has every label=value pair in match.
func hasLabels(metric model.Metric, match []string) bool {
	for i := 0; i+1 < len(match); i += 2 {
		if string(metric[model.LabelName(match[i])]) != match[i+1] {
			return false
		}
	}
	return true
}

// awaitInFlight polls base's /metrics until route has at least want
// requests in flight (vitrine_http_requests_in_flight) and no page has been
// assembled (vitrine_pages_total) for quiet, and returns how many: requests
// in flight that long without a page are stuck on writes their clients do
// not read. It fails the test after a minute, or once ended (nil: never) is
// closed, the request awaited over.
func awaitInFlight(t *testing.T, base, route string, want float64, quiet time.Duration, ended <-chan struct{}) float64 {
	t.Helper()
	// Generous: under -race on a busy machine, a client that does not read
	// may take many seconds of pages to fill the socket buffers and stick.
	const patience = time.Minute
	deadline := time.Now().Add(patience)
	lastPages, since := -1.0, time.Now()
	for {
		m, err := scrapeMetrics(http.DefaultClient, base)
		if err != nil {
			t.Fatalf("scraping /metrics: %v", err)
		}
		inFlight, pages := m.sum("vitrine_http_requests_in_flight", "route", route), m.sum("vitrine_pages_total")
		if inFlight < want || pages != lastPages {
			lastPages, since = pages, time.Now()
		}
		if inFlight >= want && time.Since(since) >= quiet {
			return inFlight
		}
		select {
		case <-ended:
			t.Fatalf("%s requests in flight = %v and the request awaited has ended; want %v first", route, inFlight, want)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v requests to %s in flight, %v pages assembled, the last %v ago; want %v or more for %v",
				patience, inFlight, route, pages, time.Since(since).Round(time.Millisecond), want, quiet)
		}
	}
}

// getJSON GETs url and decodes its JSON body into v, returning the status.
func getJSON(t testing.TB, client *http.Client, url string, v any) int {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decoding body: %v", url, err)
	}
	return resp.StatusCode
}
