package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"vitrine/config"
)

// backendsDefaults is what `vitrine backends` with no flag gives.
func backendsDefaults() config.Backends {
	return config.Backends{
		Addr: "localhost:9000",
		Tiles: []config.Tile{
			{Name: "banners", Latency: 40 * time.Millisecond},
			{Name: "products", Latency: 80 * time.Millisecond},
			{Name: "recommendations", Latency: 120 * time.Millisecond},
			{Name: "notice", Latency: 30 * time.Millisecond},
			{Name: "category", Latency: 60 * time.Millisecond},
		},
		Trace: "off",
	}
}

func TestParseBackends(t *testing.T) {
	with := func(f func(*config.Backends)) config.Backends {
		b := backendsDefaults()
		f(&b)
		return b
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want config.Backends
	}{
		{name: "defaults", want: backendsDefaults()},
		{name: "addr", args: []string{"-addr", ":0"},
			want: with(func(b *config.Backends) { b.Addr = ":0" })},
		{name: "addr with =", args: []string{"--addr=127.0.0.1:9100"},
			want: with(func(b *config.Backends) { b.Addr = "127.0.0.1:9100" })},
		{name: "latency keeps the others' defaults", args: []string{"-latency", "products=0s"},
			want: with(func(b *config.Backends) { set(b.Tiles, latencyOf, map[string]time.Duration{"products": 0}) })},
		{name: "latency with a tail", args: []string{"-latency", "recommendations=100ms/p99=1s, banners=5ms"},
			want: with(func(b *config.Backends) {
				set(b.Tiles, latencyOf, map[string]time.Duration{"recommendations": 100 * time.Millisecond, "banners": 5 * time.Millisecond})
				set(b.Tiles, tailOf, map[string]config.Tail{"recommendations": {Latency: time.Second, Rate: 0.01}})
			})},
		{name: "a later latency drops the tail", args: []string{"-latency", "products=1ms/p95=1s", "-latency", "products=2ms"},
			want: with(func(b *config.Backends) {
				set(b.Tiles, latencyOf, map[string]time.Duration{"products": 2 * time.Millisecond})
			})},
		{name: "latency of a tile beyond the built-in ones", args: []string{"-latency", "notice=0"},
			want: with(func(b *config.Backends) { set(b.Tiles, latencyOf, map[string]time.Duration{"notice": 0}) })},
		{name: "fail", args: []string{"-fail", "recommendations=1,products=0.25"},
			want: with(func(b *config.Backends) {
				set(b.Tiles, failOf, map[string]float64{"recommendations": 1, "products": 0.25})
			})},
		{name: "trace off", args: []string{"-trace", " off"}, want: backendsDefaults()},
		{name: "trace stdout", args: []string{"-trace", "stdout"}, want: with(func(b *config.Backends) { b.Trace = "stdout" })},
		{name: "trace otlp", args: []string{"-trace=otlp"}, want: with(func(b *config.Backends) { b.Trace = "otlp" })},
		{name: "every flag", args: []string{"-addr", "localhost:0", "-latency", "banners=1ms", "-fail", "banners=0.5", "-trace", "off"},
			want: with(func(b *config.Backends) {
				b.Addr = "localhost:0"
				b.Tiles[0].Latency, b.Tiles[0].Fail = time.Millisecond, 0.5
			})},
		{name: "the server's variables are not read",
			env:  map[string]string{"VITRINE_ADDR": ":1", "VITRINE_LATENCY": "banners=1s", "VITRINE_FAIL": "banners=1", "VITRINE_BACKENDS_ADDR": ":2"},
			want: backendsDefaults()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.ParseBackends(tt.args, env(tt.env))
			if err != nil {
				t.Fatalf("ParseBackends(%q) error = %v; want nil", tt.args, err)
			}
			checkBackends(t, got, tt.want)
		})
	}
}

func checkBackends(t *testing.T, got, want config.Backends) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseBackends =\n%+v\nwant\n%+v", got, want)
	}
}

// TestParseBackendsNilGetenv: a nil getenv is fine, since none is read.
func TestParseBackendsNilGetenv(t *testing.T) {
	got, err := config.ParseBackends([]string{"-addr", ":0"}, nil)
	if err != nil {
		t.Fatalf("ParseBackends with nil getenv error = %v; want nil", err)
	}
	want := backendsDefaults()
	want.Addr = ":0"
	checkBackends(t, got, want)
}

// TestParseBackendsErrors: a bad command line is a one-line *config.Error
// naming the flag and the bad part, as for the server's flags.
func TestParseBackendsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		flag string
		says []string
	}{
		{"unknown tile", []string{"-latency", "weather=1ms"}, "-latency", []string{`unknown tile "weather"`, "banners, products, recommendations"}},
		{"bad duration", []string{"-latency", "products=fast"}, "-latency", []string{"products", `"fast" is not a duration`}},
		{"duration without unit", []string{"-latency", "products=40"}, "-latency", []string{`"40" has no unit`}},
		{"bad tail", []string{"-latency", "products=40ms/p100=1s"}, "-latency", []string{"p100"}},
		{"probability above 1", []string{"-fail", "banners=1.5"}, "-fail", []string{"banners", "1.5 is outside [0, 1]"}},
		{"not a pair", []string{"-fail", "banners"}, "-fail", []string{`"banners" is not a name=value pair`}},
		{"tile given twice", []string{"-fail", "banners=0,banners=1"}, "-fail", []string{`tile "banners" is given twice`}},
		{"addr without port", []string{"-addr", "nohost"}, "-addr", []string{`"nohost" is not host:port`}},
		{"addr port out of range", []string{"-addr", ":70000"}, "-addr", []string{`port must be 0 to 65535; got "70000"`}},
		{"trace unknown mode", []string{"-trace", "jaeger"}, "-trace", []string{`"jaeger" is not a tracing mode`, "off, stdout, otlp"}},
		{"trace empty", []string{"-trace="}, "-trace", []string{`""`, "off, stdout, otlp"}},
		{"a server flag", []string{"-cache=false"}, "-cache", []string{"unknown flag"}},
		{"flag without value", []string{"-latency"}, "-latency", []string{"needs a value"}},
		{"stray argument", []string{"-addr", ":0", "serve"}, "arguments", []string{`"serve"`, "vitrine backends takes only flags"}},
		{"newline in value", []string{"-trace", "off\nstdout"}, "-trace", []string{`\n`}},
		{"newline in stray argument", []string{"a\nb"}, "arguments", []string{`"a\nb"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.ParseBackends(tt.args, nil)
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("ParseBackends(%q) error = %T %v; want a *config.Error", tt.args, err, err)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") || len(msg) > 300 {
				t.Errorf("Error() = %q; want one short line", msg)
			}
			if ce.Flag != tt.flag || !strings.HasPrefix(msg, tt.flag+": ") {
				t.Errorf("Error() = %q (Flag %q); want it to start with %q", msg, ce.Flag, tt.flag+": ")
			}
			if ce.Env != "" {
				t.Errorf("Env = %q; want none: no variable is read", ce.Env)
			}
			for _, s := range tt.says {
				if !strings.Contains(msg, s) {
					t.Errorf("Error() = %q; want it to contain %q", msg, s)
				}
			}
		})
	}
}

func TestParseBackendsHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			_, err := config.ParseBackends([]string{"-addr", ":0", arg}, nil)
			if !errors.Is(err, config.ErrHelp) {
				t.Errorf("ParseBackends(%q) error = %v; want config.ErrHelp", arg, err)
			}
		})
	}
}

// TestBackendsUsage: -h shows every flag with its default, the routes, and
// that no variable is read.
func TestBackendsUsage(t *testing.T) {
	var b strings.Builder
	config.BackendsUsage(&b)
	out := b.String()
	for _, want := range []string{
		"Usage: vitrine backends [flags]",
		"/banners", "/products", "/recommendations?user=NAME", "/healthz", "/stats",
		"no VITRINE_* environment variables",
		"-addr address", "(default localhost:9000)",
		"-latency name=duration", "(default banners=40ms,category=60ms,notice=30ms,products=80ms,recommendations=120ms)", "/notice",
		"/category/SLUG", "404 for an unknown slug",
		"-fail name=p",
		"-trace off|stdout|otlp", "(default off)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("BackendsUsage lacks %q:\n%s", want, out)
		}
	}
}
