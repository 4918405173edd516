package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/graceful"
	"vitrine/sim"
)

// runBackends serves the simulated backends (`vitrine backends`) until ctx is cancelled.
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
	logger, cat := newLogger(stderr, prov), catalogue.Default()
	var sims []*sim.Simulated
	var names []string
	for _, def := range append(sim.Builtins(), sim.Extra()...) {
		tc := config.Tile{Latency: def.Latency} // not a -latency tile
		if i := slices.IndexFunc(cfg.Tiles, func(t config.Tile) bool { return t.Name == def.Name }); i >= 0 {
			tc = cfg.Tiles[i]
		}
		s, err := simulate(def, cat, tc)
		if err != nil {
			return err
		}
		sims, names = append(sims, s), append(names, s.Name())
	}
	srv := httpServer(sim.TracedHandler(sims, logger, prov.TracerProvider()), logger)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(stdout, "vitrine backends: serving http://%s/{%s}\n", ln.Addr(), strings.Join(names, ","))
	return graceful.Serve(ctx, srv, ln, 5*time.Second, logger)
}
