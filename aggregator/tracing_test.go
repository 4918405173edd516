package aggregator_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/resilience"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// tracedTile is the one tile of a traced page: its backend, and the
// resilience policy wrapped around it (none when bare).
type tracedTile struct {
	backend *tilestest.Fetcher
	policy  resilience.Policy
	bare    bool
	timeout time.Duration // the aggregator's deadline for it; 0: the default
}

// TestTracingSpanTree pages through an aggregator over one
// resilience-wrapped fake tile, both traced, and compares the spans
// recorded with the tree wanted. The tile's backend starts a span
// "client" per fetch, where the HTTP client's would be. Each page is the child of a "page" span;
// rounds of pages run one after another, wait apart, the pages of a round
// at once.
func TestTracingSpanTree(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name   string
		tile   func() tracedTile
		rounds []int // pages at once, per round
		wait   time.Duration
		want   string
	}{{
		name: "a hedge: both attempts side by side, the hedge won",
		tile: func() tracedTile {
			return tracedTile{backend: scriptedTile("recs", time.Second, 10*ms), policy: resilience.Policy{HedgeDelay: 50 * ms, HedgeCap: 1}}
		},
		rounds: []int{1},
		want: `
page @0s 60ms
  tile recs @0s 60ms status=ok tile=recs
    attempt @0s 60ms attempt=first result=cancelled tile=recs
      client @0s 60ms
    attempt @50ms 10ms attempt=hedge result=won tile=recs
      client @50ms 10ms`,
	}, {
		name: "stale while revalidating: a refresh, its own root, linked to the tile",
		tile: func() tracedTile {
			return tracedTile{backend: after("banners", 20*ms), policy: resilience.Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute, MaxStale: time.Hour}}
		},
		rounds: []int{1, 1},
		wait:   90 * time.Second,
		want: `
page @0s 20ms
  tile banners @0s 20ms cache=miss status=ok tile=banners
    attempt @0s 20ms attempt=first result=won tile=banners
      client @0s 20ms
page @1m30.02s 0s
  tile banners @1m30.02s 0s age_ms=90000 cache=stale status=stale tile=banners
refresh banners @1m30.02s 20ms tile=banners link=[tile banners @1m30.02s]
  attempt @1m30.02s 20ms attempt=first result=won tile=banners
    client @1m30.02s 20ms`,
	}, {
		name: "a timeout: the tile fails, its shared fetch runs on to the fetch timeout",
		tile: func() tracedTile {
			return tracedTile{backend: after("products", 5*time.Second), policy: resilience.Policy{TTL: time.Minute}, timeout: 300 * ms}
		},
		rounds: []int{1},
		want: `
page @0s 300ms
  tile products @0s 300ms cache=miss status=timeout tile=products error="products: no answer within 300ms"
    attempt @0s 2s attempt=first result=error tile=products error="products: context deadline exceeded"
      client @0s 2s`,
	}, {
		name: "a coalesced miss: one attempt, under the miss that started it",
		tile: func() tracedTile {
			return tracedTile{backend: after("products", 100*ms), policy: resilience.Policy{TTL: time.Minute}}
		},
		rounds: []int{2},
		want: `
page @0s 100ms
  tile products @0s 100ms cache=coalesced status=ok tile=products
page @0s 100ms
  tile products @0s 100ms cache=miss status=ok tile=products
    attempt @0s 100ms attempt=first result=won tile=products
      client @0s 100ms`,
	}, {
		name: "a bulkhead refusal: the hedge is refused",
		tile: func() tracedTile {
			return tracedTile{backend: after("products", 200*ms), policy: resilience.Policy{Bulkhead: 1, HedgeDelay: 50 * ms, HedgeCap: 1}}
		},
		rounds: []int{1},
		want: `
page @0s 200ms
  tile products @0s 200ms status=ok tile=products
    attempt @0s 200ms attempt=first result=won tile=products
      client @0s 200ms
    attempt @50ms 0s attempt=hedge result=refused tile=products events=[bulkhead full]`,
	}, {
		name: "a circuit open: no attempt, the fallback",
		tile: func() tracedTile {
			return tracedTile{backend: tilestest.Failing("products", errors.New("products: down")),
				policy: resilience.Policy{BreakerFailures: 1, BreakerOpen: time.Minute, Fallback: tilestest.String("default")}}
		},
		rounds: []int{1, 1},
		wait:   time.Second,
		want: `
page @0s 0s
  tile products @0s 0s breaker=closed cache=fallback status=fallback tile=products
    attempt @0s 0s attempt=first result=error tile=products error="products: down"
      client @0s 0s
page @1s 0s
  tile products @1s 0s breaker=open cache=fallback status=fallback tile=products events=[circuit open]`,
	}, {
		name:   "a panic: the tile span is an error",
		tile:   func() tracedTile { return tracedTile{backend: tilestest.Panicking("products", "kaboom"), bare: true} },
		rounds: []int{1},
		want: `
page @0s 0s
  tile products @0s 0s status=error tile=products error="products: internal error (panic)"
    client @0s 0s events=[exception]`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				t0 := time.Now()
				rec, tracer := newTracing()
				tile := tt.tile()
				asClient(tile.backend, tracer)
				a, wait := newTracedAggregator(t, tile, tracer, tracer)
				for i, n := range tt.rounds {
					if i > 0 {
						time.Sleep(tt.wait)
					}
					var wg sync.WaitGroup
					for range n {
						wg.Go(func() { tracedPage(t.Context(), tracer, a) })
					}
					wg.Wait()
				}
				wait() // background refreshes and shared fetches end
				if got, want := len(rec.Started()), len(rec.Ended()); got != want {
					t.Errorf("%d spans started; %d ended; want all ended", got, want)
				}
				if got, want := spanTree(rec.Ended(), t0), strings.TrimPrefix(tt.want, "\n"); got != want {
					t.Errorf("span tree:\n%s\nwant:\n%s", got, want)
				}
			})
		})
	}
}

// TestTracingOff: without tracers, the aggregator and the resilience layer
// start no span and annotate none, even under a request that is traced.
func TestTracingOff(t *testing.T) {
	tests := []struct {
		name string
		tile tracedTile
	}{
		{"hedged", tracedTile{backend: scriptedTile("recs", time.Second, 10*time.Millisecond), policy: resilience.Policy{HedgeDelay: 50 * time.Millisecond, HedgeCap: 1}}},
		{"cached", tracedTile{backend: after("banners", 20*time.Millisecond), policy: resilience.Policy{TTL: time.Minute, StaleWhileRevalidate: time.Minute, MaxStale: time.Hour}}},
		{"fallback", tracedTile{backend: tilestest.Failing("products", errors.New("down")),
			policy: resilience.Policy{BreakerFailures: 1, Fallback: tilestest.String("default")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec, tracer := newTracing()
				a, wait := newTracedAggregator(t, tt.tile, nil, nil)
				for range 3 {
					tracedPage(t.Context(), tracer, a)
					time.Sleep(90 * time.Second) // the cached tile then goes stale
				}
				wait()
				for _, s := range rec.Ended() {
					if s.Name() != "page" || len(s.Attributes()) > 0 || len(s.Events()) > 0 {
						t.Errorf("span %q with %v, events %v; want only bare page spans", s.Name(), s.Attributes(), s.Events())
					}
				}
				if got, want := len(rec.Ended()), 3; got != want {
					t.Errorf("%d spans; want %d (the test's pages)", got, want)
				}
			})
		})
	}
}

// TestTracingContexts: the context that TileDone gets and that a tile's
// panic is logged with carry the tile's span.
func TestTracingContexts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec, tracer := newTracing()
		obs := &fakeObserver{}
		logs := &spanLog{}
		a := mustNew(t, aggregator.Options{Observer: obs, Tracer: tracer, Logger: slog.New(logs)},
			after("banners", 10*time.Millisecond), tilestest.Panicking("products", "kaboom"))
		tracedPage(t.Context(), tracer, a)

		tileSpans := map[string]trace.SpanContext{}
		for _, s := range rec.Ended() {
			tileSpans[s.Name()] = s.SpanContext()
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if got, want := len(obs.tileSpans), 2; got != want {
			t.Fatalf("TileDone called %d times; want %d", got, want)
		}
		for i, r := range obs.tiles {
			if got, want := obs.tileSpans[i], tileSpans["tile "+r.Name]; !got.Equal(want) || !want.IsValid() {
				t.Errorf("TileDone(%s) span %v; want the tile's, %v", r.Name, got, want)
			}
		}
		if got, want := logs.spans(), []trace.SpanContext{tileSpans["tile products"]}; !slices.EqualFunc(got, want, trace.SpanContext.Equal) {
			t.Errorf("panic logged under spans %v; want the tile's, %v", got, want)
		}
	})
}

// asClient makes every fetch of f a span "client", as otelhttp's transport
// does for a backend reached over HTTP: a child of the span in the
// fetch's context.
func asClient(f *tilestest.Fetcher, tracer trace.Tracer) {
	fetch := f.FetchFn
	f.FetchFn = func(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
		ctx, span := tracer.Start(ctx, "client")
		defer span.End()
		return fetch(ctx, req)
	}
}

// newTracing returns a tracer whose spans rec records.
func newTracing() (*tracetest.SpanRecorder, trace.Tracer) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	return rec, tp.Tracer("vitrine/test")
}

// newTracedAggregator returns an aggregator over tt's tile, the aggregator
// traced by aggTracer and the resilience layer by resTracer (nil: off),
// and a function that waits for the tile's background work. The tile is
// closed when t ends.
func newTracedAggregator(t *testing.T, tt tracedTile, aggTracer, resTracer trace.Tracer) (*aggregator.Aggregator, func()) {
	t.Helper()
	var f tiles.Fetcher = tt.backend
	wait := func() {}
	if !tt.bare {
		w := resilience.Wrap(tt.backend, tt.policy, resilience.Options{Tracer: resTracer})
		t.Cleanup(w.Close)
		f, wait = w, w.Wait
	}
	opts := aggregator.Options{Tracer: aggTracer}
	if tt.timeout > 0 {
		opts.Timeouts = map[string]time.Duration{tt.backend.Name(): tt.timeout}
	}
	return mustNew(t, opts, f), wait
}

// tracedPage fetches a page of a under a span "page", as the web layer
// would.
func tracedPage(ctx context.Context, tracer trace.Tracer, a *aggregator.Aggregator) {
	ctx, span := tracer.Start(ctx, "page")
	defer span.End()
	a.Page(ctx, tiles.Request{})
}

// scriptedTile is a tile whose nth fetch (from 0) answers after
// latencies[n], the last one repeating, or fails when its context ends.
func scriptedTile(name string, latencies ...time.Duration) *tilestest.Fetcher {
	var calls atomic.Int64
	return &tilestest.Fetcher{TileName: name, FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
		n := int(calls.Add(1)) - 1
		if err := tiles.Wait(ctx, latencies[min(n, len(latencies)-1)]); err != nil {
			return tiles.Outcome{}, fmt.Errorf("%s: %w", name, err)
		}
		return tiles.Fresh(dataOf(name)), nil
	}}
}

// spanTree renders spans as indented trees, one line per span: its name,
// its start (from t0) and duration, its attributes (vitrine. dropped from
// their keys) in key order, its error, events and links. Roots, and the
// children of each span, are in order of start, then of rendering.
func spanTree(spans []sdktrace.ReadOnlySpan, t0 time.Time) string {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	for _, s := range spans {
		if p := s.Parent(); p.IsValid() && byID[p.SpanID()] != nil {
			children[p.SpanID()] = append(children[p.SpanID()], s)
		} else {
			roots = append(roots, s)
		}
	}
	label := func(s sdktrace.ReadOnlySpan) string {
		return fmt.Sprintf("%s @%s", s.Name(), s.StartTime().Sub(t0))
	}
	var render func(s sdktrace.ReadOnlySpan, indent string) string
	render = func(s sdktrace.ReadOnlySpan, indent string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s%s %s", indent, label(s), s.EndTime().Sub(s.StartTime()))
		attrs := s.Attributes()
		slices.SortFunc(attrs, func(x, y attribute.KeyValue) int { return strings.Compare(string(x.Key), string(y.Key)) })
		for _, kv := range attrs {
			fmt.Fprintf(&b, " %s=%s", strings.TrimPrefix(string(kv.Key), "vitrine."), kv.Value.Emit())
		}
		if st := s.Status(); st.Code == codes.Error {
			fmt.Fprintf(&b, " error=%q", st.Description)
		}
		if evs := s.Events(); len(evs) > 0 {
			names := make([]string, len(evs))
			for i, e := range evs {
				names[i] = e.Name
			}
			fmt.Fprintf(&b, " events=[%s]", strings.Join(names, ", "))
		}
		for _, l := range s.Links() {
			target := "?"
			if ls := byID[l.SpanContext.SpanID()]; ls != nil {
				target = label(ls)
			}
			fmt.Fprintf(&b, " link=[%s]", target)
		}
		return b.String() + renderAll(children[s.SpanContext().SpanID()], indent+"  ", render)
	}
	return strings.TrimPrefix(renderAll(roots, "", render), "\n")
}

// renderAll renders spans in order of start, then of rendering, each on a
// new line.
func renderAll(spans []sdktrace.ReadOnlySpan, indent string, render func(sdktrace.ReadOnlySpan, string) string) string {
	type rendered struct {
		start time.Time
		text  string
	}
	rs := make([]rendered, len(spans))
	for i, s := range spans {
		rs[i] = rendered{s.StartTime(), render(s, indent)}
	}
	slices.SortFunc(rs, func(x, y rendered) int {
		if c := x.start.Compare(y.start); c != 0 {
			return c
		}
		return strings.Compare(x.text, y.text)
	})
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("\n" + r.text)
	}
	return b.String()
}

// spanLog is a slog.Handler that keeps the span in the context of each
// record.
type spanLog struct {
	mu  sync.Mutex
	got []trace.SpanContext
}

func (h *spanLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *spanLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *spanLog) WithGroup(string) slog.Handler            { return h }
func (h *spanLog) Handle(ctx context.Context, _ slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, trace.SpanContextFromContext(ctx))
	return nil
}

func (h *spanLog) spans() []trace.SpanContext {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}
