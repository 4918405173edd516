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

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/graceful"
	"vitrine/memory"
	"vitrine/metrics"
	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/web"
)

func main() {
	memory.Tune(os.Getenv) // process-wide, hence here and not in run
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go memory.Reclaim(ctx, memory.ReclaimEvery)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	var cfgErr *config.Error
	switch {
	case err == nil:
	case errors.Is(err, config.ErrHelp):
		config.Usage(os.Stdout)
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
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cat := catalogue.Default()
	m := metrics.New(tiles.Names()...)
	wrapped, err := buildTiles(cfg, cat, m, logger)
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
		PageTimeout: cfg.PageTimeout,
		Logger:      logger,
		Observer:    m,
	})
	if err != nil {
		return err
	}
	srv, admin := newServers(cfg, logger, agg, cat, m)
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
func newServers(cfg config.Config, logger *slog.Logger, agg *aggregator.Aggregator, cat *catalogue.Catalogue, m *metrics.Metrics) (srv, admin *http.Server) {
	publicMetrics := m.Handler()
	if cfg.AdminAddr != "" {
		publicMetrics = nil
	}
	srv = &http.Server{
		Handler: web.NewServer(logger, agg, web.Options{
			TestDelay: cfg.TestDelay, Catalogue: cat, Metrics: publicMetrics,
			InFlight: m.RequestStarted, WriteCut: m.WriteCut,
		}),
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
		Handler:           web.NewAdmin(m.Handler()),
		ReadHeaderTimeout: srv.ReadHeaderTimeout,
		ReadTimeout:       srv.ReadTimeout,
		IdleTimeout:       srv.IdleTimeout,
		MaxHeaderBytes:    srv.MaxHeaderBytes,
		// No WriteTimeout: a CPU profile or trace takes ?seconds=N.
		ErrorLog: srv.ErrorLog,
	}
	return srv, admin
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

// buildTiles wraps each built-in tile's simulated backend in its
// resilience policy.
func buildTiles(cfg config.Config, cat *catalogue.Catalogue, rec resilience.Recorder, logger *slog.Logger) ([]*resilience.Tile, error) {
	var wrapped []*resilience.Tile
	for _, def := range tiles.Builtins() {
		tail := cfg.Tail[def.Name]
		backend, err := sim.New(def, cat, sim.Backend{
			Latency: cfg.Latency[def.Name], Fail: cfg.Fail[def.Name], Tail: tail.Latency, TailRate: tail.Rate,
		})
		if err != nil {
			return nil, err
		}
		fallback, err := def.Content(cat, tiles.Request{})
		if err != nil {
			return nil, err
		}
		p := policy(cfg, def, fallback)
		if err := p.Validate(); err != nil {
			return nil, &config.Error{Flag: "flags", Msg: def.Name + ": " + strings.ReplaceAll(err.Error(), "\n", "; ")}
		}
		wrapped = append(wrapped, resilience.Wrap(backend, p, resilience.Options{Recorder: rec, Logger: logger}))
	}
	return wrapped, nil
}

// policy is resilience's default policy for def at its configured latency,
// with the configuration applied. fallback is the tile's anonymous content
// from the catalogue shipped in the binary: what the shopper sees rather
// than a hole when nothing fresh or stale can be served.
func policy(cfg config.Config, def tiles.Def, fallback []byte) resilience.Policy {
	p := resilience.DefaultPolicy(cfg.Latency[def.Name], def.Personalised)
	p.MaxEntries = cfg.CacheSize
	// A fetch shared by several callers (or refreshing the cache) must be
	// allowed at least as long as a caller waits for it, or a tile slower
	// than the default could never be fresh however long -tile-timeout is.
	p.FetchTimeout = max(resilience.DefaultFetchTimeout, cfg.TileTimeout+cfg.TileTimeout/4)
	p.TTL, p.StaleWhileRevalidate = cfg.TTL[def.Name], cfg.TTL[def.Name]
	p.MaxStale = cfg.MaxStale[def.Name]
	p.HedgeAdaptive, p.HedgeDelay = cfg.Hedge[def.Name].Adaptive, cfg.Hedge[def.Name].Delay
	p.BreakerFailures = cfg.Breaker[def.Name]
	if !cfg.Cache {
		// Every page fetches every tile itself, as a plain fan-out does.
		p.TTL, p.StaleWhileRevalidate, p.Direct = 0, 0, true
	}
	if cfg.Fallback {
		p.Fallback = fallback
	}
	return p
}
