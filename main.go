// Command vitrine serves an e-commerce homepage assembled from independent
// tiles fetched concurrently. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/graceful"
	"vitrine/memory"
	"vitrine/metrics"
	"vitrine/rediscache"
	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tracing"
	"vitrine/upstream"
	"vitrine/web"
)

func main() {
	memory.Tune(os.Getenv) // process-wide, hence here and not in run
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go memory.Reclaim(ctx, memory.ReclaimEvery)
	// `vitrine backends` serves the simulated tiles over HTTP instead.
	args, runner, usage := os.Args[1:], run, config.Usage
	if len(args) > 0 && args[0] == "backends" {
		args, runner, usage = args[1:], runBackends, config.BackendsUsage
	}
	err := runner(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	var cfgErr *config.Error
	switch {
	case err == nil:
	case errors.Is(err, config.ErrHelp):
		usage(os.Stdout)
	case errors.As(err, &cfgErr):
		fmt.Fprintf(os.Stderr, "vitrine: %v\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "vitrine: %v\n", err)
		os.Exit(1)
	}
}

// run wires Vitrine together and serves until ctx is cancelled, then shuts
// down gracefully: it returns once the requests in flight have finished, or
// been cut at the end of the drain (-shutdown-timeout).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(args, getenv)
	if err != nil {
		return err
	}
	prov, err := startTracing(ctx, cfg.Trace, cfg.TraceSample, "vitrine", getenv, stdout)
	if err != nil {
		return err
	}
	defer shutdownTracing(prov, stderr) // last: after the tiles' refreshes and the server
	logger := newLogger(stderr, prov)
	cat := catalogue.Default()
	names := make([]string, len(cfg.Tiles))
	timeouts := map[string]time.Duration{}
	for i, tc := range cfg.Tiles {
		names[i], timeouts[tc.Name] = tc.Name, cfg.Timeout(tc)
	}
	m := metrics.New(names...)
	shared, err := connectShared(cfg.Redis, m, logger, prov)
	if err != nil {
		return err
	}
	if shared != nil {
		defer shared.Close() // after the tiles' Close: their refreshes write to it
	}
	wrapped, err := buildTiles(cfg, cat, m, logger, shared, prov)
	if err != nil {
		return err
	}
	fetchers := make([]tiles.Fetcher, len(wrapped))
	for i, t := range wrapped {
		defer t.Close() // after Shutdown: joins background refreshes
		fetchers[i] = t
	}
	agg, err := aggregator.New(fetchers, aggregator.Options{
		TileTimeout: cfg.TileTimeout,
		Timeouts:    timeouts,
		PageTimeout: cfg.PageTimeout,
		Logger:      logger,
		Observer:    m,
		Tracer:      prov.Tracer("vitrine/aggregator"),
	})
	if err != nil {
		return err
	}
	if cfg.Check {
		return nil // -check: the configuration is valid, and nothing listens
	}
	srv, admin := newServers(cfg, logger, agg, cat, m, readiness(wrapped, shared), prov.TracerProvider())
	ln, adminLn, err := listen(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "vitrine: serving http://%s/home\n", ln.Addr())
	ln = web.WatchWrites(srv, ln) // counts the writes its deadlines cut
	if admin == nil {
		return graceful.Serve(ctx, srv, ln, cfg.ShutdownTimeout, logger)
	}
	fmt.Fprintf(stdout, "vitrine: admin on http://%s/metrics\n", adminLn.Addr())
	return graceful.ServeWithAdmin(ctx, srv, ln, admin, adminLn, cfg.ShutdownTimeout, logger)
}

// newServers returns the public server and, with -admin-addr, the admin
// server (else nil). With an admin server, /metrics (and pprof) are served
// only there: the public one has no route for them.
func newServers(cfg config.Config, logger *slog.Logger, agg *aggregator.Aggregator, cat *catalogue.Catalogue, m *metrics.Metrics, ready func() web.Readiness, tp trace.TracerProvider) (srv, admin *http.Server) {
	publicMetrics := m.Handler()
	if cfg.AdminAddr != "" {
		publicMetrics = nil
	}
	srv = &http.Server{
		Handler:           web.NewServer(logger, agg, webOptions(cfg, cat, publicMetrics, m, ready, tp)),
		ReadHeaderTimeout: 5 * time.Second, // a slow client cannot hold a connection open
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// No WriteTimeout, which would cut streams and /test that are long on
		// purpose: each write has its own deadline instead (web/deadline.go).
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if cfg.AdminAddr == "" {
		return srv, nil
	}
	admin = &http.Server{
		Handler:           web.NewAdmin(m.Handler(), ready),
		ReadHeaderTimeout: srv.ReadHeaderTimeout,
		ReadTimeout:       srv.ReadTimeout,
		IdleTimeout:       srv.IdleTimeout,
		MaxHeaderBytes:    srv.MaxHeaderBytes,
		// No WriteTimeout: a CPU profile or trace takes ?seconds=N.
		ErrorLog: srv.ErrorLog,
	}
	return srv, admin
}

// webOptions are the web layer's options: the page's primary tile and how
// each tile is drawn come from the configuration.
func webOptions(cfg config.Config, cat *catalogue.Catalogue, publicMetrics http.Handler, m *metrics.Metrics, ready func() web.Readiness, tp trace.TracerProvider) web.Options {
	opts := web.Options{
		TestDelay: cfg.TestDelay, Catalogue: cat, Metrics: publicMetrics,
		InFlight: m.RequestStarted, WriteCut: m.WriteCut,
		Views: map[string]string{}, Readiness: ready, TracerProvider: tp,
	}
	for _, tc := range cfg.Tiles {
		opts.Views[tc.Name] = tc.View
		if tc.Primary {
			opts.Primary = tc.Name
		}
	}
	return opts
}

// listen opens the public listener and, with -admin-addr, the admin one,
// both before either is announced: a busy admin address stops the program
// as a busy -addr does.
func listen(cfg config.Config) (ln, adminLn net.Listener, err error) {
	if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	if cfg.AdminAddr == "" {
		return ln, nil, nil
	}
	if adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("listen on -admin-addr: %w", err)
	}
	return ln, adminLn, nil
}

// buildTiles builds each configured tile's backend (its HTTP service, or
// the built-in simulator) and wraps it in its resilience policy. Every HTTP
// tile shares one client, so one pool of keep-alive connections.
func buildTiles(cfg config.Config, cat *catalogue.Catalogue, m *metrics.Metrics, logger *slog.Logger, shared *rediscache.Cache, prov *tracing.Provider) ([]*resilience.Tile, error) {
	opts := resilience.Options{Recorder: m, Logger: logger, Tracer: prov.Tracer("vitrine/resilience")}
	if shared != nil { // a nil *Cache in the interface would not be nil
		opts.Shared = shared
	}
	client := upstream.NewTracedClient(prov.TracerProvider()) // untraced when off
	defs := map[string]sim.Def{}
	for _, d := range sim.Builtins() {
		defs[d.Name] = d
	}
	var wrapped []*resilience.Tile
	for _, tc := range cfg.Tiles {
		backend, err := newBackend(cfg, tc, defs[tc.Name], cat, client, m, logger)
		if err != nil {
			return nil, err
		}
		fallback := tc.Fallback
		if def, ok := defs[tc.Name]; ok && fallback == nil {
			if fallback, err = def.Content(cat, tiles.Request{}); err != nil {
				return nil, err
			}
		}
		p := policy(cfg, tc, fallback)
		if err := p.Validate(); err != nil {
			return nil, &config.Error{Flag: "flags", Msg: tc.Name + ": " + strings.ReplaceAll(err.Error(), "\n", "; ")}
		}
		wrapped = append(wrapped, resilience.Wrap(backend, p, opts))
	}
	return wrapped, nil
}

// connectShared returns the shared Redis tier of -redis, or nil without
// one. It does not dial: Redis may be down at start-up, and the tier then
// starts down and comes up on its own.
func connectShared(r config.Redis, m *metrics.Metrics, logger *slog.Logger, prov *tracing.Provider) (*rediscache.Cache, error) {
	if !r.Enabled() {
		return nil, nil
	}
	client, err := rediscache.Connect(rediscache.Settings{
		URL: r.URL, Addrs: r.Addrs, MasterName: r.MasterName, Timeout: r.Timeout,
	})
	if err != nil {
		return nil, &config.Error{Flag: "-redis", Msg: err.Error()}
	}
	return rediscache.New(rediscache.Options{
		Client: client, Prefix: r.Prefix, Timeout: r.Timeout, Recorder: m, Logger: logger,
		Tracer: prov.Tracer("vitrine/rediscache"),
	}), nil
}

// readiness reports, for /readyz, the shared tier's state and each tile's
// breaker. The replica is ready unless a tile's breaker is open and the
// tile has no fallback: its pages would then have a hole.
func readiness(wrapped []*resilience.Tile, shared *rediscache.Cache) func() web.Readiness {
	fallback := map[string]bool{}
	for _, t := range wrapped {
		fallback[t.Name()] = t.Describe().Policy.Fallback
	}
	return func() web.Readiness {
		r := web.Readiness{Ready: true}
		for _, t := range wrapped {
			ts := web.TileState{Name: t.Name()} // no Breaker: the tile has none
			if state, ok := t.Breaker(); ok {
				ts.Breaker = string(state)
			}
			r.Tiles = append(r.Tiles, ts)
			if ts.Breaker == string(resilience.BreakerOpen) && !fallback[t.Name()] {
				r.Ready = false
			}
		}
		if shared != nil {
			st := shared.State()
			r.Redis = &web.DependencyState{State: "up", Since: st.Since, Error: st.Err}
			if !st.Up {
				r.Redis.State = "down"
			}
		}
		return r
	}
}

// newBackend returns tc's backend: its HTTP service when it has a URL, else
// def's simulator.
func newBackend(cfg config.Config, tc config.Tile, def sim.Def, cat *catalogue.Catalogue, client *http.Client, m *metrics.Metrics, logger *slog.Logger) (tiles.Fetcher, error) {
	if tc.URL != "" {
		f, err := upstream.New(upstream.Options{
			Name: tc.Name, URL: tc.URL, Personalised: tc.Personalised, MaxBody: tc.MaxBody,
			HTML: tc.View == web.ViewHTML, Client: client, Logger: logger, Observe: m.Upstream,
		})
		if err != nil {
			return nil, &config.Error{Flag: "tiles", Msg: err.Error()}
		}
		return f, nil
	}
	return simulate(def, cat, cfg.Latency, cfg.Fail, cfg.Tail)
}

// simulate returns def's simulated backend with its settings from the
// -latency and -fail maps (the server's and `vitrine backends`' alike).
func simulate(def sim.Def, cat *catalogue.Catalogue, latency map[string]time.Duration, fail map[string]float64, tails map[string]config.Tail) (*sim.Simulated, error) {
	tail := tails[def.Name]
	return sim.New(def, cat, sim.Backend{
		Latency: latency[def.Name], Fail: fail[def.Name], Tail: tail.Latency, TailRate: tail.Rate,
	})
}

// policy is resilience's default policy for tile tc at its configured
// latency, with the configuration applied. fallback is the tile's static
// default (the file's, or a built-in tile's anonymous content from the
// catalogue shipped in the binary): what the shopper sees rather than a
// hole when nothing fresh or stale can be served.
func policy(cfg config.Config, tc config.Tile, fallback []byte) resilience.Policy {
	name := tc.Name
	p := resilience.DefaultPolicy(cfg.Latency[name], tc.Personalised)
	p.MaxEntries = cfg.CacheSize
	// A fetch shared by several callers (or refreshing the cache) must be
	// allowed at least as long as a caller waits for it, or a tile slower
	// than the default could never be fresh however long -tile-timeout is.
	timeout := cfg.Timeout(tc)
	p.FetchTimeout = max(resilience.DefaultFetchTimeout, timeout+timeout/4)
	p.TTL, p.StaleWhileRevalidate = cfg.TTL[name], cfg.TTL[name]
	p.MaxStale = cfg.MaxStale[name]
	p.HedgeAdaptive, p.HedgeDelay = cfg.Hedge[name].Adaptive, cfg.Hedge[name].Delay
	p.BreakerFailures = cfg.Breaker[name]
	p.Bulkhead = tc.Bulkhead
	// An HTTP backend's Cache-Control sets freshness unless a TTL was
	// given for the tile.
	p.BackendTTL = tc.URL != "" && !cfg.PinnedTTL[name]
	if !cfg.Cache {
		// Every page fetches every tile itself, as a plain fan-out does.
		p.TTL, p.StaleWhileRevalidate, p.Direct = 0, 0, true
	}
	if cfg.Fallback {
		p.Fallback = fallback
	}
	return p
}

// startTracing sets up -trace (nothing at all when off). A bad sampler in
// the OTEL_* variables is a configuration error.
func startTracing(ctx context.Context, mode string, sample *float64, service string, getenv func(string) string, stdout io.Writer) (*tracing.Provider, error) {
	s := tracing.Settings{Mode: mode, Service: service, Stdout: stdout, Getenv: getenv}
	if sample != nil {
		s.Sample, s.SampleSet = *sample, true
	}
	prov, err := tracing.Setup(ctx, s)
	if err != nil {
		return nil, &config.Error{Flag: "-trace", Msg: strings.TrimPrefix(err.Error(), "tracing: ")}
	}
	return prov, nil
}

// shutdownTracing exports the spans still buffered, for at most 5s.
func shutdownTracing(prov *tracing.Provider, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := prov.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "vitrine: tracing: %v\n", err)
	}
}

// newLogger logs text to stderr, with each request's trace id when tracing.
func newLogger(stderr io.Writer, prov *tracing.Provider) *slog.Logger {
	h := slog.NewTextHandler(stderr, nil)
	if prov.TracerProvider() == nil {
		return slog.New(h)
	}
	return slog.New(tracing.LogHandler(h))
}
