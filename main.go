// Command vitrine serves an e-commerce homepage assembled from independent
// tiles fetched concurrently. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/graceful"
	"vitrine/identity"
	"vitrine/memory"
	"vitrine/metrics"
	"vitrine/rediscache"
	"vitrine/reload"
	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/tracing"
	"vitrine/upstream"
	"vitrine/web"
)

func main() {
	memory.Tune(os.Getenv) // process-wide, hence here and not in run
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go memory.Reclaim(ctx, memory.ReclaimEvery)
	args, runner, usage := command(os.Args[1:])
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

// command picks what the first argument names: `vitrine backends` serves the
// simulated tiles over HTTP, `vitrine token` prints a demo JWT for them,
// `vitrine purge` asks a running Vitrine to purge, and anything else is the
// server's flags. Only the first argument names one.
func command(args []string) ([]string, func(context.Context, []string, func(string) string, io.Writer,
	io.Writer) error, func(io.Writer)) {
	switch {
	case len(args) > 0 && args[0] == "backends":
		return args[1:], runBackends, config.BackendsUsage
	case len(args) > 0 && args[0] == "token":
		return args[1:], runToken, tokenUsage
	case len(args) > 0 && args[0] == "purge":
		return args[1:], runPurge, purgeUsage
	}
	return args, run, config.Usage
}

// app is what the tiles and servers are built from: configuration and process-wide parts.
type app struct {
	cfg    config.Config // as it was at start-up; a reload's is its generation's
	cat    *catalogue.Catalogue
	m      *metrics.Metrics
	logger *slog.Logger
	access *slog.Logger // the request lines, held a moment (logbuffer.go)
	prov   *tracing.Provider
	shared *rediscache.Cache  // the shared tier; nil without -redis
	who    identity.Source    // who the shopper is (-identity)
	client *http.Client       // the HTTP tiles'
	res    resilience.Options // every tile's
	purges *resilience.Purges // the purges the shared tier's entries are read through; nil without -redis
}

// run wires Vitrine together and serves until ctx is cancelled, then returns
// once the requests in flight have finished or been cut (-shutdown-timeout).
// SIGHUP reloads the configuration (generation.go).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP) // from now on, SIGHUP no longer ends the process
	defer signal.Stop(hup)
	cfg, err := config.Parse(args, getenv)
	if err != nil {
		return err
	}
	prov, err := startTracing(ctx, cfg.Trace, cfg.TraceSample, "vitrine", getenv, stdout)
	if err != nil {
		return err
	}
	logs := newLogBuffer(stderr)
	defer logs.Flush()
	defer shutdownTracing(prov, logs.now()) // last: after the tiles' refreshes and the server
	a := &app{cfg: cfg, cat: catalogue.Default(), logger: newLogger(logs.now(), prov),
		access: newLogger(logs.held(), prov), prov: prov}
	var names []string
	for _, tc := range cfg.Tiles {
		names = append(names, tc.Name)
	}
	a.m = metrics.New(names...)
	if a.shared, err = a.connectShared(); err != nil {
		return err
	}
	if a.shared != nil {
		a.purges = &resilience.Purges{}
		defer a.shared.Close() // after the tiles' Close: their refreshes write to it
		a.m.RedisPersonalBytes(a.shared.PersonalBytes)
	}
	a.client, a.res = upstream.NewTracedClient(a.prov.TracerProvider()), a.resilienceOptions() // untraced when off
	g, _, err := a.build(cfg, nil)
	if err != nil {
		return err
	}
	r := &reloader{a: a, args: args, getenv: getenv, served: reload.New(g, g.parts())}
	defer r.close() // after Shutdown: joins background refreshes
	if cfg.Check {
		return nil // -check: the configuration is valid, and nothing listens
	}
	a.who, err = a.identity(ctx)
	if ctx.Err() != nil {
		return nil // a signal during start-up stops Vitrine before it listens, with a shutdown's status
	}
	if err != nil {
		return err
	}
	current := func() []*resilience.Tile { return r.served.Current().tiles }
	if a.shared != nil {
		defer a.followPurges(ctx, current)() // before the tiles' Close
	}
	g.Handler = a.public(g) // before any request: nothing listens yet
	return a.serve(ctx, r, hup, stdout)
}

// serve listens on -addr and -admin-addr, if set, before announcing either (a
// busy address stops the program), and serves until ctx is cancelled,
// reloading on each signal of hup.
func (a *app) serve(ctx context.Context, r *reloader, hup <-chan os.Signal, stdout io.Writer) error {
	srv := httpServer(r.served, a.logger)
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.onHangup(hctx, hup) })
	defer wg.Wait()
	defer stop()
	if a.cfg.AdminAddr == "" {
		fmt.Fprintf(stdout, "vitrine: serving http://%s/home\n", ln.Addr())
		return graceful.Serve(ctx, srv, web.WatchWrites(srv, ln), a.cfg.ShutdownTimeout, a.logger)
	}
	adminLn, err := net.Listen("tcp", a.cfg.AdminAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen on -admin-addr: %w", err)
	}
	hosts := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.served.Current().hosts.ServeHTTP(w, req) // the tiles the current configuration serves
	})
	admin := httpServer(web.NewAdmin(a.m.Handler(), hosts, r.ready,
		web.PurgeRoute(a.purger(func() []*resilience.Tile { return r.served.Current().tiles })),
		web.ReloadRoute(r.reload)), a.logger)
	fmt.Fprintf(stdout, "vitrine: serving http://%s/home\n", ln.Addr())
	fmt.Fprintf(stdout, "vitrine: admin on http://%s/metrics\n", adminLn.Addr())
	return graceful.ServeWithAdmin(ctx, srv, web.WatchWrites(srv, ln), admin, adminLn, a.cfg.ShutdownTimeout, a.logger)
}

// public returns the public server's routes over g's tiles; /metrics among
// them unless -admin-addr serves it.
func (a *app) public(g *generation) http.Handler {
	opts := web.Options{
		TestDelay: g.cfg.TestDelay, Catalogue: a.cat, Metrics: a.m.Handler(),
		InFlight: a.m.RequestStarted, WriteCut: a.m.WriteCut, CookiesDropped: a.m.CookiesDropped,
		Views: map[string]string{}, Readiness: g.ready, TracerProvider: a.prov.TracerProvider(), Identity: a.who,
		AccessLog: a.access, Pages: g.pages, TileParams: map[string][]string{},
	}
	for _, tc := range g.cfg.Tiles {
		opts.TileParams[tc.Name] = tc.Params
		opts.Views[tc.Name] = tc.View
		opts.Forward = opts.Forward.Union(tc.Forward.Forward)
		if tc.Primary {
			opts.Primary = tc.Name
		}
		if tc.SetCookie {
			opts.SetCookie = append(opts.SetCookie, tc.Name)
		}
	}
	if a.cfg.AdminAddr != "" {
		opts.Metrics = nil
	}
	g.hosts = web.AdminTiles(g.agg, opts)
	return web.NewServer(a.logger, g.agg, opts)
}

// httpServer serves h with timeouts that stop a slow client from holding a
// connection. No WriteTimeout: it would cut streams, /test and profiles that
// are long on purpose; each public write has its own deadline (web/deadline.go).
func httpServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// resilienceOptions are every tile's resilience dependencies.
func (a *app) resilienceOptions() resilience.Options {
	opts := resilience.Options{Recorder: a.m, Logger: a.logger, Tracer: a.prov.Tracer("vitrine/resilience")}
	if a.shared != nil { // a nil *Cache in the interface would not be nil
		opts.Shared, opts.Purges = a.shared, a.purges
	}
	if a.cfg.KeySecret != "" {
		opts.UserKeys = resilience.NewUserKeys([]byte(a.cfg.KeySecret))
	} else if personal := func(t config.Tile) bool { return t.Personalised }; !a.cfg.Check && a.shared != nil &&
		slices.ContainsFunc(a.cfg.Tiles, personal) { // -check prints nothing on success
		a.logger.Warn("no -key-secret (VITRINE_KEY_SECRET): this replica hashes user ids with a random secret, " +
			"so its personalised entries in Redis are not shared with other replicas")
	}
	return opts
}

// simulate returns def's simulated backend with tc's simulator settings.
func simulate(def sim.Def, cat *catalogue.Catalogue, tc config.Tile) (*sim.Simulated, error) {
	return sim.New(def, cat, simBackend(tc))
}

// simBackend is tc's simulator settings.
func simBackend(tc config.Tile) sim.Backend {
	return sim.Backend{Latency: tc.Latency, Fail: tc.Fail, Tail: tc.Tail.Latency, TailRate: tc.Tail.Rate}
}

// policy is tile tc's resilience policy: resilience's default with the
// tile's and the page's settings, and fallback as its static default.
func policy(cfg config.Config, tc config.Tile, fallback json.RawMessage) resilience.Policy {
	p := resilience.DefaultPolicy(tc.Latency, tc.Personalised)
	p.MaxEntries = cfg.CacheSize
	p.MaxBytes = cfg.TileCacheBytes()
	// A shared fetch or refresh is allowed at least as long as a caller
	// waits, or a slow tile could never be fresh.
	timeout := cfg.Timeout(tc)
	p.FetchTimeout = max(resilience.DefaultFetchTimeout, timeout+timeout/4)
	p.TTL, p.StaleWhileRevalidate, p.MaxStale = tc.TTL, tc.TTL, tc.MaxStale
	p.HedgeAdaptive, p.HedgeDelay = tc.Hedge.Adaptive, tc.Hedge.Delay
	p.BreakerFailures, p.Bulkhead = tc.Breaker, tc.Bulkhead
	p.Forward, p.ForwardMax = tc.Forward.Forward, tc.Forward.MaxValues
	p.Tags, p.Params = tc.Tags, tc.Params
	// An HTTP backend's Cache-Control sets freshness unless the TTL was given.
	p.BackendTTL, p.MaxTTL = tc.URL != "" && !tc.PinnedTTL, cfg.TileMaxTTL(tc)
	if !cfg.Cache || tc.SetCookie { // every page fetches the tile itself: its cookies are that shopper's
		p.TTL, p.StaleWhileRevalidate, p.Direct = 0, 0, true
	}
	if cfg.Fallback {
		p.Fallback = fallback
	}
	return p
}

// connectShared returns the shared Redis tier, or nil without one. It does not
// dial: Redis may be down at start-up, and the tier comes up on its own.
func (a *app) connectShared() (*rediscache.Cache, error) {
	r := a.cfg.Redis
	if !r.Enabled() {
		return nil, nil
	}
	client, err := rediscache.Connect(rediscache.Settings{
		URL: r.URL, Addrs: r.Addrs, MasterName: r.MasterName, Timeout: r.Timeout,
	})
	if err != nil {
		return nil, &config.Error{Flag: "-redis", Msg: err.Error()}
	}
	if !a.cfg.Check { // -check prints nothing on success
		a.logger.Info("redis: shared tier", "url", rediscache.Redacted(r.URL), "nodes", strings.Join(r.Addrs, ","),
			"prefix", r.Prefix)
	}
	return rediscache.New(rediscache.Options{
		Client: client, Prefix: r.Prefix, Timeout: r.Timeout, Recorder: a.m, Logger: a.logger,
		Tracer: a.prov.Tracer("vitrine/rediscache"),
	}), nil
}

// readiness reports, for /readyz, the shared tier and each tile's breaker:
// ready unless a tile without fallback has its breaker open.
func readiness(wrapped []*resilience.Tile, shared *rediscache.Cache) func() web.Readiness {
	return func() web.Readiness {
		r := web.Readiness{Ready: true}
		for _, t := range wrapped {
			ts := web.TileState{Name: t.Name()} // no Breaker: the tile has none
			if state, ok := t.Breaker(); ok {
				ts.Breaker = string(state)
			}
			r.Tiles = append(r.Tiles, ts)
			if ts.Breaker == string(resilience.BreakerOpen) && !t.Describe().Policy.Fallback {
				r.Ready = false
			}
		}
		if shared != nil {
			st := shared.State()
			r.Redis = &web.DependencyState{State: "up", Since: st.Since, Error: st.Err}
			if !st.Up {
				r.Redis.State = "down"
			} else if st.Degraded {
				r.Redis.State = "degraded" // answers, but too many calls fail: /readyz is degraded
			}
		}
		return r
	}
}

// startTracing sets up -trace; a bad sampler in OTEL_* is a configuration error.
func startTracing(ctx context.Context, mode string, sample *float64, service string, getenv func(string) string,
	stdout io.Writer) (*tracing.Provider, error) {
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
