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
	"runtime/debug"
	"syscall"
	"time"

	"vitrine/aggregator"
	"vitrine/config"
	"vitrine/metrics"
	"vitrine/resilience"
	"vitrine/tiles"
	"vitrine/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
// down gracefully: it returns only once requests in flight have finished.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(args, getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if getenv("GOGC") == "" {
		// A page makes only short-lived garbage and the live heap is a few
		// MB: letting the heap grow to 5x the live data before collecting
		// cut GC work enough to raise pages/s by about a third with 0 ms
		// tiles (see README). GOGC in the environment still wins.
		debug.SetGCPercent(400)
	}

	cat := tiles.DefaultCatalogue()
	m := metrics.New(tiles.Names()...)
	var fetchers []tiles.Fetcher
	for _, def := range tiles.Builtins() {
		backend := tiles.Simulate(def, cat, cfg.Latency[def.Name], cfg.Fail[def.Name])
		if tail, ok := cfg.Tail[def.Name]; ok {
			backend.WithTail(tail.Latency, tail.Rate)
		}
		policy, err := cfg.Policy(def, cat)
		if err != nil {
			return err
		}
		tile := resilience.Wrap(backend, policy, resilience.Options{Recorder: m, Logger: logger})
		defer tile.Close() // after Shutdown: joins background refreshes
		fetchers = append(fetchers, tile)
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

	srv := &http.Server{
		Handler:           web.NewServer(logger, agg, web.Options{TestDelay: cfg.TestDelay, Catalogue: cat, Metrics: m.Handler()}),
		ReadHeaderTimeout: 5 * time.Second, // a slow client cannot hold a connection open
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// No WriteTimeout: streamed pages and /test end by their own deadlines.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(stdout, "vitrine: serving http://%s/home\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: waiting for requests in flight")
	// A fresh context: ctx is already cancelled. Long enough for a /test.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.TestDelay+10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
