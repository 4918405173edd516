// Package aggregator provides the fan-out at the heart of Vitrine: it fetches
// every tile of a page at once, each under its own deadline and under the
// request's context, so that a page takes as long as its slowest tile. A
// tile that fails, times out or panics becomes that tile's status; it never
// fails the page. Results leave it as typed values, in page order (Page) or
// completion order (Stream): it knows neither HTTP nor JSON.
package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"vitrine/tiles"
)

// Result is one tile of a page: its outcome and when it was fetched.
type Result struct {
	Name string
	tiles.Outcome
	// Start is when the fetch started, from the start of the page.
	Start, Elapsed time.Duration
}

// Summary closes a page: its wall time and whether every tile was ok.
type Summary struct {
	Elapsed  time.Duration
	Complete bool
	// Format is the form the page was asked in (WithFormat), for observers.
	Format string
	// Waited is how long the page waited to start since its request
	// arrived (tiles.Request.Arrived); Shed why its tiles were asked only
	// for what they hold (ShedWaited, ShedExpired), "" if they were not.
	Waited time.Duration
	Shed   string
}

// Why a page is shed: it waited past half its deadline, or past all of it.
const (
	ShedWaited  = "waited"
	ShedExpired = "expired"
)

type formatKey struct{}

// WithFormat returns ctx naming the form (json, html, ndjson) a page
// fetched under it is served in, so that an Observer can tell pages apart.
func WithFormat(ctx context.Context, format string) context.Context {
	return context.WithValue(ctx, formatKey{}, format)
}

// Page is a whole merged page, its tiles in page order.
type Page struct {
	Results []Result
	Summary
}

// Options tune an Aggregator.
type Options struct {
	// TileTimeout bounds each tile's fetch; zero means DefaultTileTimeout.
	TileTimeout time.Duration
	// Timeouts overrides TileTimeout for the tiles it names.
	Timeouts map[string]time.Duration
	// PageTimeout bounds a whole page; zero means none.
	PageTimeout time.Duration
	// Logger receives panics recovered from tiles; nil discards them.
	Logger *slog.Logger
	// Observer, if set, is told of every page and tile (for metrics).
	Observer Observer
	// Tracer, if set, traces each tile's fetch as a span "tile NAME", a
	// child of the span in the page's context; nil: tracing off.
	Tracer trace.Tracer
}

// Observer watches pages and tiles go by. Its methods are called
// concurrently and must be quick. The contexts are the page's and the
// tile's, with their spans when tracing.
type Observer interface {
	PageStarted()
	PageDone(context.Context, Summary)
	TileDone(context.Context, Result)
}

// Aggregator fetches a fixed set of tiles concurrently. It is safe for
// concurrent use.
type Aggregator struct {
	fetchers []tiles.Fetcher
	index    map[string]int
	timeout  time.Duration
	timeouts []time.Duration // per tile, in page order
	shares   []int           // per tile: its timeout's index in distinct
	distinct []time.Duration // the tiles' timeouts, each once
	pageTO   time.Duration
	logger   *slog.Logger
	observer Observer
	tracer   trace.Tracer // nil: tracing off
	spans    []string     // per tile, in page order: its span's name (with a tracer)
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
		tracer:   opts.Tracer,
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
		to := a.timeout
		if d, ok := opts.Timeouts[name]; ok && d > 0 {
			to = d
		}
		a.timeouts = append(a.timeouts, to)
		k := slices.Index(a.distinct, to)
		if k < 0 {
			k, a.distinct = len(a.distinct), append(a.distinct, to)
		}
		a.shares = append(a.shares, k)
		if a.tracer != nil {
			a.spans = append(a.spans, "tile "+name)
		}
	}
	for name := range opts.Timeouts {
		if _, ok := a.index[name]; !ok {
			return nil, fmt.Errorf("aggregator: a timeout for %q, which is not a tile", name)
		}
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

// Tiles describes every tile, in page order.
func (a *Aggregator) Tiles() []tiles.Info {
	infos := make([]tiles.Info, len(a.fetchers))
	for i, f := range a.fetchers {
		info := tiles.Info{Name: f.Name()}
		if d, ok := f.(tiles.Describer); ok {
			info = d.Describe()
		}
		info.Timeout = a.timeouts[i]
		infos[i] = info
	}
	return infos
}

// Page fetches every tile concurrently and returns the merged page.
func (a *Aggregator) Page(ctx context.Context, req tiles.Request) Page {
	p, _ := a.Stream(ctx, req, nil)
	return p
}

// Stream fetches every tile concurrently and calls emit (unless nil) with
// each result as soon as it is ready, from the calling goroutine; then it
// returns the page, in page order. If emit returns an error, the tiles
// still running are cancelled and Stream returns that error once they have
// stopped. No goroutine started by Stream outlives it.
func (a *Aggregator) Stream(ctx context.Context, req tiles.Request, emit func(Result) error) (Page, error) {
	start := time.Now()
	if a.observer != nil {
		a.observer.PageStarted()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sum := Summary{Complete: true}
	if a.pageTO > 0 {
		var arrived time.Time
		arrived, sum.Waited, sum.Shed = a.admit(req.Arrived, start)
		req.Shed = sum.Shed != ""
		var cancelPage context.CancelFunc
		ctx, cancelPage = context.WithDeadlineCause(ctx, arrived.Add(a.pageTO), tiles.ErrPageDeadline)
		defer cancelPage()
	}
	// Tiles with the same timeout share one deadline, from the page's start.
	tctxs := make([]context.Context, len(a.distinct))
	for k, d := range a.distinct {
		var cancelTiles context.CancelFunc
		tctxs[k], cancelTiles = context.WithTimeout(ctx, d)
		defer cancelTiles()
	}
	results := make([]Result, len(a.fetchers))
	done := make(chan int, len(a.fetchers)) // buffered: a finished tile never waits for emit
	g := a.fanOut(ctx, tctxs, req, start, results, done, emit == nil)
	var emitErr error
	for range a.fetchers {
		i := <-done
		if emit != nil && emitErr == nil {
			if emitErr = emit(results[i]); emitErr != nil {
				cancel()
			}
		}
	}
	_ = g.Wait() // every fetch has sent on done, and none returns an error: this only joins them
	sum.Elapsed = time.Since(start)
	sum.Format, _ = ctx.Value(formatKey{}).(string)
	for _, r := range results {
		sum.Complete = sum.Complete && r.Status == tiles.StatusOK
	}
	if a.observer != nil {
		a.observer.PageDone(ctx, sum)
	}
	return Page{Results: results, Summary: sum}, emitErr
}

// admit says when a page that starts at start arrived (at start, unless
// arrived is earlier), how long it waited, and whether it is shed: a page
// that spent half its deadline waiting is answered from what its tiles
// hold, for the same crowd that held it will hold its writing too.
func (a *Aggregator) admit(arrived, start time.Time) (time.Time, time.Duration, string) {
	if arrived.IsZero() || arrived.After(start) {
		return start, 0, ""
	}
	switch waited := start.Sub(arrived); {
	case waited >= a.pageTO:
		return arrived, waited, ShedExpired
	case waited > a.pageTO/2:
		return arrived, waited, ShedWaited
	default:
		return arrived, waited, ""
	}
}

// fanOut fetches every tile into its own slot of results, then sends its
// index on done. A tile's failure is its result, so the group's functions
// return nil and never cancel a sibling; ctx carries the page's
// cancellation. With inline (no one to emit to), the calling goroutine,
// which would only wait, fetches the last tile itself.
func (a *Aggregator) fanOut(ctx context.Context, tctxs []context.Context, req tiles.Request, start time.Time,
	results []Result, done chan<- int, inline bool) *errgroup.Group {
	var g errgroup.Group
	n := len(a.fetchers)
	if inline && n > 0 {
		n--
	}
	for i := range n {
		g.Go(func() error {
			growStack()
			results[i] = a.fetch(ctx, tctxs[a.shares[i]], i, req, start)
			done <- i
			return nil
		})
	}
	if n < len(a.fetchers) {
		results[n] = a.fetch(ctx, tctxs[a.shares[n]], n, req, start)
		done <- n
	}
	return &g
}

// Tile fetches one tile by name. The error is an ENOTFOUND *tiles.Error
// when there is no such tile; a tile's own failure is its Result's status.
func (a *Aggregator) Tile(ctx context.Context, name string, req tiles.Request) (Result, error) {
	i, ok := a.index[name]
	if !ok {
		return Result{}, tiles.Errorf(tiles.ENOTFOUND, "no tile named %q; known tiles: %s",
			tiles.Clip(name, 64), strings.Join(a.Names(), ", "))
	}
	tctx, cancel := context.WithTimeout(ctx, a.timeouts[i])
	defer cancel()
	return a.fetch(ctx, tctx, i, req, time.Now()), nil
}

// fetch runs one tile under tctx, ctx bounded by the tile's timeout, and
// turns every outcome, including a panic, into a Result.
func (a *Aggregator) fetch(ctx, tctx context.Context, i int, req tiles.Request, pageStart time.Time) (r Result) {
	f, timeout := a.fetchers[i], a.timeouts[i]
	start := time.Now()
	r = Result{Name: f.Name(), Start: start.Sub(pageStart)}
	var span trace.Span
	if a.tracer != nil {
		tctx, span = a.tracer.Start(tctx, a.spans[i], trace.WithAttributes(attrTile.String(r.Name)))
	}
	defer func() {
		if p := recover(); p != nil {
			a.logger.ErrorContext(tctx, "tile panicked", "tile", r.Name, "request_id", req.ID, "panic", p,
				"stack", string(debug.Stack()))
			// The cause reaches clients: the panic's value stays in the log.
			r.Outcome = tiles.Outcome{Status: tiles.StatusError, Cause: fmt.Errorf("%s: internal error (panic)", r.Name)}
		}
		r.Elapsed = time.Since(start)
		if span != nil {
			endTileSpan(span, r)
		}
		if a.observer != nil {
			a.observer.TileDone(tctx, r)
		}
	}()
	out, err := f.Fetch(tctx, req)
	late := a.deadline(r.Name, timeout, ctx, tctx)
	switch {
	case err == nil:
		r.Outcome = out
		if r.Status == "" {
			r.Status = tiles.StatusOK
		}
		if late != nil && r.Status != tiles.StatusOK {
			r.Cause = late // rescued at a deadline: say so as a timeout would
		}
	case late != nil:
		r.Outcome = tiles.Outcome{Status: tiles.StatusTimeout, Cause: late}
	case ctx.Err() != nil:
		// The page itself was cancelled (the client went away).
		r.Outcome = tiles.Outcome{Status: tiles.StatusError,
			Cause: fmt.Errorf("%s: cancelled: %w", r.Name, context.Cause(ctx))}
	default:
		r.Outcome = tiles.Outcome{Status: tiles.StatusError, Cause: err}
	}
	if r.Cause != nil && !strings.HasPrefix(r.Cause.Error(), r.Name+":") {
		r.Cause = fmt.Errorf("%s: %w", r.Name, r.Cause)
	}
	return r
}

// Attributes of a tile's span.
const (
	attrTile   = attribute.Key("vitrine.tile")
	attrStatus = attribute.Key("vitrine.status") // ok | stale | fallback | timeout | error
	attrAgeMS  = attribute.Key("vitrine.age_ms") // stale only
)

// endTileSpan ends a tile's span with what became of the tile: a tile that
// timed out or failed (panics included) is an error, with its cause.
func endTileSpan(span trace.Span, r Result) {
	span.SetAttributes(attrStatus.String(string(r.Status)))
	switch r.Status {
	case tiles.StatusStale:
		span.SetAttributes(attrAgeMS.Int64(r.Age.Milliseconds()))
	case tiles.StatusTimeout, tiles.StatusError:
		desc := string(r.Status)
		if r.Cause != nil {
			desc = r.Cause.Error()
		}
		span.SetStatus(codes.Error, desc)
	}
	span.End()
}

// deadline says which deadline ended the tile's fetch, if one did.
func (a *Aggregator) deadline(name string, timeout time.Duration, ctx, tctx context.Context) error {
	switch {
	case ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: no answer within %s", name, timeout)
	case errors.Is(context.Cause(ctx), tiles.ErrPageDeadline):
		return fmt.Errorf("%s: no answer within the page deadline of %s", name, a.pageTO)
	}
	return nil
}

// growStack grows the calling goroutine's stack to 16 KiB in one step,
// while it is shallow, rather than copying an ever deeper stack as a
// tile's fetch goes through resilience's layers and an HTTP client.
//
//go:noinline
func growStack() {
	var pad [8 << 10]byte
	keep(pad[:])
}

// keep stops the compiler from dropping growStack's array.
//
//go:noinline
func keep(b []byte) { _ = b[len(b)-1] }
