package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"vitrine/config"
	"vitrine/resilience"
	"vitrine/tiles"
)

// builtin returns the built-in tile definition named name.
func builtin(t *testing.T, name string) tiles.Def {
	t.Helper()
	for _, d := range tiles.Builtins() {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no built-in tile %q", name)
	return tiles.Def{}
}

// checkPolicy compares two policies field by field; of Fallback, which
// holds a func, it compares only whether there is one.
func checkPolicy(t *testing.T, got, want resilience.Policy) {
	t.Helper()
	if (got.Fallback == nil) != (want.Fallback == nil) {
		t.Errorf("Fallback set = %t; want %t", got.Fallback != nil, want.Fallback != nil)
	}
	got.Fallback, want.Fallback = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Policy = %+v;\nwant %+v", got, want)
	}
}

// defaultPolicy is resilience.DefaultPolicy for the tile named name at
// the given latency.
func defaultPolicy(t *testing.T, name string, latency time.Duration, cat *tiles.Catalogue) resilience.Policy {
	t.Helper()
	def := builtin(t, name)
	def.Latency = latency
	return resilience.DefaultPolicy(def, cat)
}

func TestPolicy(t *testing.T) {
	cat := tiles.DefaultCatalogue()
	ms := time.Millisecond
	tests := []struct {
		name string
		args []string
		env  map[string]string
		tile string
		// want changes the tile's default policy (at latency) into the
		// expected one.
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

		{name: "hedge off", args: []string{"-hedge", "banners=off"},
			tile: "banners", latency: 40 * ms,
			want: func(p *resilience.Policy) { p.HedgeAdaptive, p.HedgeDelay = false, 0 }},
		{name: "hedge delay", args: []string{"-hedge", "banners=150ms"},
			tile: "banners", latency: 40 * ms,
			want: func(p *resilience.Policy) { p.HedgeAdaptive, p.HedgeDelay = false, 150*ms }},
		{name: "hedge p95", args: []string{"-hedge", "banners=p95"},
			tile: "banners", latency: 40 * ms},
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
			cfg, err := config.Parse(tt.args, env(tt.env))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v; want nil", tt.args, err)
			}
			got, err := cfg.Policy(builtin(t, tt.tile), cat)
			if err != nil {
				t.Fatalf("Policy(%s) error = %v; want nil", tt.tile, err)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Policy(%s) is invalid: %v", tt.tile, err)
			}
			want := defaultPolicy(t, tt.tile, tt.latency, cat)
			if tt.want != nil {
				tt.want(&want)
			}
			checkPolicy(t, got, want)
		})
	}
}

// TestPolicyDefaultsAreResilienceDefaults: with no flags, every tile's
// policy is resilience.DefaultPolicy at its configured latency.
func TestPolicyDefaultsAreResilienceDefaults(t *testing.T) {
	cat := tiles.DefaultCatalogue()
	cfg, err := config.Parse([]string{"-latency", "banners=7ms,products=300ms"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, def := range tiles.Builtins() {
		t.Run(def.Name, func(t *testing.T) {
			got, err := cfg.Policy(def, cat)
			if err != nil {
				t.Fatalf("Policy error = %v; want nil", err)
			}
			checkPolicy(t, got, defaultPolicy(t, def.Name, cfg.Latency[def.Name], cat))
			if got, want := got.Personalised, def.Personalised; got != want {
				t.Errorf("Personalised = %t; want %t", got, want)
			}
		})
	}
}

// TestPolicyFallback: the personalised tile keeps its fallback (the
// bestsellers) whatever the flags.
func TestPolicyFallback(t *testing.T) {
	cat := tiles.DefaultCatalogue()
	cfg, err := config.Parse([]string{"-cache=false", "-hedge", "recommendations=off", "-breaker", "recommendations=0"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Policy(builtin(t, "recommendations"), cat)
	if err != nil {
		t.Fatal(err)
	}
	if p.Fallback == nil {
		t.Fatalf("Fallback = nil; want the bestsellers")
	}
	if got, want := p.Fallback(tiles.Request{User: "ann"}), tiles.Recommend(cat, ""); !reflect.DeepEqual(got, want) {
		t.Errorf("Fallback = %+v; want %+v", got, want)
	}
}

// TestPolicyError: a Config that makes no sense for the resilience layer
// gives a one-line *Error naming the tile.
func TestPolicyError(t *testing.T) {
	cfg, err := config.Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Breaker["products"] = -1 // no flag gives this
	_, err = cfg.Policy(builtin(t, "products"), nil)
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Policy error = %T %v; want a *config.Error", err, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "products") || !strings.Contains(msg, "BreakerFailures") {
		t.Errorf("Policy error = %q; want it to name products and BreakerFailures", msg)
	}
	checkMessage(t, "Policy", err.Error())
}

// TestPolicyFetchTimeout: a shared fetch may take at least as long as a
// caller waits for its tile, so a slow tile can still be fresh.
func TestPolicyFetchTimeout(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, resilience.DefaultFetchTimeout},
		{[]string{"-tile-timeout", "5s"}, 6250 * time.Millisecond},
	} {
		cfg, err := config.Parse(tc.args, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		p, err := cfg.Policy(builtin(t, "recommendations"), tiles.DefaultCatalogue())
		if err != nil {
			t.Fatal(err)
		}
		if got := p.FetchTimeout; got != tc.want {
			t.Errorf("%q: FetchTimeout = %v; want %v", tc.args, got, tc.want)
		}
	}
}
