package main

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/metrics"
	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// parsedConfig is the Config that args and env give, failing the test on
// an error.
func parsedConfig(t *testing.T, args []string, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Parse(args, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Parse(%q) error = %v; want nil", args, err)
	}
	return cfg
}

// anonymousContent is def's content for an anonymous visitor: the fallback
// buildTiles gives policy.
func anonymousContent(t *testing.T, def sim.Def, cat *catalogue.Catalogue) json.RawMessage {
	t.Helper()
	data, err := def.Content(cat, tiles.Request{})
	if err != nil {
		t.Fatalf("%s: Content(anonymous) error = %v; want nil", def.Name, err)
	}
	return data
}

// checkPolicy compares two policies field by field.
func checkPolicy(t *testing.T, got, want resilience.Policy) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("policy = %+v;\nwant %+v", got, want)
	}
}

func TestPolicy(t *testing.T) {
	cat := catalogue.Default()
	ms := time.Millisecond
	tests := []struct {
		name string
		args []string
		env  map[string]string
		tile string
		// want changes resilience's default policy for the tile at latency,
		// with the tile's fallback, into the expected one.
		latency time.Duration
		want    func(p *resilience.Policy)
	}{
		{name: "defaults banners", tile: "banners", latency: 40 * ms},
		{name: "defaults products", tile: "products", latency: 80 * ms},
		{name: "defaults recommendations", tile: "recommendations", latency: 120 * ms},
		{name: "hedge bounds follow -latency", args: []string{"-latency", "products=1s"},
			tile: "products", latency: time.Second},
		{name: "a tail leaves the hedge bounds", args: []string{"-latency", "recommendations=120ms/p99=1s"},
			tile: "recommendations", latency: 120 * ms},

		{name: "ttl sets TTL and stale-while-revalidate", args: []string{"-ttl", "banners=5s"},
			tile: "banners", latency: 40 * ms,
			want: func(p *resilience.Policy) { p.TTL, p.StaleWhileRevalidate = 5*time.Second, 5*time.Second }},
		{name: "ttl 0 turns the cache off", args: []string{"-ttl", "banners=0s"},
			tile: "banners", latency: 40 * ms,
			want: func(p *resilience.Policy) { p.TTL, p.StaleWhileRevalidate = 0, 0 }},
		{name: "ttl of another tile", args: []string{"-ttl", "products=5s"},
			tile: "banners", latency: 40 * ms},
		{name: "max-stale", args: []string{"-max-stale", "recommendations=1h"},
			tile: "recommendations", latency: 120 * ms,
			want: func(p *resilience.Policy) { p.MaxStale = time.Hour }},
		{name: "max-ttl", args: []string{"-max-ttl", "products=1m"},
			tile: "products", latency: 80 * ms,
			want: func(p *resilience.Policy) { p.MaxTTL = time.Minute }},

		{name: "cache false", args: []string{"-cache=false"},
			tile: "products", latency: 80 * ms,
			want: func(p *resilience.Policy) { p.TTL, p.StaleWhileRevalidate, p.Direct = 0, 0, true }},
		{name: "cache false wins over ttl", args: []string{"-cache=false", "-ttl", "products=5s"},
			tile: "products", latency: 80 * ms,
			want: func(p *resilience.Policy) { p.TTL, p.StaleWhileRevalidate, p.Direct = 0, 0, true }},
		{name: "fallback false", args: []string{"-fallback=false"},
			tile: "recommendations", latency: 120 * ms,
			want: func(p *resilience.Policy) { p.Fallback = nil }},
		{name: "cache-size", args: []string{"-cache-size", "25"},
			tile: "recommendations", latency: 120 * ms,
			want: func(p *resilience.Policy) { p.MaxEntries = 25 }},
		{name: "cache-bytes shared by the three tiles", args: []string{"-cache-bytes", "3MiB"},
			tile: "recommendations", latency: 120 * ms,
			want: func(p *resilience.Policy) { p.MaxBytes = 1 << 20 }},
		{name: "cache-bytes not shared with a tile without cache", args: []string{"-cache-bytes", "2MiB",
			"-ttl", "banners=0s"}, tile: "products", latency: 80 * ms,
			want: func(p *resilience.Policy) { p.MaxBytes = 1 << 20 }},
		{name: "tile-timeout lengthens the shared fetch", args: []string{"-tile-timeout", "4s"},
			tile: "banners", latency: 40 * ms,
			want: func(p *resilience.Policy) { p.FetchTimeout = 5 * time.Second }},

		{name: "hedge off", args: []string{"-hedge", "banners=off"},
			tile: "banners", latency: 40 * ms,
			want: func(p *resilience.Policy) { p.HedgeAdaptive, p.HedgeDelay = false, 0 }},
		{name: "hedge delay", args: []string{"-hedge", "banners=150ms"},
			tile: "banners", latency: 40 * ms,
			want: func(p *resilience.Policy) { p.HedgeAdaptive, p.HedgeDelay = false, 150*ms }},
		{name: "hedge p95 over a delay from the environment", args: []string{"-hedge", "banners=p95"},
			env: map[string]string{"VITRINE_HEDGE": "banners=150ms"}, tile: "banners", latency: 40 * ms},
		{name: "hedge of another tile", args: []string{"-hedge", "products=off"},
			tile: "banners", latency: 40 * ms},

		{name: "breaker", args: []string{"-breaker", "products=2"},
			tile: "products", latency: 80 * ms,
			want: func(p *resilience.Policy) { p.BreakerFailures = 2 }},
		{name: "breaker 0 is none", args: []string{"-breaker", "products=0"},
			tile: "products", latency: 80 * ms,
			want: func(p *resilience.Policy) { p.BreakerFailures = 0 }},

		{name: "from the environment", env: map[string]string{"VITRINE_HEDGE": "recommendations=off"},
			tile: "recommendations", latency: 120 * ms,
			want: func(p *resilience.Policy) { p.HedgeAdaptive, p.HedgeDelay = false, 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parsedConfig(t, tt.args, tt.env)
			def := tilestest.Builtin(t, tt.tile)
			fallback := anonymousContent(t, def, cat)
			got := policy(cfg, configTile(t, cfg, def.Name), fallback)
			if err := got.Validate(); err != nil {
				t.Errorf("policy(%s) is invalid: %v", tt.tile, err)
			}
			want := resilience.DefaultPolicy(tt.latency, def.Personalised)
			want.Fallback, want.MaxBytes = fallback, cfg.TileCacheBytes() // config's tests check the share
			if tt.want != nil {
				tt.want(&want)
			}
			checkPolicy(t, got, want)
		})
	}
}

// TestPolicyDefaultsAreResilienceDefaults: with no resilience flag, every
// tile's policy is resilience.DefaultPolicy at its configured latency,
// with its fallback.
func TestPolicyDefaultsAreResilienceDefaults(t *testing.T) {
	cat := catalogue.Default()
	cfg := parsedConfig(t, []string{"-latency", "banners=7ms,products=300ms"}, nil)
	for _, def := range sim.Builtins() {
		t.Run(def.Name, func(t *testing.T) {
			fallback := anonymousContent(t, def, cat)
			got := policy(cfg, configTile(t, cfg, def.Name), fallback)
			want := resilience.DefaultPolicy(configTile(t, cfg, def.Name).Latency, def.Personalised)
			want.Fallback, want.MaxBytes = fallback, cfg.TileCacheBytes()
			checkPolicy(t, got, want)
			if got, want := got.Personalised, def.Personalised; got != want {
				t.Errorf("Personalised = %t; want %t", got, want)
			}
		})
	}
}

// TestPolicyHedgeBounds: the adaptive hedge delay is clamped to 1.25x to 4x
// the tile's configured latency (at least 10ms and 40ms).
func TestPolicyHedgeBounds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		tile     string
		min, max time.Duration
	}{
		{"default products", nil, "products", 100 * time.Millisecond, 320 * time.Millisecond},
		{"default recommendations", nil, "recommendations", 150 * time.Millisecond, 480 * time.Millisecond},
		{"slower products", []string{"-latency", "products=1s"}, "products", 1250 * time.Millisecond, 4 * time.Second},
		{"a tail is not the latency", []string{"-latency", "products=80ms/p99=5s"}, "products", 100 * time.Millisecond, 320 * time.Millisecond},
		{"no latency", []string{"-latency", "banners=0s"}, "banners", 10 * time.Millisecond, 40 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parsedConfig(t, tc.args, nil)
			p := policy(cfg, configTile(t, cfg, tc.tile), nil)
			if !p.HedgeAdaptive {
				t.Errorf("HedgeAdaptive = false; want true")
			}
			if p.HedgeMin != tc.min || p.HedgeMax != tc.max {
				t.Errorf("hedge bounds = %v to %v; want %v to %v", p.HedgeMin, p.HedgeMax, tc.min, tc.max)
			}
		})
	}
}

// TestPolicyFetchTimeout: a shared fetch may take at least as long as a
// caller waits for its tile (1.25x -tile-timeout, at least the default
// 2s), so a slow tile can still be fresh.
func TestPolicyFetchTimeout(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, resilience.DefaultFetchTimeout},
		{[]string{"-tile-timeout", "1s"}, 2 * time.Second},
		{[]string{"-tile-timeout", "1600ms"}, 2 * time.Second},
		{[]string{"-tile-timeout", "2s"}, 2500 * time.Millisecond},
		{[]string{"-tile-timeout", "5s"}, 6250 * time.Millisecond},
	} {
		cfg := parsedConfig(t, tc.args, nil)
		p := policy(cfg, configTile(t, cfg, "recommendations"), nil)
		if got := p.FetchTimeout; got != tc.want {
			t.Errorf("%q: FetchTimeout = %v; want %v", tc.args, got, tc.want)
		}
	}
}

// TestPolicyFallback: the fallback is the one given, whatever the other
// flags, unless -fallback=false.
func TestPolicyFallback(t *testing.T) {
	fallback := json.RawMessage(`{"items":[]}`)
	for _, tc := range []struct {
		args []string
		want json.RawMessage
	}{
		{[]string{"-cache=false", "-hedge", "recommendations=off", "-breaker", "recommendations=0"}, fallback},
		{[]string{"-fallback=false"}, nil},
	} {
		cfg := parsedConfig(t, tc.args, nil)
		p := policy(cfg, configTile(t, cfg, "recommendations"), fallback)
		if got := p.Fallback; string(got) != string(tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("%q: Fallback = %s; want %s", tc.args, got, tc.want)
		}
	}
}

// closeAll closes every wrapped tile and checks that nothing it started
// is left running.
func closeAll(t *testing.T, wrapped []*resilience.Tile) {
	t.Helper()
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		for _, w := range wrapped {
			w.Close()
		}
		if err := goleak.Find(leaks); err != nil {
			t.Errorf("after Close: %v", err)
		}
	})
}

// buildTiles is the tiles a generation of cfg holds.
func buildTiles(cfg config.Config, cat *catalogue.Catalogue) ([]*resilience.Tile, error) {
	a := &app{cfg: cfg, cat: cat, m: metrics.New()}
	a.res = a.resilienceOptions()
	g, _, err := a.build(cfg, nil)
	if err != nil {
		return nil, err
	}
	return g.tiles, nil
}

// TestBuildTiles: one wrapped tile per built-in tile, in page order, its
// simulated backend and policy following the configuration.
func TestBuildTiles(t *testing.T) {
	cat := catalogue.Default()
	cfg := parsedConfig(t, []string{
		"-latency", "banners=5ms,recommendations=50ms/p99=2s", "-fail", "products=0.25",
		"-ttl", "banners=5s", "-max-stale", "products=1m", "-hedge", "products=150ms,recommendations=off",
		"-breaker", "recommendations=2",
	}, nil)
	wrapped, err := buildTiles(cfg, cat)
	if err != nil {
		t.Fatalf("buildTiles error = %v; want nil", err)
	}
	closeAll(t, wrapped)
	want := []tiles.Info{
		{Name: "banners", Source: "simulator", Latency: 5 * time.Millisecond, Policy: &tiles.PolicyInfo{
			TTL: 5 * time.Second, MaxStale: 10 * time.Minute, Coalesced: true, Hedge: "p95, within 10ms to 40ms",
			BreakerFailures: 5, MaxDetached: resilience.DefaultMaxDetached, Bulkhead: resilience.DefaultBulkhead, Fallback: true}},
		{Name: "products", Source: "simulator", Latency: 80 * time.Millisecond, FailRate: 0.25, Policy: &tiles.PolicyInfo{
			TTL: 30 * time.Second, MaxStale: time.Minute, Coalesced: true, Hedge: "after 150ms",
			BreakerFailures: 5, MaxDetached: resilience.DefaultMaxDetached, Bulkhead: resilience.DefaultBulkhead, Fallback: true}},
		{Name: "recommendations", Source: "simulator", Personalised: true, Latency: 50 * time.Millisecond, Tail: 2 * time.Second, TailRate: 0.01,
			Policy: &tiles.PolicyInfo{
				TTL: time.Minute, MaxStale: 10 * time.Minute, Coalesced: true, Hedge: "off",
				BreakerFailures: 2, MaxDetached: resilience.DefaultMaxDetached, Bulkhead: resilience.DefaultBulkhead, Fallback: true}},
	}
	if got, want := len(wrapped), len(want); got != want {
		t.Fatalf("buildTiles made %d tiles; want %d", got, want)
	}
	for i, w := range want {
		got := wrapped[i].Describe()
		if !reflect.DeepEqual(got, w) {
			t.Errorf("tile %d: Describe() = %+v (policy %+v);\nwant %+v (policy %+v)", i, got, got.Policy, w, w.Policy)
		}
	}
}

// TestBuildTilesCacheOff: -cache=false makes every tile direct, with a TTL
// of 0.
func TestBuildTilesCacheOff(t *testing.T) {
	cfg := parsedConfig(t, []string{"-cache=false", "-ttl", "banners=5s"}, nil)
	wrapped, err := buildTiles(cfg, catalogue.Default())
	if err != nil {
		t.Fatalf("buildTiles error = %v; want nil", err)
	}
	closeAll(t, wrapped)
	for _, w := range wrapped {
		if p := w.Describe().Policy; p == nil || p.TTL != 0 || p.Coalesced {
			t.Errorf("%s: policy %+v; want TTL 0, not coalesced", w.Name(), p)
		}
	}
}

// TestBuildTilesFallback: when a tile's backend fails, it serves its
// anonymous content from the catalogue: for recommendations the
// bestsellers, even to a signed-in visitor. -fallback=false reports the
// failure instead.
func TestBuildTilesFallback(t *testing.T) {
	cat := catalogue.Default()
	bestsellers, err := json.Marshal(cat.Recommend(""))
	if err != nil {
		t.Fatal(err)
	}
	featured, err := json.Marshal(cat.Featured())
	if err != nil {
		t.Fatal(err)
	}
	banners, err := json.Marshal(cat.AllBanners())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]json.RawMessage{"banners": banners, "products": featured, "recommendations": bestsellers}
	failing := []string{"-latency", "banners=0s,products=0s,recommendations=0s", "-fail", "banners=1,products=1,recommendations=1"}

	t.Run("fallback", func(t *testing.T) {
		wrapped, err := buildTiles(parsedConfig(t, failing, nil), cat)
		if err != nil {
			t.Fatalf("buildTiles error = %v; want nil", err)
		}
		closeAll(t, wrapped)
		for _, w := range wrapped {
			out, err := w.Fetch(t.Context(), tiles.Request{User: "ann"})
			if err != nil {
				t.Fatalf("%s: Fetch error = %v; want the fallback", w.Name(), err)
			}
			if out.Status != tiles.StatusFallback {
				t.Errorf("%s: Status = %q; want %q", w.Name(), out.Status, tiles.StatusFallback)
			}
			if !errors.Is(out.Cause, sim.ErrSimulated) {
				t.Errorf("%s: Cause = %v; want the simulated failure", w.Name(), out.Cause)
			}
			if got, want := string(out.Data), string(want[w.Name()]); got != want {
				t.Errorf("%s: Data = %s;\nwant %s", w.Name(), got, want)
			}
		}
	})

	t.Run("no fallback", func(t *testing.T) {
		wrapped, err := buildTiles(parsedConfig(t, append(failing, "-fallback=false"), nil), cat)
		if err != nil {
			t.Fatalf("buildTiles error = %v; want nil", err)
		}
		closeAll(t, wrapped)
		for _, w := range wrapped {
			out, err := w.Fetch(t.Context(), tiles.Request{User: "ann"})
			if !errors.Is(err, sim.ErrSimulated) {
				t.Errorf("%s: Fetch = %+v, %v; want the simulated failure", w.Name(), out, err)
			}
			if p := w.Describe().Policy; p == nil || p.Fallback {
				t.Errorf("%s: policy %+v; want no fallback", w.Name(), p)
			}
		}
	})
}

// TestBuildTilesError: a Config that makes no sense for the resilience
// layer gives a one-line *config.Error naming the tile and the field.
func TestBuildTilesError(t *testing.T) {
	cfg := parsedConfig(t, nil, nil)
	cfg.Tiles[1].Breaker = -1 // no flag gives this
	wrapped, err := buildTiles(cfg, catalogue.Default())
	closeAll(t, wrapped)
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("buildTiles error = %T %v; want a *config.Error", err, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "products") || !strings.Contains(msg, "BreakerFailures") {
		t.Errorf("buildTiles error = %q; want it to name products and BreakerFailures", msg)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("buildTiles error = %q; want one line", msg)
	}
}

// FuzzPolicy: every configuration config.Parse accepts gives every tile a
// valid policy. The seeds run with go test; to search for more, run
//
//	go test -run XXX -fuzz FuzzPolicy -fuzztime 30s .
func FuzzPolicy(f *testing.F) {
	for _, s := range []string{
		"",
		"-latency banners=0s,products=640511h,recommendations=1ns/p999999=2562047h",
		"-tile-timeout 2562047h -page-timeout 0s",
		"-tile-timeout 1ns",
		"-cache=false -fallback=false -cache-size 1",
		"-ttl banners=0s,products=2562047h -max-stale recommendations=0s",
		"-hedge banners=off,products=p95,recommendations=1ns -breaker banners=0,products=1,recommendations=9999999",
		"-hedge products=2562047h",
	} {
		f.Add(s)
	}
	cat := catalogue.Default()
	fallbacks := map[string]json.RawMessage{}
	for _, def := range sim.Builtins() {
		data, err := def.Content(cat, tiles.Request{})
		if err != nil {
			f.Fatal(err)
		}
		fallbacks[def.Name] = data
	}
	f.Fuzz(func(t *testing.T, line string) {
		var args []string
		if line != "" {
			args = strings.Split(line, " ")
		}
		cfg, err := config.Parse(args, func(string) string { return "" })
		if err != nil {
			return // config's own tests check its errors
		}
		for _, tc := range cfg.Tiles {
			if err := policy(cfg, tc, fallbacks[tc.Name]).Validate(); err != nil {
				t.Errorf("Parse(%q) accepted; policy(%s) is invalid: %v", tiles.Clip(line, 200), tc.Name, err)
			}
		}
	})
}

// configTile returns cfg's tile called name, failing t if there is none.
func configTile(t testing.TB, cfg config.Config, name string) config.Tile {
	t.Helper()
	for _, tc := range cfg.Tiles {
		if tc.Name == name {
			return tc
		}
	}
	t.Fatalf("no tile %q in the configuration", name)
	return config.Tile{}
}

// TestPolicySetCookie: a tile allowed to set cookies is fetched for each
// request, neither cached nor coalesced, so that its cookies are always the
// shopper's own.
func TestPolicySetCookie(t *testing.T) {
	cfg := parsedConfig(t, nil, nil)
	tc := cfg.Tiles[0]
	tc.SetCookie = true
	if p := policy(cfg, tc, nil); p.TTL != 0 || p.StaleWhileRevalidate != 0 || !p.Direct {
		t.Errorf("policy = TTL %s, SWR %s, Direct %t; want 0, 0, true", p.TTL, p.StaleWhileRevalidate, p.Direct)
	}
}
