package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/graceful"
	"vitrine/sim"
)

// runBackends serves the built-in tiles' simulated backends over HTTP
// (`vitrine backends`) until ctx is cancelled, then shuts down gracefully.
func runBackends(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.ParseBackends(args, getenv)
	if err != nil {
		return err
	}
	prov, err := startTracing(ctx, cfg.Trace, nil, "vitrine-backends", getenv, stdout)
	if err != nil {
		return err
	}
	defer shutdownTracing(prov, stderr)
	logger := newLogger(stderr, prov)
	cat := catalogue.Default()
	var sims []*sim.Simulated
	for _, def := range append(sim.Builtins(), sim.Extra()...) {
		if _, ok := cfg.Latency[def.Name]; !ok {
			cfg.Latency[def.Name] = def.Latency // not a -latency tile
		}
		s, err := simulate(def, cat, cfg.Latency, cfg.Fail, cfg.Tail)
		if err != nil {
			return err
		}
		sims = append(sims, s)
	}
	srv := &http.Server{
		Handler:           sim.TracedHandler(sims, logger, prov.TracerProvider()),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	names := make([]string, len(sims))
	for i, s := range sims {
		names[i] = s.Name()
	}
	fmt.Fprintf(stdout, "vitrine backends: serving http://%s/{%s}\n", ln.Addr(), strings.Join(names, ","))
	return graceful.Serve(ctx, srv, ln, 5*time.Second, logger)
}
