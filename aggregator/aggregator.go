// Package aggregator provides the fan-out at the heart of Vitrine: it fetches
// every tile of a page at once, each under its own deadline and under the
// request's context, and merges the results, so that a page takes as long as
// its slowest tile rather than the sum. A tile that fails, times out or
// panics becomes that tile's status; it never fails the page.
package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"vitrine/tiles"
)

// Status is the outcome of one tile.
type Status string

// The statuses a tile can have. Only StatusOK counts towards a complete page.
const (
	StatusOK       Status = "ok"
	StatusTimeout  Status = "timeout"
	StatusError    Status = "error"
	StatusStale    Status = "stale"    // served from cache past its freshness
	StatusFallback Status = "fallback" // the tile's static default
)

// Result is one tile of a page, in the contract's JSON shape.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// StartMS is when the fetch started, from the start of the page: with
	// ElapsedMS it draws the page's timing waterfall.
	StartMS   float64 `json:"start_ms"`
	ElapsedMS float64 `json:"elapsed_ms"`
	// AgeMS is how old stale content is; nil for fresh content.
	AgeMS *float64 `json:"age_ms,omitempty"`
	Error string   `json:"error,omitempty"`
	Data  any      `json:"data,omitempty"`
}

// Summary closes a page: its wall time and whether every tile was ok.
type Summary struct {
	ElapsedMS float64 `json:"elapsed_ms"`
	Complete  bool    `json:"complete"`
}

// Page is a whole merged page.
type Page struct {
	Tiles map[string]Result `json:"tiles"`
	Summary
	// Results holds the same tiles in page order (for Server-Timing).
	Results []Result `json:"-"`
}

// Options tune an Aggregator.
type Options struct {
	// TileTimeout bounds each tile's fetch; zero means 500ms.
	TileTimeout time.Duration
	// PageTimeout bounds a whole page on top of the tile timeouts; zero
	// means none.
	PageTimeout time.Duration
	// Logger receives panics recovered from tiles; nil discards them.
	Logger *slog.Logger
	// Observer, if set, is told of every page and tile (for metrics).
	Observer Observer
}

// Observer watches pages and tiles go by. Its methods are called
// concurrently and must be quick.
type Observer interface {
	PageStarted()
	PageDone(Summary)
	TileDone(Result)
}

// errPageDeadline is the cause of a page's context when PageTimeout ends it.
var errPageDeadline = errors.New("page deadline")

// Aggregator fetches a fixed set of tiles concurrently. It is safe for
// concurrent use.
type Aggregator struct {
	fetchers []tiles.Fetcher
	index    map[string]int
	timeout  time.Duration
	pageTO   time.Duration
	logger   *slog.Logger
	observer Observer
}

// DefaultTileTimeout is the tile deadline when Options leave it unset.
const DefaultTileTimeout = 500 * time.Millisecond

// New returns an Aggregator over fetchers, which are the page's tiles in page
// order. Names must be unique and non-empty.
func New(fetchers []tiles.Fetcher, opts Options) (*Aggregator, error) {
	a := &Aggregator{
		fetchers: fetchers,
		index:    make(map[string]int, len(fetchers)),
		timeout:  opts.TileTimeout,
		pageTO:   opts.PageTimeout,
		logger:   opts.Logger,
		observer: opts.Observer,
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTileTimeout
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	for i, f := range fetchers {
		name := f.Name()
		if name == "" {
			return nil, fmt.Errorf("aggregator: tile %d has no name", i)
		}
		if _, dup := a.index[name]; dup {
			return nil, fmt.Errorf("aggregator: two tiles named %q", name)
		}
		a.index[name] = i
	}
	return a, nil
}

// Names returns the tile names in page order.
func (a *Aggregator) Names() []string {
	names := make([]string, len(a.fetchers))
	for i, f := range a.fetchers {
		names[i] = f.Name()
	}
	return names
}

// TileTimeout is the deadline each tile is fetched under.
func (a *Aggregator) TileTimeout() time.Duration { return a.timeout }

// Tiles describes every tile, in page order.
func (a *Aggregator) Tiles() []tiles.Info {
	infos := make([]tiles.Info, len(a.fetchers))
	for i, f := range a.fetchers {
		info := tiles.Info{Name: f.Name()}
		if d, ok := f.(tiles.Describer); ok {
			info = d.Describe()
		}
		info.TimeoutMS = Millis(a.timeout)
		info.URL = "/tiles/" + info.Name
		infos[i] = info
	}
	return infos
}

// Stream fetches every tile concurrently and calls emit with each result as
// soon as it is ready, in completion order, from the calling goroutine (so
// emit needs no locking). If emit returns an error (the client went away),
// the tiles still running are cancelled and Stream returns that error once
// they have stopped. No goroutine started by Stream outlives it.
func (a *Aggregator) Stream(ctx context.Context, req tiles.Request, emit func(Result) error) (Summary, error) {
	start := time.Now()
	if a.observer != nil {
		a.observer.PageStarted()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if a.pageTO > 0 {
		var cancelPage context.CancelFunc
		ctx, cancelPage = context.WithTimeoutCause(ctx, a.pageTO, errPageDeadline)
		defer cancelPage()
	}
	// A plain Group, not WithContext: no tile returns an error (failures
	// are results), so its context would never be cancelled before Wait;
	// ctx above already carries the page's cancellation and deadline.
	var g errgroup.Group
	results := make([]Result, len(a.fetchers))
	done := make(chan int, len(a.fetchers)) // buffered: a finished tile never waits for emit
	for i, f := range a.fetchers {
		g.Go(func() error {
			// Each goroutine writes only its own slot; tile failures are
			// results, not errors, so one tile never cancels its siblings.
			results[i] = a.fetch(ctx, f, req, start)
			done <- i
			return nil
		})
	}
	var emitErr error
	for range a.fetchers {
		i := <-done
		if emitErr == nil {
			if emitErr = emit(results[i]); emitErr != nil {
				cancel()
			}
		}
	}
	_ = g.Wait() // every goroutine has sent on done; this only joins them
	sum := Summary{ElapsedMS: Millis(time.Since(start)), Complete: true}
	for _, r := range results {
		if r.Status != StatusOK {
			sum.Complete = false
		}
	}
	if a.observer != nil {
		a.observer.PageDone(sum)
	}
	return sum, emitErr
}

// Page fetches every tile concurrently and returns the merged page.
func (a *Aggregator) Page(ctx context.Context, req tiles.Request) Page {
	p := Page{Tiles: make(map[string]Result, len(a.fetchers))}
	p.Summary, _ = a.Stream(ctx, req, func(r Result) error {
		p.Tiles[r.Name] = r
		return nil
	})
	p.Results = make([]Result, len(a.fetchers))
	for i, f := range a.fetchers {
		p.Results[i] = p.Tiles[f.Name()]
	}
	return p
}

// Tile fetches one tile by name. The error is an ENOTFOUND *tiles.Error
// naming the known tiles when there is no such tile; a tile's own failure is
// its Result's status, not an error.
func (a *Aggregator) Tile(ctx context.Context, name string, req tiles.Request) (Result, error) {
	i, ok := a.index[name]
	if !ok {
		return Result{}, tiles.Errorf(tiles.ENOTFOUND, "no tile named %q; known tiles: %s", tiles.Clip(name, 64), strings.Join(a.Names(), ", "))
	}
	return a.fetch(ctx, a.fetchers[i], req, time.Now()), nil
}

// fetch runs one tile under its own deadline and turns every outcome,
// including a panic, into a Result.
func (a *Aggregator) fetch(ctx context.Context, f tiles.Fetcher, req tiles.Request, pageStart time.Time) (r Result) {
	start := time.Now()
	r = Result{Name: f.Name(), StartMS: Millis(start.Sub(pageStart))}
	tctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			a.logger.Error("tile panicked", "tile", r.Name, "panic", p, "stack", string(debug.Stack()))
			r.Status, r.Data = StatusError, nil
			r.Error = fmt.Sprintf("%s: internal error (panic: %v)", r.Name, p)
		}
		r.ElapsedMS = Millis(time.Since(start))
		if a.observer != nil {
			a.observer.TileDone(r)
		}
	}()
	data, err := f.Fetch(tctx, req)
	lateMsg, late := a.deadlineMessage(r.Name, ctx, tctx)
	switch {
	case err == nil:
		r.Status, r.Data = StatusOK, data
		if s, ok := data.(*tiles.Served); ok {
			r.Status, r.Data = Status(s.Status), s.Data
			if r.Status == StatusStale {
				age := Millis(s.Age)
				r.AgeMS = &age
			}
			// Rescued at a deadline: say so as a timeout would.
			if late {
				r.Error = lateMsg
			} else if s.Cause != nil {
				r.Error = prefixed(r.Name, s.Cause.Error())
			}
		}
	case late:
		r.Status, r.Error = StatusTimeout, lateMsg
	case ctx.Err() != nil:
		// The page itself was cancelled (the client went away).
		r.Status = StatusError
		r.Error = fmt.Sprintf("%s: cancelled: %v", r.Name, context.Cause(ctx))
	default:
		r.Status = StatusError
		r.Error = prefixed(r.Name, err.Error())
	}
	return r
}

// deadlineMessage says which deadline ended the tile's fetch, if one did:
// its own (ctx still live) or the page's.
func (a *Aggregator) deadlineMessage(name string, ctx, tctx context.Context) (string, bool) {
	switch {
	case ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("%s: no answer within %s", name, a.timeout), true
	case errors.Is(context.Cause(ctx), errPageDeadline):
		return fmt.Sprintf("%s: no answer within the page deadline of %s", name, a.pageTO), true
	}
	return "", false
}

// prefixed makes sure a tile's error message starts with the tile's name.
func prefixed(name, msg string) string {
	if strings.HasPrefix(msg, name+":") {
		return msg
	}
	return name + ": " + msg
}

// Millis converts a duration to milliseconds, rounded to 0.1 ms: how every
// duration in Vitrine's JSON and Server-Timing is written.
func Millis(d time.Duration) float64 {
	return float64(d.Round(100*time.Microsecond)) / float64(time.Millisecond)
}
