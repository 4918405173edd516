package aggregator_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// dataOf is the data a tile named name answers in these tests: the JSON
// string "NAME data".
func dataOf(name string) json.RawMessage { return tilestest.String(name + " data") }

// after is tilestest.After answering dataOf(name).
func after(name string, d time.Duration) *tilestest.Fetcher {
	return tilestest.After(name, d, dataOf(name))
}

// countCancelled makes f count in cancelled the fetches that failed
// because their context ended.
func countCancelled(f *tilestest.Fetcher, cancelled *atomic.Int32) *tilestest.Fetcher {
	fetch := f.FetchFn
	f.FetchFn = func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		out, err := fetch(ctx, req)
		if err != nil && ctx.Err() != nil {
			cancelled.Add(1)
		}
		return out, err
	}
	return f
}

// mustNew is aggregator.New for fetchers a test knows to be valid.
func mustNew(t testing.TB, opts aggregator.Options, fs ...tiles.Fetcher) *aggregator.Aggregator {
	t.Helper()
	a, err := aggregator.New(fs, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// resultView is a Result in comparable form, its data and cause as text.
type resultView struct {
	Name           string
	Status         tiles.Status
	Data, Cause    string
	Age            time.Duration
	Start, Elapsed time.Duration
}

func viewOf(r aggregator.Result) resultView {
	v := resultView{Name: r.Name, Status: r.Status, Data: string(r.Data), Age: r.Age, Start: r.Start, Elapsed: r.Elapsed}
	if r.Cause != nil {
		v.Cause = r.Cause.Error()
	}
	return v
}

func viewsOf(rs []aggregator.Result) []resultView {
	vs := make([]resultView, len(rs))
	for i, r := range rs {
		vs[i] = viewOf(r)
	}
	return vs
}

// fakeObserver counts what an aggregator.Observer is told.
type fakeObserver struct {
	mu      sync.Mutex
	started int
	pages   []aggregator.Summary
	tiles   []aggregator.Result
	// tileSpans holds, for each of tiles, the span in TileDone's context.
	tileSpans []trace.SpanContext
}

var _ aggregator.Observer = (*fakeObserver)(nil)

func (o *fakeObserver) PageStarted() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started++
}

func (o *fakeObserver) PageDone(_ context.Context, s aggregator.Summary) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pages = append(o.pages, s)
}

func (o *fakeObserver) TileDone(ctx context.Context, r aggregator.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tiles = append(o.tiles, r)
	o.tileSpans = append(o.tileSpans, trace.SpanContextFromContext(ctx))
}
