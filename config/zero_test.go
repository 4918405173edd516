package config_test

import (
	"strings"
	"testing"

	"vitrine/config"
)

// TestParseZero: every numeric setting given as zero either means what
// docs/configuration.md says (none, off, no wait) or is refused, naming
// where it was given; none silently means a default.
func TestParseZero(t *testing.T) {
	const banners = "tiles:\n  - name: banners\n    "
	tests := []struct {
		name, file string // file: a -config file's text, FILE its path in says
		args       []string
		says       string                   // the error; "" for none
		check      func(config.Config) bool // what zero means, when it is no error
	}{
		{name: "bulkhead", file: banners + "bulkhead: 0\n",
			says: "FILE:3:15: tiles[0].bulkhead: 0 would refuse every request; give at least 1"},
		{name: "bulkhead unset: resilience's default", file: banners + "ttl: 1s\n",
			check: func(c config.Config) bool { return c.Tiles[0].Bulkhead == 0 }},
		{name: "bulkhead 1", file: banners + "bulkhead: 1\n",
			check: func(c config.Config) bool { return c.Tiles[0].Bulkhead == 1 }},
		{name: "breaker: none", file: banners + "breaker: 0\n",
			check: func(c config.Config) bool { return c.Tiles[0].Breaker == 0 }},
		{name: "-breaker: none", args: []string{"-breaker", "banners=0"},
			check: func(c config.Config) bool { return c.Tiles[0].Breaker == 0 && c.Tiles[1].Breaker == 5 }},
		{name: "ttl: no cache", file: banners + "ttl: 0s\n",
			check: func(c config.Config) bool { return c.Tiles[0].TTL == 0 && c.Tiles[0].PinnedTTL }},
		{name: "max-stale: none", args: []string{"-max-stale", "banners=0s"},
			check: func(c config.Config) bool { return c.Tiles[0].MaxStale == 0 }},
		{name: "latency: none", args: []string{"-latency", "banners=0s"},
			check: func(c config.Config) bool { return c.Tiles[0].Latency == 0 }},
		{name: "fail: never", file: banners + "fail: 0\n",
			check: func(c config.Config) bool { return c.Tiles[0].Fail == 0 }},
		{name: "page-timeout: none", args: []string{"-page-timeout", "0s"},
			check: func(c config.Config) bool { return c.PageTimeout == 0 }},
		{name: "test-delay: no wait", args: []string{"-test-delay", "0s"},
			check: func(c config.Config) bool { return c.TestDelay == 0 }},
		{name: "trace-sample: keep none", args: []string{"-trace-sample", "0"},
			check: func(c config.Config) bool { return c.TraceSample != nil && *c.TraceSample == 0 }},
		{name: "timeout", file: banners + "timeout: 0s\n", says: `FILE:3:14: tiles[0].timeout: "0s" must be more than zero`},
		{name: "max-ttl", file: banners + "max-ttl: 0s\n", says: `FILE:3:14: tiles[0].max-ttl: "0s" must be more than zero`},
		{name: "file max-ttl", file: "max-ttl: 0s\n" + banners + "ttl: 1s\n",
			says: `FILE:1:10: max-ttl: "0s" must be more than zero`},
		{name: "hedge", args: []string{"-hedge", "banners=0s"}, says: "-hedge: banners: \"0s\" is a zero delay"},
		{name: "max-body", file: "tiles:\n  - name: w\n    url: http://x/\n    max-body: 0\n",
			says: `FILE:4:15: tiles[0].max-body: "0" is not a size from 1 byte`},
		{name: "max-values", file: banners + "forward:\n      max-values: 0\n",
			says: `FILE:4:19: tiles[0].forward.max-values: "0" is not a whole number > 0`},
		{name: "tile-timeout", args: []string{"-tile-timeout", "0s"}, says: `-tile-timeout: "0s" must be more than zero`},
		{name: "shutdown-timeout", args: []string{"-shutdown-timeout", "0s"},
			says: `-shutdown-timeout: "0s" must be more than zero`},
		{name: "redis-timeout", args: []string{"-redis-timeout", "0s"}, says: `-redis-timeout: "0s" must be more than zero`},
		{name: "cache-size", args: []string{"-cache-size", "0"}, says: `-cache-size: "0" must be more than zero`},
		{name: "cache-bytes", args: []string{"-cache-bytes", "0"}, says: `-cache-bytes: "0" is not a size from 1 byte`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, path := tt.args, ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
				args = append([]string{"-config", path}, args...)
			}
			cfg, err := config.Parse(args, env(nil))
			switch want := strings.ReplaceAll(tt.says, "FILE", path); {
			case want == "" && err != nil:
				t.Fatalf("Parse(%q) error = %v; want nil", args, err)
			case want == "" && !tt.check(cfg):
				t.Errorf("Parse(%q): zero does not mean what the docs say: %+v", args, cfg.Tiles[0])
			case want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)):
				t.Errorf("Parse(%q) error = %v;\nwant %s", args, err, want)
			}
		})
	}
}

// TestParseCheckFromEnv: -check is a command-line flag only. VITRINE_CHECK,
// whatever its value, is refused, so that no environment turns the server
// into a validator that exits 0; the file has no check key.
func TestParseCheckFromEnv(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  string
	}{
		{"true", nil, "true"},
		{"1", nil, "1"},
		{"false", nil, "false"},
		{"with -check too", []string{"-check"}, "1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.args, env(map[string]string{"VITRINE_CHECK": tt.env}))
			want := "-check (from VITRINE_CHECK): is a command-line flag only; unset VITRINE_CHECK"
			if err == nil || err.Error() != want {
				t.Errorf("Parse(%q) with VITRINE_CHECK=%s: error = %v; want %s", tt.args, tt.env, err, want)
			}
		})
	}
	path := writeConfig(t, "check: true\ntiles: [{name: banners}]\n")
	if _, err := config.Parse([]string{"-config", path}, env(nil)); err == nil ||
		!strings.Contains(err.Error(), "check: unknown key") {
		t.Errorf("a file with check: error = %v; want unknown key", err)
	}
}
