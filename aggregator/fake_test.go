package aggregator_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeFetcher is a tiles.Fetcher whose behaviour each test sets.
type fakeFetcher struct {
	name    string
	FetchFn func(ctx context.Context, req tiles.Request) (any, error)
}

var _ tiles.Fetcher = (*fakeFetcher)(nil)

func (f *fakeFetcher) Name() string { return f.name }

func (f *fakeFetcher) Fetch(ctx context.Context, req tiles.Request) (any, error) {
	return f.FetchFn(ctx, req)
}

// sleeper is a fake tile that answers "NAME data" after latency, or the
// context's error (wrapped, as tiles.Fetcher asks) if ctx ends first. When
// cancelled is not nil it counts the fetches that saw ctx end.
func sleeper(name string, latency time.Duration, cancelled *atomic.Int32) *fakeFetcher {
	return &fakeFetcher{name: name, FetchFn: func(ctx context.Context, _ tiles.Request) (any, error) {
		if err := tiles.Wait(ctx, latency); err != nil {
			if cancelled != nil {
				select {
				case <-ctx.Done():
					cancelled.Add(1)
				default:
				}
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return name + " data", nil
	}}
}

// failing is a fake tile that fails at once with err.
func failing(name string, err error) *fakeFetcher {
	return &fakeFetcher{name: name, FetchFn: func(context.Context, tiles.Request) (any, error) {
		return nil, err
	}}
}

// serving is a fake tile that answers v at once.
func serving(name string, v any) *fakeFetcher {
	return &fakeFetcher{name: name, FetchFn: func(context.Context, tiles.Request) (any, error) {
		return v, nil
	}}
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

// fakeObserver counts what an aggregator.Observer is told.
type fakeObserver struct {
	mu      sync.Mutex
	started int
	pages   []aggregator.Summary
	tiles   []aggregator.Result
}

var _ aggregator.Observer = (*fakeObserver)(nil)

func (o *fakeObserver) PageStarted() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started++
}

func (o *fakeObserver) PageDone(s aggregator.Summary) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pages = append(o.pages, s)
}

func (o *fakeObserver) TileDone(r aggregator.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tiles = append(o.tiles, r)
}
