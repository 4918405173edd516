package main

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"vitrine/aggregator"
	"vitrine/config"
	"vitrine/reload"
	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/upstream"
	"vitrine/web"
)

// generation is what one reading of the configuration builds: the tiles,
// the aggregator over them and the public server's routes. A reload builds
// the next one and reload.Handler swaps it in.
type generation struct {
	http.Handler // the public routes, set by app.public
	cfg          config.Config
	tiles        []*resilience.Tile // in page order
	specs        []tileSpec         // what each tile was built from
	agg          *aggregator.Aggregator
	ready        func() web.Readiness
	hosts        http.Handler // GET /tiles with the backends' hosts, for the operator port
	pages        []web.Page   // the file's pages:, each over its tiles; none: /home over agg
}

// pages are the pages cfg lists, each with an aggregator over its tiles.
func (a *app) pages(cfg config.Config, wrapped []*resilience.Tile) ([]web.Page, error) {
	var pages []web.Page
	for _, pc := range cfg.Pages {
		p, names := pc.Web()
		var err error
		if p.Agg, err = a.newAggregator(cfg, wrapped, names); err != nil {
			return nil, err
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// tileSpec is what a tile is built from: its backend's settings (the
// simulator's, or with a URL the upstream's, without the dependencies
// wrap adds) and its policy, but for the memory cache's byte budget, which
// a kept tile is resized to. A reload keeps the *resilience.Tile of a tile
// whose spec is unchanged: its cache, breaker and hedge statistics. A
// timeout is the aggregator's; it changes the spec only if it changes the
// policy's FetchTimeout.
type tileSpec struct {
	sim      sim.Backend
	upstream upstream.Options
	policy   resilience.Policy
}

// spec is tc's tileSpec under cfg.
func (a *app) spec(cfg config.Config, tc config.Tile) (tileSpec, error) {
	fallback := tc.Fallback
	if def, ok := builtin(tc.Name); fallback == nil && ok && def.Content != nil {
		var err error
		if fallback, err = def.Content(a.cat, tiles.Request{}); err != nil {
			return tileSpec{}, err
		}
	}
	s := tileSpec{policy: policy(cfg, tc, fallback)}
	s.policy.MaxBytes = 0
	if tc.URL == "" {
		s.sim = simBackend(tc)
		return s, nil
	}
	s.upstream = upstream.Options{Name: tc.Name, URL: tc.URL, Personalised: tc.Personalised,
		Forward: tc.Forward.Forward, MaxBody: tc.MaxBody, HTML: tc.View == web.ViewHTML, Label: tc.Label,
		MaxHeaderBytes: cmp.Or(tc.MaxHeaderBytes, cfg.MaxHeaderBytes)} // 0: upstream's default
	return s, nil
}

// builtin is the built-in tile called name, if there is one.
func builtin(name string) (sim.Def, bool) {
	i := slices.IndexFunc(sim.Builtins(), func(d sim.Def) bool { return d.Name == name })
	if i < 0 {
		return sim.Def{}, false
	}
	return sim.Builtins()[i], true
}

// wrap builds tile name of spec s, its backend wrapped in its policy with
// a memory cache of maxBytes. The HTTP tiles share one client, so one pool
// of keep-alive connections.
func (a *app) wrap(name string, s tileSpec, maxBytes int64) (*resilience.Tile, error) {
	var f tiles.Fetcher
	var err error
	if s.upstream.URL == "" {
		def, _ := builtin(name)
		f, err = sim.New(def, a.cat, s.sim)
	} else {
		o := s.upstream
		o.Client, o.Logger, o.Observe = a.client, a.logger, a.m.Upstream
		if a.cfg.AdminAddr == "" { // /metrics is public: its host label names the backend by its label
			label := cmp.Or(o.Label, name)
			o.Observe = func(tile, _, result string) { a.m.Upstream(tile, label, result) }
		}
		if f, err = upstream.New(o); err != nil {
			err = &config.Error{Flag: "tiles", Msg: err.Error()}
		}
	}
	if err != nil {
		return nil, err
	}
	p := s.policy
	p.MaxBytes = maxBytes
	if err := p.Validate(); err != nil {
		return nil, &config.Error{Flag: "flags", Msg: name + ": " + strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	return resilience.Wrap(f, p, a.res), nil
}

// build returns the generation cfg describes, and what changed from old
// (nil at start-up). A tile of old whose spec is unchanged is kept; the
// others are built anew. On error it closes what it built: nothing changed.
func (a *app) build(cfg config.Config, old *generation) (*generation, web.Reloaded, error) {
	g, done := &generation{cfg: cfg}, web.Reloaded{}
	for _, tc := range cfg.Tiles {
		s, err := a.spec(cfg, tc)
		if err != nil {
			return nil, done, g.closeNew(old, err)
		}
		var t *resilience.Tile
		switch i := old.index(tc.Name); {
		case i >= 0 && reflect.DeepEqual(old.specs[i], s):
			t = old.tiles[i]
		case i >= 0:
			done.Rebuilt = append(done.Rebuilt, tc.Name)
		default:
			done.Added = append(done.Added, tc.Name)
		}
		if t == nil {
			if t, err = a.wrap(tc.Name, s, cfg.TileCacheBytes()); err != nil {
				return nil, done, g.closeNew(old, err)
			}
		}
		g.tiles, g.specs, done.Tiles = append(g.tiles, t), append(g.specs, s), append(done.Tiles, tc.Name)
	}
	if old != nil {
		for _, tc := range old.cfg.Tiles {
			if !slices.Contains(done.Tiles, tc.Name) {
				done.Removed = append(done.Removed, tc.Name)
			}
		}
	}
	var err error
	if g.agg, err = a.newAggregator(cfg, g.tiles, nil); err != nil {
		return nil, done, g.closeNew(old, err)
	}
	if g.pages, err = a.pages(cfg, g.tiles); err != nil {
		return nil, done, g.closeNew(old, err)
	}
	g.ready = readiness(g.tiles, a.shared)
	return g, done, nil
}

// index is the place of tile name in g (nil: none), or -1.
func (g *generation) index(name string) int {
	if g == nil {
		return -1
	}
	return slices.IndexFunc(g.tiles, func(t *resilience.Tile) bool { return t.Name() == name })
}

// closeNew closes g's tiles that old does not hold, and returns err.
func (g *generation) closeNew(old *generation, err error) error {
	for _, t := range g.tiles {
		if old == nil || !slices.Contains(old.tiles, t) {
			t.Close()
		}
	}
	return err
}

// parts are g's tiles, which reload.Handler closes once no page uses them.
func (g *generation) parts() []reload.Part {
	ps := make([]reload.Part, len(g.tiles))
	for i, t := range g.tiles {
		ps[i] = t
	}
	return ps
}

// errNoConfig and errClosed are the refusals of a reload with nothing to read or after shutdown.
var (
	errNoConfig = errors.New("no -config to reload: start Vitrine with -config FILE")
	errClosed   = errors.New("shutting down: nothing was reloaded")
)

// reloader re-reads the configuration, from the same arguments and
// variables and the -config file as it is now, and swaps in what it
// builds, one reload at a time.
type reloader struct {
	mu     sync.Mutex
	a      *app
	args   []string
	getenv func(string) string
	served *reload.Handler[*generation]
	closed bool
}

// reload applies the configuration as it is now, or changes nothing; it
// logs and counts the result.
func (r *reloader) reload() (web.Reloaded, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	done, err := r.apply()
	result := "ok"
	switch {
	case errors.Is(err, config.ErrRestart) || errors.Is(err, errNoConfig) || errors.Is(err, errClosed):
		result = "refused"
	case err != nil:
		result = "invalid"
	}
	r.a.m.ConfigReloaded(result)
	if err != nil {
		r.a.logger.Error("config reload: nothing changed", "result", result, "err", err)
		return web.Reloaded{}, err
	}
	var kept []string
	for _, name := range done.Tiles {
		if !slices.Contains(done.Added, name) && !slices.Contains(done.Rebuilt, name) {
			kept = append(kept, name)
		}
	}
	r.a.logger.Info("config reloaded", "added", strings.Join(done.Added, ","), "removed",
		strings.Join(done.Removed, ","), "rebuilt", strings.Join(done.Rebuilt, ","), "kept", strings.Join(kept, ","))
	return done, nil
}

// apply builds the generation of the configuration as it is now and swaps it in.
func (r *reloader) apply() (web.Reloaded, error) {
	old := r.served.Current()
	switch {
	case r.closed:
		return web.Reloaded{}, errClosed
	case old.cfg.File == "":
		return web.Reloaded{}, errNoConfig
	}
	cfg, err := config.Parse(r.args, r.getenv)
	if err == nil {
		err = config.RestartOnly(old.cfg, cfg)
	}
	if err != nil {
		return web.Reloaded{}, err
	}
	g, done, err := r.a.build(cfg, old)
	if err != nil {
		return web.Reloaded{}, err
	}
	g.Handler = r.a.public(g)
	r.a.m.AddTiles(done.Added...)
	for _, t := range g.tiles { // a kept tile's share of -cache-bytes changes with the tiles that cache
		t.Resize(cfg.TileCacheBytes())
	}
	g.warm(append(done.Added, done.Rebuilt...))
	r.served.Swap(g, g.parts())
	r.a.m.RemoveTiles(done.Removed...)
	return done, nil
}

// warm fetches the anonymous entry of each tile of g named in names, all at
// once, each within its timeout, so that the pages after the swap do not
// wait for a new tile's first fetch (a cold cache). Its results are the
// cache's; a failure only leaves the tile cold.
func (g *generation) warm(names []string) {
	var wg sync.WaitGroup
	for _, tc := range g.cfg.Tiles {
		if i := g.index(tc.Name); i >= 0 && slices.Contains(names, tc.Name) {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Timeout(tc))
				defer cancel()
				_, _ = g.tiles[i].Fetch(ctx, tiles.Request{})
			})
		}
	}
	wg.Wait()
}

// onHangup reloads on each signal of hup until ctx ends.
func (r *reloader) onHangup(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload()
		}
	}
}

// ready is the current generation's readiness, for the admin port.
func (r *reloader) ready() web.Readiness { return r.served.Current().ready() }

// close refuses reloads from now on and retires the current generation,
// once the servers have stopped: its tiles close once no page uses them.
func (r *reloader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.served.Close()
}

// newAggregator fans a page out to the tiles named names (all: nil), in
// that order, each within its timeout.
func (a *app) newAggregator(cfg config.Config, wrapped []*resilience.Tile, names []string) (*aggregator.Aggregator,
	error) {
	var fetchers []tiles.Fetcher
	timeouts := map[string]time.Duration{}
	for i, tc := range cfg.Tiles {
		if names == nil {
			fetchers, timeouts[tc.Name] = append(fetchers, wrapped[i]), cfg.Timeout(tc)
		}
	}
	for _, name := range names {
		i := slices.IndexFunc(cfg.Tiles, func(t config.Tile) bool { return t.Name == name })
		fetchers, timeouts[name] = append(fetchers, wrapped[i]), cfg.Timeout(cfg.Tiles[i])
	}
	return aggregator.New(fetchers, aggregator.Options{
		TileTimeout: cfg.TileTimeout, Timeouts: timeouts, PageTimeout: cfg.PageTimeout,
		Logger: a.logger, Observer: a.m, Tracer: a.prov.Tracer("vitrine/aggregator"),
	})
}
