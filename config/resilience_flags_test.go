package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"vitrine/config"
)

// The resilience flags (the page deadline, the cache, the fallback,
// hedging, the breaker, heavy tails): each is tested given as a flag and as
// its VITRINE_* variable.

// viaFlagAndEnv runs check twice: with -name=value on the command line and
// with VITRINE_NAME=value in the environment.
func viaFlagAndEnv(t *testing.T, name, value string, check func(t *testing.T, cfg config.Config, err error, env string)) {
	t.Run("flag", func(t *testing.T) {
		cfg, err := config.Parse([]string{"-" + name + "=" + value}, env(nil))
		check(t, cfg, err, "")
	})
	t.Run("env", func(t *testing.T) {
		e := config.EnvName(name)
		cfg, err := config.Parse(nil, env(map[string]string{e: value}))
		check(t, cfg, err, e)
	})
}

func TestParseResilienceFlags(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name, flag, value string
		want              config.Config
	}{
		{name: "page-timeout", flag: "page-timeout", value: "2s",
			want: with(func(c *config.Config) { c.PageTimeout = 2 * time.Second })},
		{name: "page-timeout 0 is none", flag: "page-timeout", value: "0",
			want: with(func(c *config.Config) { c.PageTimeout = 0 })},
		{name: "page-timeout 0s", flag: "page-timeout", value: "0s",
			want: with(func(c *config.Config) { c.PageTimeout = 0 })},

		{name: "cache false", flag: "cache", value: "false",
			want: with(func(c *config.Config) { c.Cache = false })},
		{name: "cache 0", flag: "cache", value: "0",
			want: with(func(c *config.Config) { c.Cache = false })},
		{name: "cache true", flag: "cache", value: "true", want: defaults()},

		{name: "fallback false", flag: "fallback", value: "false",
			want: with(func(c *config.Config) { c.Fallback = false })},
		{name: "fallback true", flag: "fallback", value: "true", want: defaults()},

		{name: "cache-size", flag: "cache-size", value: "500",
			want: with(func(c *config.Config) { c.CacheSize = 500 })},
		{name: "cache-size 1", flag: "cache-size", value: "1",
			want: with(func(c *config.Config) { c.CacheSize = 1 })},
		{name: "cache-bytes", flag: "cache-bytes", value: "1000",
			want: with(func(c *config.Config) { c.CacheBytes = 1000 })},
		{name: "cache-bytes MiB", flag: "cache-bytes", value: "64MiB",
			want: with(func(c *config.Config) { c.CacheBytes = 64 << 20 })},
		{name: "cache-bytes GiB", flag: "cache-bytes", value: "2GiB",
			want: with(func(c *config.Config) { c.CacheBytes = 2 << 30 })},

		{name: "ttl one tile", flag: "ttl", value: "banners=1s",
			want: with(func(c *config.Config) {
				set(c.Tiles, ttlOf, map[string]time.Duration{"banners": time.Second})
				set(c.Tiles, pinnedOf, map[string]bool{"banners": true})
			})},
		{name: "ttl 0 and several", flag: "ttl", value: "banners=0s, recommendations=2m",
			want: with(func(c *config.Config) {
				set(c.Tiles, ttlOf, map[string]time.Duration{"banners": 0, "recommendations": 2 * time.Minute})
				set(c.Tiles, pinnedOf, map[string]bool{"banners": true, "recommendations": true})
			})},

		{name: "max-stale", flag: "max-stale", value: "products=1h",
			want: with(func(c *config.Config) {
				set(c.Tiles, maxStaleOf, map[string]time.Duration{"products": time.Hour})
			})},
		{name: "max-stale 0", flag: "max-stale", value: "products=0s",
			want: with(func(c *config.Config) { set(c.Tiles, maxStaleOf, map[string]time.Duration{"products": 0}) })},

		{name: "hedge off", flag: "hedge", value: "banners=off",
			want: with(func(c *config.Config) { set(c.Tiles, hedgeOf, map[string]config.Hedge{"banners": {}}) })},
		{name: "hedge p95", flag: "hedge", value: "products=p95",
			want: with(func(c *config.Config) {
				set(c.Tiles, hedgeOf, map[string]config.Hedge{"products": {Adaptive: true}})
			})},
		{name: "hedge auto", flag: "hedge", value: "products=auto",
			want: with(func(c *config.Config) {
				set(c.Tiles, hedgeOf, map[string]config.Hedge{"products": {Adaptive: true}})
			})},
		{name: "hedge 150ms", flag: "hedge", value: "recommendations=150ms",
			want: with(func(c *config.Config) {
				set(c.Tiles, hedgeOf, map[string]config.Hedge{"recommendations": {Delay: 150 * ms}})
			})},
		{name: "hedge every tile", flag: "hedge", value: "banners=off,products=p95,recommendations=150ms",
			want: with(func(c *config.Config) {
				set(c.Tiles, hedgeOf, map[string]config.Hedge{
					"banners": {}, "products": {Adaptive: true}, "recommendations": {Delay: 150 * ms},
				})
			})},

		{name: "breaker 0 is none", flag: "breaker", value: "banners=0",
			want: with(func(c *config.Config) { set(c.Tiles, breakerOf, map[string]int{"banners": 0}) })},
		{name: "breaker", flag: "breaker", value: "products=3,recommendations=10",
			want: with(func(c *config.Config) {
				set(c.Tiles, breakerOf, map[string]int{"products": 3, "recommendations": 10})
			})},

		{name: "latency p99 tail", flag: "latency", value: "recommendations=120ms/p99=1s",
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"recommendations": 120 * ms})
				set(c.Tiles, tailOf, map[string]config.Tail{"recommendations": {Latency: time.Second, Rate: 0.01}})
			})},
		{name: "latency p95 tail", flag: "latency", value: "products=80ms/p95=500ms",
			want: with(func(c *config.Config) {
				set(c.Tiles, tailOf, map[string]config.Tail{"products": {Latency: 500 * ms, Rate: 0.05}})
			})},
		{name: "latency p999 tail", flag: "latency", value: "banners=10ms/p999=2s",
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": 10 * ms})
				set(c.Tiles, tailOf, map[string]config.Tail{"banners": {Latency: 2 * time.Second, Rate: 0.001}})
			})},
		{name: "latency p10 tail", flag: "latency", value: "banners=10ms/p10=2s",
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": 10 * ms})
				set(c.Tiles, tailOf, map[string]config.Tail{"banners": {Latency: 2 * time.Second, Rate: 0.9}})
			})},
		{name: "latency p05 tail", flag: "latency", value: "banners=10ms/p05=2s",
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": 10 * ms})
				set(c.Tiles, tailOf, map[string]config.Tail{"banners": {Latency: 2 * time.Second, Rate: 0.95}})
			})},
		{name: "latency p001 tail", flag: "latency", value: "banners=10ms/p001=2s",
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": 10 * ms})
				set(c.Tiles, tailOf, map[string]config.Tail{"banners": {Latency: 2 * time.Second, Rate: 0.999}})
			})},
		{name: "latency p999999 tail", flag: "latency", value: "banners=10ms/p999999=2s",
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": 10 * ms})
				set(c.Tiles, tailOf, map[string]config.Tail{"banners": {Latency: 2 * time.Second, Rate: 1e-6}})
			})},
		{name: "latency tail with spaces", flag: "latency", value: "banners=10ms / p99=2s ",
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": 10 * ms})
				set(c.Tiles, tailOf, map[string]config.Tail{"banners": {Latency: 2 * time.Second, Rate: 0.01}})
			})},
		{name: "latency zero tail is none", flag: "latency", value: "banners=10ms/p99=0s",
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": 10 * ms})
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			viaFlagAndEnv(t, tt.flag, tt.value, func(t *testing.T, got config.Config, err error, _ string) {
				if err != nil {
					t.Fatalf("Parse error = %v; want nil", err)
				}
				checkConfig(t, got, tt.want)
			})
		})
	}
}

func TestParseResilienceDefaults(t *testing.T) {
	got, err := config.Parse(nil, env(nil))
	if err != nil {
		t.Fatalf("Parse error = %v; want nil", err)
	}
	checkConfig(t, got, defaults())
}

func TestParseResilienceOverrides(t *testing.T) {
	tests := []parseCase{
		{name: "bare -cache is true", args: []string{"-cache"}, env: map[string]string{"VITRINE_CACHE": "false"},
			want: defaults()},
		{name: "flag overrides VITRINE_CACHE_SIZE", args: []string{"-cache-size", "7"},
			env:  map[string]string{"VITRINE_CACHE_SIZE": "3"},
			want: with(func(c *config.Config) { c.CacheSize = 7 })},
		{name: "VITRINE_CACHE_BYTES", env: map[string]string{"VITRINE_CACHE_BYTES": "8MiB"},
			want: with(func(c *config.Config) { c.CacheBytes = 8 << 20 })},
		{name: "flag overrides VITRINE_CACHE_BYTES", args: []string{"-cache-bytes", "1KiB"},
			env:  map[string]string{"VITRINE_CACHE_BYTES": "bad"},
			want: with(func(c *config.Config) { c.CacheBytes = 1 << 10 })},
		{name: "flag overrides VITRINE_PAGE_TIMEOUT", args: []string{"-page-timeout", "3s"},
			env:  map[string]string{"VITRINE_PAGE_TIMEOUT": "0s"},
			want: with(func(c *config.Config) { c.PageTimeout = 3 * time.Second })},
		{name: "flag overrides VITRINE_HEDGE per tile", args: []string{"-hedge", "banners=off"},
			env: map[string]string{"VITRINE_HEDGE": "banners=10ms,products=20ms"},
			want: with(func(c *config.Config) {
				set(c.Tiles, hedgeOf, map[string]config.Hedge{"banners": {}, "products": {Delay: 20 * time.Millisecond}})
			})},
		{name: "flag p95 overrides VITRINE_HEDGE per tile", args: []string{"-hedge", "products=p95"},
			env: map[string]string{"VITRINE_HEDGE": "products=20ms,banners=off"},
			want: with(func(c *config.Config) {
				set(c.Tiles, hedgeOf, map[string]config.Hedge{"banners": {}, "products": {Adaptive: true}})
			})},
		{name: "bare -fallback is true", args: []string{"-fallback"}, env: map[string]string{"VITRINE_FALLBACK": "false"},
			want: defaults()},
		{name: "VITRINE_FALLBACK", env: map[string]string{"VITRINE_FALLBACK": "false"},
			want: with(func(c *config.Config) { c.Fallback = false })},
		{name: "flag overrides VITRINE_BREAKER per tile", args: []string{"-breaker", "banners=1"},
			env: map[string]string{"VITRINE_BREAKER": "banners=0,products=2"},
			want: with(func(c *config.Config) {
				set(c.Tiles, breakerOf, map[string]int{"banners": 1, "products": 2})
			})},
		{name: "flag overrides VITRINE_TTL per tile", args: []string{"-ttl", "products=1s"},
			env: map[string]string{"VITRINE_TTL": "products=5s,banners=6s"},
			want: with(func(c *config.Config) {
				set(c.Tiles, ttlOf, map[string]time.Duration{"products": time.Second, "banners": 6 * time.Second})
				set(c.Tiles, pinnedOf, map[string]bool{"products": true, "banners": true})
			})},
		{name: "flag overrides VITRINE_MAX_STALE", args: []string{"-max-stale", "products=1m"},
			env: map[string]string{"VITRINE_MAX_STALE": "products=5m"},
			want: with(func(c *config.Config) {
				set(c.Tiles, maxStaleOf, map[string]time.Duration{"products": time.Minute})
			})},
		{name: "latency without a tail drops the env's tail", args: []string{"-latency", "recommendations=50ms"},
			env: map[string]string{"VITRINE_LATENCY": "recommendations=120ms/p99=1s"},
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"recommendations": 50 * time.Millisecond})
			})},
		{name: "latency tail replaced", args: []string{"-latency", "recommendations=120ms/p95=2s"},
			env: map[string]string{"VITRINE_LATENCY": "recommendations=120ms/p99=1s"},
			want: with(func(c *config.Config) {
				set(c.Tiles, tailOf, map[string]config.Tail{"recommendations": {Latency: 2 * time.Second, Rate: 0.05}})
			})},
		{name: "every resilience flag", args: []string{
			"-page-timeout", "0", "-cache=false", "-cache-size", "9", "-ttl", "banners=1s",
			"-max-stale", "banners=2s", "-hedge", "banners=5ms", "-breaker", "banners=4",
			"-latency", "banners=1ms/p99=3ms"},
			want: with(func(c *config.Config) {
				c.PageTimeout, c.Cache, c.CacheSize = 0, false, 9
				set(c.Tiles, ttlOf, map[string]time.Duration{"banners": time.Second})
				set(c.Tiles, pinnedOf, map[string]bool{"banners": true})
				set(c.Tiles, maxStaleOf, map[string]time.Duration{"banners": 2 * time.Second})
				set(c.Tiles, hedgeOf, map[string]config.Hedge{"banners": {Delay: 5 * time.Millisecond}})
				set(c.Tiles, breakerOf, map[string]int{"banners": 4})
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": time.Millisecond})
				set(c.Tiles, tailOf, map[string]config.Tail{"banners": {Latency: 3 * time.Millisecond, Rate: 0.01}})
			})},
	}
	checkParse(t, tests)
}

func TestParseResilienceErrors(t *testing.T) {
	tests := []struct {
		name, flag, value string
		says              []string
	}{
		{"page-timeout negative", "page-timeout", "-1s", []string{`"-1s" is negative`}},
		{"page-timeout without unit", "page-timeout", "2", []string{`"2" has no unit`}},
		{"page-timeout not a duration", "page-timeout", "soon", []string{`"soon" is not a duration`}},

		{"cache not a bool", "cache", "maybe", []string{`"maybe" is not true or false`}},
		{"cache yes", "cache", "yes", []string{`"yes" is not true or false`}},
		{"fallback not a bool", "fallback", "never", []string{`"never" is not true or false`}},

		{"cache-size 0", "cache-size", "0", []string{`"0" must be more than zero`}},
		{"cache-size negative", "cache-size", "-1", []string{`"-1" is not a whole number >= 0`}},
		{"cache-size fraction", "cache-size", "1.5", []string{`"1.5" is not a whole number`}},
		{"cache-size word", "cache-size", "ten", []string{`"ten" is not a whole number`}},
		{"cache-bytes 0", "cache-bytes", "0", []string{`"0" is not a size from 1 byte to 1048576MiB`}},
		{"cache-bytes negative", "cache-bytes", "-1MiB", []string{`"-1MiB" is not a size`}},
		{"cache-bytes unit", "cache-bytes", "32MB", []string{`"32MB" is not a size`, "2MiB"}},
		{"cache-bytes too big", "cache-bytes", "2048GiB", []string{`"2048GiB" is not a size`}},

		{"ttl without unit", "ttl", "banners=1", []string{"banners", `"1" has no unit`}},
		{"ttl negative", "ttl", "banners=-1s", []string{"banners", `"-1s" is negative`}},
		{"ttl unknown tile", "ttl", "nope=1s", []string{`unknown tile "nope"`}},
		{"ttl twice", "ttl", "banners=1s,banners=2s", []string{`tile "banners" is given twice`}},
		{"max-stale bad", "max-stale", "products=x", []string{"products", `"x" is not a duration`}},
		{"max-stale not a pair", "max-stale", "10m", []string{`"10m" is not a name=value pair`}},

		{"hedge p99", "hedge", "banners=p99", []string{"banners", `"p99" is not a duration`, "off or p95"}},
		{"hedge on", "hedge", "banners=on", []string{`"on" is not a duration`, "off or p95"}},
		{"hedge without unit", "hedge", "banners=150", []string{`"150" has no unit`, "off or p95"}},
		{"hedge negative", "hedge", "banners=-1ms", []string{`"-1ms" is negative`}},
		{"hedge empty", "hedge", "banners=", []string{`"" is not a duration`}},
		{"hedge for every tile", "hedge", "off", []string{`"off" is not a name=value pair`}},
		{"hedge 0ms", "hedge", "banners=0ms", []string{"banners", `"0ms" is a zero delay`, "above zero", "off or p95"}},
		{"hedge 0s", "hedge", "products=0s", []string{"products", `"0s" is a zero delay`}},
		{"hedge 0", "hedge", "banners=0", []string{`"0" is a zero delay`, "off or p95"}},
		{"hedge -0s", "hedge", "banners=-0s", []string{`"-0s" is a zero delay`}},

		{"breaker negative", "breaker", "banners=-1", []string{"banners", `"-1" is not a whole number >= 0`}},
		{"breaker not a number", "breaker", "banners=x", []string{`"x" is not a whole number`}},
		{"breaker fraction", "breaker", "banners=1.5", []string{`"1.5" is not a whole number`}},

		{"latency tail p=", "latency", "recommendations=120ms/p=1s", []string{`tail "p=1s" is not pNN=duration`}},
		{"latency tail without value", "latency", "recommendations=120ms/p99", []string{`tail "p99" is not pNN=duration`}},
		{"latency tail bad value", "latency", "recommendations=120ms/p99=x", []string{"tail", `"x" is not a duration`}},
		{"latency tail q", "latency", "recommendations=120ms/q99=1s", []string{`tail "q99=1s" is not pNN=duration`}},
		{"latency tail p0", "latency", "recommendations=120ms/p0=1s", []string{`tail "p0=1s"`, "0th percentile", "strictly between 0 and 100"}},
		{"latency tail p00", "latency", "recommendations=120ms/p00=1s", []string{"p00 is the 0th percentile"}},
		{"latency tail p000", "latency", "recommendations=120ms/p000=1s", []string{"p000 is the 0th percentile"}},
		{"latency tail p100", "latency", "recommendations=120ms/p100=1s", []string{`tail "p100=1s"`, "reads like 100%", "write p10", "strictly between 0 and 100"}},
		{"latency tail p1000", "latency", "recommendations=120ms/p1000=1s", []string{"reads like 1000%", "write p10"}},
		{"latency tail p990", "latency", "recommendations=120ms/p990=1s", []string{"(0.990 = 0.99)", "write p99"}},
		{"latency tail p5", "latency", "recommendations=120ms/p5=1s", []string{"one digit", "p05 or p50"}},
		{"latency tail p9", "latency", "recommendations=120ms/p9=1s", []string{"one digit", "p09 or p90"}},
		{"latency tail seven digits", "latency", "recommendations=120ms/p9999999=1s", []string{"is not pNN=duration"}},
		{"latency tail negative", "latency", "recommendations=120ms/p99=-1s", []string{`"-1s" is negative`}},
		{"latency tail fraction", "latency", "recommendations=120ms/p99.9=1s", []string{"is not pNN=duration"}},
		{"latency two tails", "latency", "recommendations=120ms/p99=1s/p95=2s", []string{"tail"}},
		{"latency tail only", "latency", "recommendations=/p99=1s", []string{`"" is not a duration`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			viaFlagAndEnv(t, tt.flag, tt.value, func(t *testing.T, _ config.Config, err error, fromEnv string) {
				var ce *config.Error
				if !errors.As(err, &ce) {
					t.Fatalf("Parse error = %T %v; want a *config.Error", err, err)
				}
				if got, want := ce.Flag, "-"+tt.flag; got != want {
					t.Errorf("Flag = %q; want %q", got, want)
				}
				if got, want := ce.Env, fromEnv; got != want {
					t.Errorf("Env = %q; want %q", got, want)
				}
				msg := err.Error()
				checkMessage(t, "Parse", msg)
				for _, s := range tt.says {
					if !strings.Contains(msg, s) {
						t.Errorf("Error() = %q; want it to contain %q", msg, s)
					}
				}
			})
		})
	}
}

// TestParseErrorNamesTheRightFlag: a bad value that itself reads like the
// flag package's message must not be blamed on another flag, nor make the
// message as long as the value.
func TestParseErrorNamesTheRightFlag(t *testing.T) {
	long := strings.Repeat("y", 5000)
	tests := []struct {
		name string
		args []string
		flag string
	}{
		{"value mimics another flag", []string{"-latency", `x" for flag -addr: ` + long}, "-latency"},
		{"list value mimics another flag", []string{"-ttl", `banners=1s" for flag -fail: ` + long}, "-ttl"},
		{"bool value mimics another flag", []string{`-cache=x" for -addr: ` + long}, "-cache"},
		{"long stray argument", []string{long}, "arguments"},
		{"long cache-size", []string{"-cache-size", "0" + long}, "-cache-size"},
		{"long zero cache-size", []string{"-cache-size", strings.Repeat("0", 5000)}, "-cache-size"},
		{"long zero tile-timeout", []string{"-tile-timeout", strings.Repeat("0", 5000) + "s"}, "-tile-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.args, env(nil))
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse error = %T %v; want a *config.Error", err, err)
			}
			if got, want := ce.Flag, tt.flag; got != want {
				t.Errorf("Flag = %q; want %q", got, want)
			}
			checkMessage(t, "Parse", err.Error())
		})
	}
}

func TestUsageResilience(t *testing.T) {
	var b strings.Builder
	config.Usage(&b)
	out := b.String()
	for _, want := range []string{
		"-page-timeout", "-cache", "-fallback", "-cache-size", "-ttl", "-max-stale", "-hedge", "-breaker", "p99=1s", "(default true)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Usage does not mention %q:\n%s", want, out)
		}
	}
}

func TestEnvNameResilience(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"page-timeout", "VITRINE_PAGE_TIMEOUT"},
		{"cache", "VITRINE_CACHE"},
		{"fallback", "VITRINE_FALLBACK"},
		{"cache-size", "VITRINE_CACHE_SIZE"},
		{"cache-bytes", "VITRINE_CACHE_BYTES"},
		{"ttl", "VITRINE_TTL"},
		{"max-stale", "VITRINE_MAX_STALE"},
		{"hedge", "VITRINE_HEDGE"},
		{"breaker", "VITRINE_BREAKER"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			if got := config.EnvName(tt.flag); got != tt.want {
				t.Errorf("EnvName(%q) = %q; want %q", tt.flag, got, tt.want)
			}
		})
	}
}

// TestMaxTTL: a tile's max-ttl (-max-ttl, VITRINE_MAX_TTL, its file key)
// wins over the file's top-level one, which wins over 10m; zero is refused.
func TestMaxTTL(t *testing.T) {
	path := writeConfig(t, "max-ttl: 1h\ntiles:\n  - {name: banners, max-ttl: 2m}\n  - {name: products}\n")
	tests := []struct {
		name             string
		args             []string
		env              map[string]string
		banners, product time.Duration
	}{
		{name: "default", banners: 10 * time.Minute},
		{name: "flag", args: []string{"-max-ttl", "banners=30s"}, banners: 30 * time.Second},
		{name: "variable", env: map[string]string{"VITRINE_MAX_TTL": "banners=1m"}, banners: time.Minute},
		{name: "file", args: []string{"-config", path}, banners: 2 * time.Minute, product: time.Hour},
		{name: "flag over file", args: []string{"-config", path, "-max-ttl", "products=5s"},
			banners: 2 * time.Minute, product: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.TileMaxTTL(tile(cfg, "banners")); got != tt.banners {
				t.Errorf("banners: max-ttl %v; want %v", got, tt.banners)
			}
			if got := cfg.TileMaxTTL(tile(cfg, "products")); tt.product != 0 && got != tt.product {
				t.Errorf("products: max-ttl %v; want %v", got, tt.product)
			}
		})
	}
	checkParseErrors(t, "-max-ttl", []errorCase{
		{name: "zero", args: []string{"-max-ttl", "banners=0s"}, says: []string{"more than zero"}},
	})
}

// TestTileCacheBytes: -cache-bytes (default 48 MiB) is shared equally by
// the tiles that cache; a tile with ttl 0, or -cache=false, takes none.
func TestTileCacheBytes(t *testing.T) {
	path := writeConfig(t, "cache-bytes: 3MiB\ntiles:\n  - {name: banners}\n  - {name: products, ttl: 0s}\n"+
		"  - {name: recommendations}\n")
	tests := []struct {
		name string
		args []string
		want int64
	}{
		{name: "default, three tiles", want: (48 << 20) / 3},
		{name: "flag", args: []string{"-cache-bytes", "30MiB"}, want: 10 << 20},
		{name: "a tile without cache", args: []string{"-ttl", "banners=0s", "-cache-bytes", "30MiB"}, want: 15 << 20},
		{name: "file", args: []string{"-config", path}, want: (3 << 20) / 2},
		{name: "flag over file", args: []string{"-config", path, "-cache-bytes", "4MiB"}, want: 2 << 20},
		{name: "no tile caches", args: []string{"-cache=false", "-cache-bytes", "4MiB"}, want: 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(tt.args, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.TileCacheBytes(); got != tt.want {
				t.Errorf("TileCacheBytes() = %d; want %d", got, tt.want)
			}
		})
	}
}
