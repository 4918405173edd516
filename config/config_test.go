package config_test

import (
	"errors"
	"maps"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"vitrine/config"
)

// env returns a getenv reading only m, so that the tests never see the
// real environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// The accessors of a tile's settings, for set.
var (
	latencyOf  = func(t *config.Tile) *time.Duration { return &t.Latency }
	tailOf     = func(t *config.Tile) *config.Tail { return &t.Tail }
	failOf     = func(t *config.Tile) *float64 { return &t.Fail }
	ttlOf      = func(t *config.Tile) *time.Duration { return &t.TTL }
	pinnedOf   = func(t *config.Tile) *bool { return &t.PinnedTTL }
	maxStaleOf = func(t *config.Tile) *time.Duration { return &t.MaxStale }
	hedgeOf    = func(t *config.Tile) *config.Hedge { return &t.Hedge }
	breakerOf  = func(t *config.Tile) *int { return &t.Breaker }
)

// set sets the setting of each tile that m names to its value in m.
func set[V any](tiles []config.Tile, setting func(*config.Tile) *V, m map[string]V) {
	for i := range tiles {
		if v, ok := m[tiles[i].Name]; ok {
			*setting(&tiles[i]) = v
		}
	}
}

// builtin is the built-in tile name, as no setting changes it.
func builtin(name string, latency, ttl time.Duration, personalised bool) config.Tile {
	return config.Tile{Name: name, View: name, Personalised: personalised, Latency: latency, TTL: ttl,
		MaxStale: 10 * time.Minute, Hedge: config.Hedge{Adaptive: true}, Breaker: 5}
}

// defaults is the Config that no flag and no environment give, written
// out as the contract and the README state it.
func defaults() config.Config {
	return config.Config{
		Addr:        "localhost:8080",
		TileTimeout: 500 * time.Millisecond,
		PageTimeout: time.Second, // twice -tile-timeout
		TestDelay:   5 * time.Second,
		Cache:       true,
		Fallback:    true,
		CacheSize:   10_000,
		CacheBytes:  48 << 20,
		MaxTTL:      10 * time.Minute,
		Redis:       config.Redis{Prefix: "vitrine:", Timeout: 100 * time.Millisecond},
		Trace:       "off",
		Identity:    config.Identity{Source: "query"},
		Tiles: []config.Tile{
			builtin("banners", 40*time.Millisecond, 30*time.Second, false),
			builtin("products", 80*time.Millisecond, 30*time.Second, false),
			builtin("recommendations", 120*time.Millisecond, time.Minute, true),
		},

		ShutdownTimeout: 15 * time.Second,
	}
}

// with returns the defaults changed by f.
func with(f func(*config.Config)) config.Config {
	c := defaults()
	f(&c)
	return c
}

// checkConfig compares every field of got and want, each by itself so that
// a failure names the field; a field added to Config is compared too.
func checkConfig(t *testing.T, got, want config.Config) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if gf, wf := g.Field(i).Interface(), w.Field(i).Interface(); !reflect.DeepEqual(gf, wf) {
			t.Errorf("%s = %+v;\nwant %+v", g.Type().Field(i).Name, gf, wf)
		}
	}
}

func TestParse(t *testing.T) {
	ms := time.Millisecond
	tests := []parseCase{
		{name: "defaults", want: defaults()},
		{name: "nil args and empty env", args: []string{}, env: map[string]string{}, want: defaults()},

		// Each flag.
		{name: "addr", args: []string{"-addr", "127.0.0.1:0"},
			want: with(func(c *config.Config) { c.Addr = "127.0.0.1:0" })},
		{name: "addr with =", args: []string{"--addr=:9090"},
			want: with(func(c *config.Config) { c.Addr = ":9090" })},
		{name: "latency one tile keeps the others' defaults", args: []string{"-latency", "products=10ms"},
			want: with(func(c *config.Config) { set(c.Tiles, latencyOf, map[string]time.Duration{"products": 10 * ms}) })},
		{name: "latency every tile", args: []string{"-latency", "banners=1ms, products=2ms ,recommendations=1.5s"},
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": ms, "products": 2 * ms, "recommendations": 1500 * ms})
			})},
		{name: "latency zero", args: []string{"-latency", "banners=0s"},
			want: with(func(c *config.Config) { set(c.Tiles, latencyOf, map[string]time.Duration{"banners": 0}) })},
		{name: "latency empty sets nothing", args: []string{"-latency", ""}, want: defaults()},
		{name: "latency repeated merges", args: []string{"-latency", "banners=1ms", "-latency", "products=2ms"},
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": ms, "products": 2 * ms})
			})},
		{name: "latency repeated later wins", args: []string{"-latency", "banners=1ms", "-latency", "banners=2ms"},
			want: with(func(c *config.Config) { set(c.Tiles, latencyOf, map[string]time.Duration{"banners": 2 * ms}) })},
		{name: "fail", args: []string{"-fail", "recommendations=1,banners=0.25"},
			want: with(func(c *config.Config) {
				set(c.Tiles, failOf, map[string]float64{"recommendations": 1, "banners": 0.25})
			})},
		{name: "fail bounds", args: []string{"-fail", "banners=0,products=1"},
			want: with(func(c *config.Config) { set(c.Tiles, failOf, map[string]float64{"banners": 0, "products": 1}) })},
		{name: "tile-timeout", args: []string{"-tile-timeout", "250ms"},
			want: with(func(c *config.Config) { c.TileTimeout, c.PageTimeout = 250*ms, 500*ms })},
		{name: "test-delay", args: []string{"-test-delay=300ms"},
			want: with(func(c *config.Config) { c.TestDelay = 300 * ms })},
		{name: "test-delay zero", args: []string{"-test-delay", "0s"},
			want: with(func(c *config.Config) { c.TestDelay = 0 })},
		{name: "every flag", args: []string{
			"-addr", ":1", "-latency", "banners=1ms", "-fail", "products=0.5", "-tile-timeout", "2s", "-test-delay", "3s"},
			want: with(func(c *config.Config) {
				c.Addr = ":1"
				set(c.Tiles, latencyOf, map[string]time.Duration{"banners": ms})
				set(c.Tiles, failOf, map[string]float64{"products": 0.5})
				c.TileTimeout, c.PageTimeout = 2*time.Second, 4*time.Second
				c.TestDelay = 3 * time.Second
			})},

		// Each environment variable.
		{name: "VITRINE_ADDR", env: map[string]string{"VITRINE_ADDR": "0.0.0.0:80"},
			want: with(func(c *config.Config) { c.Addr = "0.0.0.0:80" })},
		{name: "VITRINE_LATENCY", env: map[string]string{"VITRINE_LATENCY": "recommendations=7ms"},
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"recommendations": 7 * ms})
			})},
		{name: "VITRINE_FAIL", env: map[string]string{"VITRINE_FAIL": "products=0.1"},
			want: with(func(c *config.Config) { set(c.Tiles, failOf, map[string]float64{"products": 0.1}) })},
		{name: "VITRINE_TILE_TIMEOUT", env: map[string]string{"VITRINE_TILE_TIMEOUT": "1s"},
			want: with(func(c *config.Config) { c.TileTimeout, c.PageTimeout = time.Second, 2*time.Second })},
		{name: "VITRINE_TEST_DELAY", env: map[string]string{"VITRINE_TEST_DELAY": "10ms"},
			want: with(func(c *config.Config) { c.TestDelay = 10 * ms })},
		{name: "empty env value is unset", env: map[string]string{"VITRINE_TILE_TIMEOUT": "", "VITRINE_ADDR": ""},
			want: defaults()},
		{name: "other env ignored", env: map[string]string{"ADDR": "x", "VITRINE_NOPE": "x", "vitrine_addr": "x"},
			want: defaults()},

		// Flags override the environment.
		{name: "flag overrides VITRINE_ADDR", args: []string{"-addr", ":2"}, env: map[string]string{"VITRINE_ADDR": ":1"},
			want: with(func(c *config.Config) { c.Addr = ":2" })},
		{name: "flag overrides VITRINE_TILE_TIMEOUT", args: []string{"-tile-timeout", "2s"},
			env:  map[string]string{"VITRINE_TILE_TIMEOUT": "1s"},
			want: with(func(c *config.Config) { c.TileTimeout, c.PageTimeout = 2*time.Second, 4*time.Second })},
		{name: "flag overrides VITRINE_TEST_DELAY", args: []string{"-test-delay", "2s"},
			env:  map[string]string{"VITRINE_TEST_DELAY": "1s"},
			want: with(func(c *config.Config) { c.TestDelay = 2 * time.Second })},
		{name: "flag overrides VITRINE_LATENCY per tile", args: []string{"-latency", "products=20ms"},
			env: map[string]string{"VITRINE_LATENCY": "products=10ms,banners=5ms"},
			want: with(func(c *config.Config) {
				set(c.Tiles, latencyOf, map[string]time.Duration{"products": 20 * ms, "banners": 5 * ms})
			})},
		{name: "flag overrides VITRINE_FAIL per tile", args: []string{"-fail", "banners=0"},
			env:  map[string]string{"VITRINE_FAIL": "banners=1,products=0.5"},
			want: with(func(c *config.Config) { set(c.Tiles, failOf, map[string]float64{"banners": 0, "products": 0.5}) })},
	}
	checkParse(t, tests)
}

// TestParseNilGetenv: a nil getenv reads no environment.
func TestParseNilGetenv(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Parse with nil getenv panicked: %v; want no environment read", r)
		}
	}()
	got, err := config.Parse([]string{"-addr", ":3"}, nil)
	if err != nil {
		t.Fatalf("Parse with nil getenv: error = %v; want nil", err)
	}
	checkConfig(t, got, with(func(c *config.Config) { c.Addr = ":3" }))
}

// TestParseDefaultsNotShared checks that a Config's tiles are its own: a
// caller changing one cannot change the next Parse's defaults.
func TestParseDefaultsNotShared(t *testing.T) {
	a, err := config.Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	a.Tiles[0] = config.Tile{Name: "x", Latency: time.Hour, Fail: 1, Tail: config.Tail{Latency: time.Hour, Rate: 0.5},
		TTL: time.Hour, MaxStale: time.Hour, Breaker: 1, PinnedTTL: true}
	a.Tiles[1].URL = "http://x"
	b, err := config.Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, b, defaults())
}

func TestParseErrors(t *testing.T) {
	tests := []errorCase{
		{name: "unknown tile in latency", args: []string{"-latency", "nope=10ms"},
			flag: "-latency", says: []string{`unknown tile "nope"`, "banners, products, recommendations"}},
		{name: "unknown tile in fail", args: []string{"-fail", "Banners=0.5"},
			flag: "-fail", says: []string{`unknown tile "Banners"`}},
		{name: "bad duration", args: []string{"-latency", "products=fast"},
			flag: "-latency", says: []string{"products", `"fast" is not a duration`}},
		{name: "duration without unit", args: []string{"-latency", "products=40"},
			flag: "-latency", says: []string{"products", `"40" has no unit`, "40ms"}},
		{name: "negative duration", args: []string{"-latency", "banners=-5ms"},
			flag: "-latency", says: []string{"banners", `"-5ms" is negative`}},
		{name: "empty duration", args: []string{"-latency", "banners="},
			flag: "-latency", says: []string{"banners", `"" is not a duration`}},
		{name: "probability above 1", args: []string{"-fail", "recommendations=1.5"},
			flag: "-fail", says: []string{"recommendations", "1.5 is outside [0, 1]"}},
		{name: "probability below 0", args: []string{"-fail", "recommendations=-0.1"},
			flag: "-fail", says: []string{"-0.1 is outside [0, 1]"}},
		{name: "probability NaN", args: []string{"-fail", "products=NaN"},
			flag: "-fail", says: []string{"products", `"NaN" is not a number`}},
		{name: "probability Inf", args: []string{"-fail", "products=Inf"},
			flag: "-fail", says: []string{"products", "outside [0, 1]"}},
		{name: "probability not a number", args: []string{"-fail", "products=half"},
			flag: "-fail", says: []string{`"half" is not a number`}},
		{name: "not a pair", args: []string{"-latency", "products"},
			flag: "-latency", says: []string{`"products" is not a name=value pair`}},
		{name: "pair without name", args: []string{"-fail", "=0.5"},
			flag: "-fail", says: []string{`"=0.5" is not a name=value pair`}},
		{name: "tile given twice", args: []string{"-latency", "banners=1ms,banners=2ms"},
			flag: "-latency", says: []string{`tile "banners" is given twice`}},
		{name: "zero tile-timeout", args: []string{"-tile-timeout", "0s"},
			flag: "-tile-timeout", says: []string{`"0s" must be more than zero`}},
		{name: "negative tile-timeout", args: []string{"-tile-timeout", "-1s"},
			flag: "-tile-timeout", says: []string{`"-1s" is negative`}},
		{name: "tile-timeout without unit", args: []string{"-tile-timeout", "500"},
			flag: "-tile-timeout", says: []string{`"500" has no unit`}},
		{name: "negative test-delay", args: []string{"-test-delay", "-1ms"},
			flag: "-test-delay", says: []string{`"-1ms" is negative`}},
		{name: "unknown flag", args: []string{"-verbose"},
			flag: "-verbose", says: []string{"unknown flag"}},
		{name: "unknown flag after good ones", args: []string{"-addr", ":1", "--port=80"},
			flag: "-port", says: []string{"unknown flag"}},
		{name: "flag without value", args: []string{"-tile-timeout"},
			flag: "-tile-timeout", says: []string{"needs a value"}},
		{name: "stray argument", args: []string{"-addr", ":1", "serve"},
			flag: "arguments", says: []string{`"serve"`}},
		{name: "stray argument first", args: []string{"latency=1ms"},
			flag: "arguments", says: []string{`"latency=1ms"`}},

		{name: "addr without port", args: []string{"-addr", "nohost"},
			flag: "-addr", says: []string{`"nohost" is not host:port`}},
		{name: "addr port out of range", args: []string{"-addr=:65536"},
			flag: "-addr", says: []string{`port must be 0 to 65535; got "65536"`}},

		// Bad environment values name the variable.
		{name: "bad VITRINE_LATENCY", env: map[string]string{"VITRINE_LATENCY": "products=slow"},
			flag: "-latency", from: "VITRINE_LATENCY", says: []string{`"slow" is not a duration`}},
		{name: "bad VITRINE_FAIL", env: map[string]string{"VITRINE_FAIL": "banners=2"},
			flag: "-fail", from: "VITRINE_FAIL", says: []string{"2 is outside [0, 1]"}},
		{name: "bad VITRINE_TILE_TIMEOUT", env: map[string]string{"VITRINE_TILE_TIMEOUT": "0s"},
			flag: "-tile-timeout", from: "VITRINE_TILE_TIMEOUT", says: []string{"more than zero"}},
		{name: "bad VITRINE_TEST_DELAY", env: map[string]string{"VITRINE_TEST_DELAY": "5"},
			flag: "-test-delay", from: "VITRINE_TEST_DELAY", says: []string{`"5" has no unit`}},
		{name: "bad VITRINE_ADDR", env: map[string]string{"VITRINE_ADDR": "x:y"},
			flag: "-addr", from: "VITRINE_ADDR", says: []string{`"x:y" port must be 0 to 65535; got "y"`}},
		{name: "bad list env even when the flag is given (lists merge)", args: []string{"-latency", "banners=1ms"},
			env:  map[string]string{"VITRINE_LATENCY": "products=soon"},
			flag: "-latency", from: "VITRINE_LATENCY", says: []string{`"soon"`}},

		// Hostile values stay on one line.
		{name: "newline in value", args: []string{"-latency", "banners=1ms\nproducts=2ms"},
			flag: "-latency", says: []string{`\n`}},
		{name: "newline in flag name", args: []string{"-bad\nname"},
			says: []string{"unknown flag", `\n`}},
		{name: "newline in bad flag syntax", args: []string{"---a\nb"},
			flag: "flags", says: []string{"bad flag syntax", `\n`}},
		{name: "long unknown flag clipped", args: []string{"-" + strings.Repeat("x", 5000)},
			says: []string{"unknown flag", "..."}},
		{name: "newline in stray argument", args: []string{"a\nb"},
			flag: "arguments", says: []string{`"a\nb"`}},
		{name: "newline in addr", args: []string{"-addr", "a\nb"},
			flag: "-addr", says: []string{`\n`}},
		{name: "newline in env value", env: map[string]string{"VITRINE_FAIL": "x\ny=1"},
			flag: "-fail", from: "VITRINE_FAIL", says: []string{`\n`}},
	}
	checkParseErrors(t, "", tests)
}

func TestParseHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			_, err := config.Parse([]string{arg}, nil)
			if !errors.Is(err, config.ErrHelp) {
				t.Errorf("Parse(%q) error = %v; want config.ErrHelp", arg, err)
			}
			var ce *config.Error
			if errors.As(err, &ce) {
				t.Errorf("Parse(%q) error is a *config.Error; want ErrHelp alone", arg)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  config.Error
		want string
	}{
		{"flag", config.Error{Flag: "-latency", Msg: "bad"}, "-latency: bad"},
		{"env", config.Error{Flag: "-fail", Env: "VITRINE_FAIL", Msg: "bad"}, "-fail (from VITRINE_FAIL): bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"addr", "VITRINE_ADDR"},
		{"latency", "VITRINE_LATENCY"},
		{"fail", "VITRINE_FAIL"},
		{"tile-timeout", "VITRINE_TILE_TIMEOUT"},
		{"test-delay", "VITRINE_TEST_DELAY"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			if got := config.EnvName(tt.flag); got != tt.want {
				t.Errorf("EnvName(%q) = %q; want %q", tt.flag, got, tt.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	var b strings.Builder
	config.Usage(&b)
	out := b.String()
	for _, want := range []string{"-addr", "-latency", "-fail", "-tile-timeout", "-test-delay", "VITRINE_"} {
		if !strings.Contains(out, want) {
			t.Errorf("Usage does not mention %q:\n%s", want, out)
		}
	}
}

// usageEntries splits config.Usage's output into each flag's entry (the
// line naming the flag and its description), by flag name.
func usageEntries(t *testing.T) map[string]string {
	t.Helper()
	var b strings.Builder
	config.Usage(&b)
	entries := map[string]string{}
	name := ""
	for _, line := range strings.Split(b.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "  -"); ok {
			name, _, _ = strings.Cut(strings.ReplaceAll(rest, "\t", " "), " ")
			entries[name] = line
			continue
		}
		if name != "" && strings.HasPrefix(line, "    ") {
			entries[name] += "\n" + line
		}
	}
	if len(entries) == 0 {
		t.Fatalf("Usage lists no flag:\n%s", b.String())
	}
	return entries
}

var defaultShown = regexp.MustCompile(`\(default ([^\n]*)\)$`)

// TestUsageDefaults: -h shows each flag's default once, written by the
// flag package from the value the flag starts with (the defaults' one
// source), as a value the flag accepts that gives that default again.
func TestUsageDefaults(t *testing.T) {
	entries := usageEntries(t)
	tests := []struct {
		flag  string
		shows string // in the entry, "" for nothing in particular
		none  bool   // no default shown: the flag is off by default
		prose bool   // the default is a sentence, not a value of the flag
		pins  bool   // given, the default pins the tiles' TTL
	}{
		{flag: "addr", shows: "(default localhost:8080)"},
		{flag: "admin-addr", shows: "/metrics", none: true},
		{flag: "tile-timeout", shows: "(default 500ms)"},
		{flag: "test-delay", shows: "(default 5s)"},
		{flag: "shutdown-timeout", shows: "(default 15s)"},
		{flag: "page-timeout", shows: "twice -tile-timeout", prose: true},
		{flag: "latency", shows: "(default banners=40ms,products=80ms,recommendations=120ms)"},
		{flag: "fail", none: true},
		{flag: "cache", shows: "(default true)"},
		{flag: "fallback", shows: "(default true)"},
		{flag: "cache-size", shows: "(default 10000)"},
		{flag: "cache-bytes", shows: "(default 48MiB)"},
		{flag: "ttl", shows: "banners=30s", pins: true},
		{flag: "max-stale"},
		{flag: "hedge"},
		{flag: "breaker", shows: "banners=5"},
		{flag: "config", shows: "flags override it", none: true},
		{flag: "check", shows: "(default false)"},
		{flag: "backend", shows: "name=url", none: true},
		{flag: "redis", shows: "rediss://", none: true},
		{flag: "redis-prefix", shows: "(default vitrine:)"},
		{flag: "redis-timeout", shows: "(default 100ms)"},
		{flag: "trace", shows: "(default off)"},
		{flag: "trace-sample", shows: "OTEL_TRACES_SAMPLER", none: true},
		{flag: "key-secret", shows: "VITRINE_KEY_SECRET", none: true},
		{flag: "max-ttl", shows: "else 10m", none: true},
		{flag: "identity", shows: "(default query)"},
		{flag: "identity-keys", shows: "VITRINE_IDENTITY_KEYS", none: true},
	}
	if got, want := len(entries), len(tests); got != want {
		t.Errorf("Usage lists %d flags; want %d", got, want)
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			entry, ok := entries[tt.flag]
			if !ok {
				t.Fatalf("Usage has no entry for -%s", tt.flag)
			}
			n, want := strings.Count(entry, "(default "), 1
			if tt.none {
				want = 0
			}
			if n != want {
				t.Errorf("-%s shows %d defaults; want %d:\n%s", tt.flag, n, want, entry)
			}
			if !strings.Contains(entry, tt.shows) {
				t.Errorf("-%s entry does not contain %q:\n%s", tt.flag, tt.shows, entry)
			}
			m := defaultShown.FindStringSubmatch(entry)
			if m == nil {
				return
			}
			// The default shown, given back as the flag's value, must be
			// accepted and change nothing.
			args := []string{"-" + tt.flag + "=" + m[1]}
			got, err := config.Parse(args, env(nil))
			if err != nil {
				if !tt.prose {
					t.Errorf("-%s shows the default %q, which Parse refuses: %v", tt.flag, m[1], err)
				}
				return
			}
			unchanged := defaults()
			if tt.pins {
				set(unchanged.Tiles, pinnedOf, map[string]bool{"banners": true, "products": true, "recommendations": true})
			}
			checkConfig(t, got, unchanged)
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string // "" for success
	}{
		{"40ms", 40 * time.Millisecond, ""},
		{"1.5s", 1500 * time.Millisecond, ""},
		{"1m30s", 90 * time.Second, ""},
		{"  7us ", 7 * time.Microsecond, ""},
		{"0s", 0, ""},
		{"0", 0, ""}, // time.ParseDuration's one unitless value: unambiguous
		{"40", 0, `"40" has no unit; write e.g. 40ms or 40s`},
		{"2.5", 0, `"2.5" has no unit`},
		{"-5ms", 0, `"-5ms" is negative`},
		{"fast", 0, `"fast" is not a duration`},
		{"", 0, `"" is not a duration`},
		{"10 ms", 0, `"10 ms" is not a duration`},
		{"NaN", 0, `"NaN" is not a duration`},
		{"Inf", 0, `"Inf" is not a duration`},
		{"1e3", 0, `"1e3" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseDuration(tt.in)
			checkParsed(t, "ParseDuration", tt.in, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestParseProbability(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr string
	}{
		{"0", 0, ""},
		{"1", 1, ""},
		{"0.25", 0.25, ""},
		{" .5 ", 0.5, ""},
		{"1e-1", 0.1, ""},
		{"1.0000001", 0, "1.0000001 is outside [0, 1]"},
		{"-0.5", 0, "-0.5 is outside [0, 1]"},
		{"2", 0, "2 is outside [0, 1]"},
		{"NaN", 0, `"NaN" is not a number`},
		{"nan", 0, `"nan" is not a number`},
		{"Inf", 0, "outside [0, 1]"},
		{"-Inf", 0, "outside [0, 1]"},
		{"half", 0, `"half" is not a number`},
		{"50%", 0, `"50%" is not a number`},
		{"", 0, `"" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseProbability(tt.in)
			checkParsed(t, "ParseProbability", tt.in, got, err, tt.want, tt.wantErr)
			if err == nil && (math.IsNaN(got) || got < 0 || got > 1) {
				t.Errorf("ParseProbability(%q) = %v; want a value in [0, 1]", tt.in, got)
			}
		})
	}
}

func checkParsed[T comparable](t *testing.T, fn, in string, got T, err error, want T, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatalf("%s(%q) error = %v; want nil", fn, in, err)
		}
		if got != want {
			t.Errorf("%s(%q) = %v; want %v", fn, in, got, want)
		}
		return
	}
	if err == nil {
		t.Fatalf("%s(%q) = %v, nil; want an error containing %q", fn, in, got, wantErr)
	}
	if !strings.Contains(err.Error(), wantErr) {
		t.Errorf("%s(%q) error = %q; want it to contain %q", fn, in, err, wantErr)
	}
}

func TestParseList(t *testing.T) {
	known := []string{"a", "b", "c"}
	tests := []struct {
		name    string
		in      string
		want    map[string]time.Duration
		wantErr string
	}{
		{name: "empty", in: "", want: map[string]time.Duration{}},
		{name: "blank", in: "  ", want: map[string]time.Duration{}},
		{name: "one", in: "a=1ms", want: map[string]time.Duration{"a": time.Millisecond}},
		{name: "several with spaces", in: " a = 1ms , c=2s ",
			want: map[string]time.Duration{"a": time.Millisecond, "c": 2 * time.Second}},
		{name: "unknown name", in: "a=1ms,d=2ms", wantErr: `unknown tile "d" in "d=2ms" (known: a, b, c)`},
		{name: "names are case-sensitive", in: "A=1ms", wantErr: `unknown tile "A"`},
		{name: "not a pair", in: "a", wantErr: `"a" is not a name=value pair`},
		{name: "no name", in: "=1ms", wantErr: `"=1ms" is not a name=value pair`},
		{name: "trailing comma", in: "a=1ms,", wantErr: `"" is not a name=value pair`},
		{name: "twice", in: "b=1ms,b=1ms", wantErr: `tile "b" is given twice`},
		{name: "bad value names the tile", in: "c=40", wantErr: `c: "40" has no unit`},
		{name: "long name clipped", in: strings.Repeat("x", 500) + "=1ms", wantErr: "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.ParseList(tt.in, known, config.ParseDuration)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseList(%q) error = %v; want nil", tt.in, err)
				}
				if !maps.Equal(got, tt.want) {
					t.Errorf("ParseList(%q) = %v; want %v", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseList(%q) = %v, nil; want an error containing %q", tt.in, got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseList(%q) error = %q; want it to contain %q", tt.in, err, tt.wantErr)
			}
			if len(err.Error()) > 300 {
				t.Errorf("ParseList(%q) error is %d bytes long; want a short message", tt.in, len(err.Error()))
			}
		})
	}
}

func TestParseListProbabilities(t *testing.T) {
	got, err := config.ParseList("a=0.5,b=1", []string{"a", "b"}, config.ParseProbability)
	if err != nil {
		t.Fatalf("ParseList error = %v; want nil", err)
	}
	if want := map[string]float64{"a": 0.5, "b": 1}; !maps.Equal(got, want) {
		t.Errorf("ParseList = %v; want %v", got, want)
	}
}

// TestParseFlagBeatsBadEnv: a single-valued flag on the command line wins,
// so its environment variable is not read at all, even a malformed one.
func TestParseFlagBeatsBadEnv(t *testing.T) {
	cfg, err := config.Parse([]string{"-tile-timeout", "1s", "-addr", "127.0.0.1:0"}, func(k string) string {
		return map[string]string{"VITRINE_TILE_TIMEOUT": "soon", "VITRINE_ADDR": "nohost"}[k]
	})
	if err != nil {
		t.Fatalf("Parse: %v; want the command line to win over the bad variables", err)
	}
	if got, want := cfg.TileTimeout, time.Second; got != want {
		t.Errorf("TileTimeout = %v; want %v", got, want)
	}
}

// TestParseDerived covers the values derived after parsing: the page
// deadline follows -tile-timeout unless given, and -addr is checked
// before anything listens.
func TestParseDerived(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		page time.Duration
		err  string // the start of the error, if any
	}{
		{name: "default page deadline", page: time.Second},
		{name: "page deadline follows the tile timeout", args: []string{"-tile-timeout", "3s"}, page: 6 * time.Second},
		{name: "page deadline given", args: []string{"-tile-timeout", "3s", "-page-timeout", "4s"}, page: 4 * time.Second},
		{name: "page deadline off", args: []string{"-page-timeout", "0s"}, page: 0},
		{name: "page deadline from the environment", env: map[string]string{"VITRINE_PAGE_TIMEOUT": "2s"}, page: 2 * time.Second},
		{name: "port out of range", args: []string{"-addr", "127.0.0.1:99999"}, err: `-addr: "127.0.0.1:99999" port must be 0 to 65535; got "99999"`},
		{name: "no port", args: []string{"-addr", "nohost"}, err: `-addr: "nohost" is not host:port`},
		{name: "bad addr from the environment", env: map[string]string{"VITRINE_ADDR": "x:y"}, err: `-addr (from VITRINE_ADDR): "x:y" port must be 0 to 65535`},
		{name: "port only", args: []string{"-addr", ":0"}, page: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse(tc.args, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				var ce *config.Error
				if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) error = %v; want a *config.Error starting %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.PageTimeout; got != tc.page {
				t.Errorf("PageTimeout = %v; want %v", got, tc.page)
			}
		})
	}
}

// parseCase is a command line and an environment, and the Config they give.
type parseCase struct {
	name string
	args []string
	env  map[string]string
	want config.Config
}

// checkParse parses each case and compares the whole Config.
func checkParse(t *testing.T, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse(tt.args, env(tt.env))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v; want nil", tt.args, err)
			}
			checkConfig(t, got, tt.want)
		})
	}
}

// errorCase is a command line and an environment that Parse refuses.
type errorCase struct {
	name string
	args []string
	env  map[string]string
	flag string   // want Error.Flag ("": checkParseErrors's flag, if any)
	from string   // want Error.Env
	says []string // the message names these (the bad part)
}

// checkParseErrors parses each case and wants a one-line *config.Error
// naming the flag (tt.flag, else flag when not empty), the variable the
// value came from, and the bad part.
func checkParseErrors(t *testing.T, flag string, tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		if tt.flag == "" {
			tt.flag = flag
		}
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.args, env(tt.env))
			if err == nil {
				t.Fatalf("Parse(%q) error = nil; want a *config.Error", tt.args)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%q) error = %T %v; want a *config.Error", tt.args, err, err)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("Error() = %q; want one line", msg)
			}
			if len(msg) > 300 {
				t.Errorf("Error() is %d bytes long; want a short line", len(msg))
			}
			if tt.flag != "" && ce.Flag != tt.flag {
				t.Errorf("Flag = %q; want %q", ce.Flag, tt.flag)
			}
			if tt.flag != "" && !strings.HasPrefix(msg, tt.flag) {
				t.Errorf("Error() = %q; want it to start with the flag %q", msg, tt.flag)
			}
			if ce.Env != tt.from {
				t.Errorf("Env = %q; want %q", ce.Env, tt.from)
			}
			if tt.from != "" && !strings.Contains(msg, tt.from) {
				t.Errorf("Error() = %q; want it to name %s", msg, tt.from)
			}
			for _, s := range tt.says {
				if !strings.Contains(msg, s) {
					t.Errorf("Error() = %q; want it to contain %q", msg, s)
				}
			}
		})
	}
}
