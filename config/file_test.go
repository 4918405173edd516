package config_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"vitrine/config"
)

// writeConfig writes a config file holding text and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vitrine.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// everyKey is a file that gives every key, top-level and per tile.
const everyKey = `
addr: 127.0.0.1:0
admin-addr: 127.0.0.1:9999
tile-timeout: 300ms
page-timeout: 2s
shutdown-timeout: 1s
test-delay: 10ms
cache: false
fallback: false
cache-size: 50
cache-bytes: 16MiB
key-secret: a file's secret of 32 bytes.....
max-ttl: 1h
max-header-bytes: 128KiB
redis:
  nodes: [10.0.0.1:26379, "sentinel-2:26379"]
  master: shop
  prefix: "shop:"
  timeout: 50ms
identity:
  source: jwt
  jwks: http://localhost:9000/.well-known/jwks.json
  issuer: https://login.example
  audience: vitrine
  claim: uid
  token-cookie: session
  cookie: sid
  keys: [0123456789abcdef0123456789abcdef]
  header: X-User-Id
  trusted: [10.1.2.3/8, "::1"]
tiles:
  - name: products
    url: https://shop.example/api/products?x=1
    timeout: 1s
    ttl: 10s
    max-stale: 1m
    max-ttl: 30s
    hedge: 150ms
    breaker: 3
    bulkhead: 8
    primary: true
    max-body: 2MiB
    max-header-bytes: 32768
    label: catalogue-api
  - name: banners
    latency: 5ms/p99=50ms
    fail: 0.25
    hedge: "off"
    personalised: false
    fallback: [{title: Sale, url: /sale}]
    tags: [winter-sale, "homepage"]
  - name: weather
    url: http://localhost:9100/weather
    personalised: true
    set-cookie: true
    view: html
    max-body: 4096
`

// everyKeyConfig is the Config of everyKey.
func everyKeyConfig(path string) config.Config {
	ms := time.Millisecond
	return config.Config{
		File: path,
		Tiles: []config.Tile{
			{Name: "products", URL: "https://shop.example/api/products?x=1", Latency: 80 * ms, Timeout: time.Second,
				Primary: true, View: "products", MaxBody: 2 << 20, TTL: 10 * time.Second, PinnedTTL: true,
				MaxStale: time.Minute, MaxTTL: 30 * time.Second, Hedge: config.Hedge{Delay: 150 * ms}, Breaker: 3,
				Bulkhead: 8, MaxHeaderBytes: 32 << 10, Label: "catalogue-api"},
			{Name: "banners", Latency: 5 * ms, Tail: config.Tail{Latency: 50 * ms, Rate: 0.01}, Fail: 0.25,
				View: "banners", Fallback: []byte(`[{"title":"Sale","url":"/sale"}]`), TTL: 30 * time.Second,
				MaxStale: 10 * time.Minute, Breaker: 5, Tags: []string{"winter-sale", "homepage"}},
			{Name: "weather", URL: "http://localhost:9100/weather", Latency: config.DefaultHTTPLatency,
				Personalised: true, SetCookie: true, View: "html", MaxBody: 4096, TTL: time.Minute, MaxStale: 10 * time.Minute,
				Hedge: config.Hedge{Adaptive: true}, Breaker: 5},
		},
		Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:9999",
		TileTimeout: 300 * ms, PageTimeout: 2 * time.Second, TestDelay: 10 * ms, ShutdownTimeout: time.Second,
		CacheSize: 50, CacheBytes: 16 << 20, MaxTTL: time.Hour, KeySecret: "a file's secret of 32 bytes.....",
		MaxHeaderBytes: 128 << 10,
		Redis: config.Redis{Addrs: []string{"10.0.0.1:26379", "sentinel-2:26379"}, MasterName: "shop",
			Prefix: "shop:", Timeout: 50 * ms},
		Trace: "off",
		Identity: config.Identity{Source: "jwt", JWKS: "http://localhost:9000/.well-known/jwks.json",
			Issuer: "https://login.example", Audience: "vitrine", Claim: "uid", TokenCookie: "session", Cookie: "sid",
			Keys: []string{"0123456789abcdef0123456789abcdef"}, Header: "X-User-Id",
			Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
	}
}

// tile is c's tile called name, or the zero Tile.
func tile(c config.Config, name string) config.Tile {
	for _, t := range c.Tiles {
		if t.Name == name {
			return t
		}
	}
	return config.Tile{}
}

// TestParseFile: a file's values land in the Config, over the defaults,
// its tiles replacing the built-in ones.
func TestParseFile(t *testing.T) {
	path := writeConfig(t, everyKey)
	for _, args := range [][]string{{"-config", path}, {"--config=" + path}, {"-config=" + path}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			got, err := config.Parse(args, env(nil))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v; want nil", args, err)
			}
			checkConfig(t, got, everyKeyConfig(path))
		})
	}
	t.Run("VITRINE_CONFIG", func(t *testing.T) {
		got, err := config.Parse(nil, env(map[string]string{"VITRINE_CONFIG": path}))
		if err != nil {
			t.Fatalf("Parse error = %v; want nil", err)
		}
		checkConfig(t, got, everyKeyConfig(path))
	})
}

// TestParseFileDefaults: what a file leaves out keeps its default.
func TestParseFileDefaults(t *testing.T) {
	tests := []struct {
		name, file string
		check      func(t *testing.T, c config.Config)
	}{
		{name: "only the tiles: page-wide defaults", file: "tiles: [{name: banners}]",
			check: func(t *testing.T, c config.Config) {
				want := defaults()
				if c.Addr != want.Addr || c.TileTimeout != want.TileTimeout || c.CacheSize != want.CacheSize || !c.Cache {
					t.Errorf("Addr, TileTimeout, CacheSize, Cache = %q, %v, %d, %t; want the defaults", c.Addr, c.TileTimeout, c.CacheSize, c.Cache)
				}
				if got := c.Tiles; !reflect.DeepEqual(got, want.Tiles[:1]) {
					t.Errorf("Tiles = %+v; want banners alone, simulated", got)
				}
			}},
		{name: "a built-in keeps its view and personalisation", file: "tiles: [{name: recommendations, url: 'http://r:1/r'}]",
			check: func(t *testing.T, c config.Config) {
				if got := c.Tiles[0]; got.View != "recommendations" || !got.Personalised {
					t.Errorf("Tiles[0] = %+v; want view recommendations, personalised", got)
				}
				if got, want := c.Tiles[0].TTL, time.Minute; got != want || c.Tiles[0].PinnedTTL {
					t.Errorf("TTL = %v, pinned %t; want %v, not pinned", got, c.Tiles[0].PinnedTTL, want)
				}
			}},
		{name: "another tile: generic view, 100ms, not personalised", file: "tiles: [{name: weather, url: 'http://w:1/'}]",
			check: func(t *testing.T, c config.Config) {
				if got := c.Tiles[0]; got.View != "json" || got.Personalised {
					t.Errorf("Tiles[0] = %+v; want view json, not personalised", got)
				}
				w := c.Tiles[0]
				if got, want := w.Latency, 100*time.Millisecond; got != want {
					t.Errorf("Latency = %v; want %v", got, want)
				}
				if w.TTL != 30*time.Second || w.MaxStale != 10*time.Minute ||
					w.Hedge != (config.Hedge{Adaptive: true}) || w.Breaker != 5 {
					t.Errorf("TTL, MaxStale, Hedge, Breaker = %v, %v, %v, %d; want resilience's defaults",
						w.TTL, w.MaxStale, w.Hedge, w.Breaker)
				}
			}},
		{name: "defaults follow the settings given, in any order",
			file: "tiles: [{name: w, url: 'http://w:1/', ttl: 5s, personalised: true}, {name: v, url: 'http://v:1/', personalised: true}]",
			check: func(t *testing.T, c config.Config) {
				if w, v := c.Tiles[0], c.Tiles[1]; w.TTL != 5*time.Second || !w.PinnedTTL || v.TTL != time.Minute || v.PinnedTTL {
					t.Errorf("TTLs = %v (pinned %t), %v (pinned %t); want 5s given, 1m the personalised default",
						w.TTL, w.PinnedTTL, v.TTL, v.PinnedTTL)
				}
			}},
		{name: "page timeout covers the longest tile timeout", file: "tiles: [{name: banners, timeout: 2s}, {name: products}]",
			check: func(t *testing.T, c config.Config) {
				if got, want := c.PageTimeout, 4*time.Second; got != want {
					t.Errorf("PageTimeout = %v; want %v", got, want)
				}
			}},
		{name: "page timeout given is kept", file: "page-timeout: 0s\ntiles: [{name: banners, timeout: 2s}]",
			check: func(t *testing.T, c config.Config) {
				if c.PageTimeout != 0 {
					t.Errorf("PageTimeout = %v; want 0", c.PageTimeout)
				}
			}},
		{name: "merge keys", file: "tiles:\n  - &b {name: banners, ttl: 7s}\n  - <<: *b\n    name: products\n",
			check: func(t *testing.T, c config.Config) {
				if got := tile(c, "products").TTL; got != 7*time.Second || len(c.Tiles) != 2 {
					t.Errorf("TTL[products] = %v, %d tiles; want 7s, 2", got, len(c.Tiles))
				}
			}},
		{name: "no fallback given is nil", file: "tiles: [{name: banners}]",
			check: func(t *testing.T, c config.Config) {
				if c.Tiles[0].Fallback != nil {
					t.Errorf("Fallback = %s; want nil", c.Tiles[0].Fallback)
				}
			}},
		{name: "fallback scalar", file: "tiles: [{name: banners, fallback: closed today}]",
			check: func(t *testing.T, c config.Config) {
				if got, want := string(c.Tiles[0].Fallback), `"closed today"`; got != want {
					t.Errorf("Fallback = %s; want %s", got, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file)
			got, err := config.Parse([]string{"-config", path}, env(nil))
			if err != nil {
				t.Fatalf("Parse error = %v; want nil", err)
			}
			tt.check(t, got)
		})
	}
}

// TestParseFilePrecedence: flags override the environment, which
// overrides the file, a list tile by tile; the file's tiles are the ones
// the lists accept.
func TestParseFilePrecedence(t *testing.T) {
	const file = `
addr: ":1"
tile-timeout: 1s
tiles:
  - name: banners
    url: http://file/banners
    ttl: 10s
  - name: weather
    url: http://file/weather
    ttl: 20s
`
	tests := []struct {
		name  string
		args  []string
		last  bool // -config FILE after args, not before
		env   map[string]string
		check func(t *testing.T, c config.Config)
	}{
		{name: "flag over file", args: []string{"-addr", ":2"},
			check: func(t *testing.T, c config.Config) { wantAddr(t, c, ":2") }},
		{name: "flag before -config", args: []string{"-cache", "-addr", ":2"},
			check: func(t *testing.T, c config.Config) { wantAddr(t, c, ":2") }},
		{name: "env over file", env: map[string]string{"VITRINE_ADDR": ":3"},
			check: func(t *testing.T, c config.Config) { wantAddr(t, c, ":3") }},
		{name: "flag over env over file", args: []string{"-addr", ":2"}, env: map[string]string{"VITRINE_ADDR": ":3"},
			check: func(t *testing.T, c config.Config) { wantAddr(t, c, ":2") }},
		{name: "page timeout from the tile timeout of the env", env: map[string]string{"VITRINE_TILE_TIMEOUT": "3s"},
			check: func(t *testing.T, c config.Config) {
				if got, want := c.PageTimeout, 6*time.Second; got != want {
					t.Errorf("PageTimeout = %v; want %v", got, want)
				}
			}},
		{name: "lists tile by tile", args: []string{"-ttl", "banners=1s"},
			env: map[string]string{"VITRINE_TTL": "banners=2s,weather=3s"},
			check: func(t *testing.T, c config.Config) {
				if b, w := tile(c, "banners").TTL, tile(c, "weather").TTL; b != time.Second || w != 3*time.Second {
					t.Errorf("TTLs = %v, %v; want banners from the flag (1s), weather from the env (3s)", b, w)
				}
			}},
		{name: "backend over url", args: []string{"-backend", "weather=http://flag/weather"},
			env: map[string]string{"VITRINE_BACKEND": "weather=http://env/weather,banners=http://env/banners"},
			check: func(t *testing.T, c config.Config) {
				if got := [2]string{c.Tiles[0].URL, c.Tiles[1].URL}; got != [2]string{"http://env/banners", "http://flag/weather"} {
					t.Errorf("URLs = %q; want banners from the env, weather from the flag", got)
				}
			}},
		{name: "flags with values before -config", args: []string{"-addr", ":2", "-cache", "-ttl", "weather=1s"}, last: true,
			check: func(t *testing.T, c config.Config) {
				wantAddr(t, c, ":2")
				if len(c.Tiles) != 2 || tile(c, "weather").TTL != time.Second {
					t.Errorf("%d tiles, weather's TTL %v; want the file's 2, 1s", len(c.Tiles), tile(c, "weather").TTL)
				}
			}},
		{name: "the last -config wins", args: []string{"-config", "missing.yaml"}, last: true,
			check: func(t *testing.T, c config.Config) { wantAddr(t, c, ":1") }},
		{name: "the command line's -config wins over VITRINE_CONFIG", env: map[string]string{"VITRINE_CONFIG": "missing.yaml"},
			check: func(t *testing.T, c config.Config) { wantAddr(t, c, ":1") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, file)
			args := append([]string{"-config", path}, tt.args...)
			if tt.last {
				args = append(tt.args, "-config", path)
			}
			got, err := config.Parse(args, env(tt.env))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v; want nil", args, err)
			}
			tt.check(t, got)
		})
	}
}

func wantAddr(t *testing.T, c config.Config, want string) {
	t.Helper()
	if c.Addr != want {
		t.Errorf("Addr = %q; want %q", c.Addr, want)
	}
}

// TestParseFileErrors: a bad file stops Parse with one line that places
// the problem: FILE:LINE:COL, then what is wrong.
func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string // after -config FILE
		want       string   // FILE stands for the file's path
	}{
		{name: "unknown tile key", file: "tiles:\n  - name: banners\n    ttls: 3s\n",
			want: `FILE:3:5: tiles[0].ttls: unknown key (a tile's keys: name, url, latency, fail, timeout, ttl, max-stale, max-ttl, hedge, breaker, bulkhead, personalised, primary, set-cookie, fallback, view, max-body, max-header-bytes, label, tags, forward)`},
		{name: "unknown top-level key", file: "tile-timeuot: 1s\ntiles: [{name: banners}]\n",
			want: `FILE:1:1: tile-timeuot: unknown key (the file's keys: addr, admin-addr, tile-timeout, page-timeout, shutdown-timeout, test-delay, cache, fallback, cache-size, key-secret, cache-bytes, trace-sample, max-ttl, max-header-bytes, redis, identity, tiles, pages)`},
		{name: "bad duration", file: "tiles:\n  - name: banners\n  - name: products\n    ttl: 3x\n",
			want: `FILE:4:10: tiles[1].ttl: "3x" is not a duration (e.g. 40ms, 1.5s)`},
		{name: "duration without unit", file: "tile-timeout: 300\ntiles: [{name: banners}]\n",
			want: `FILE:1:15: tile-timeout: "300" has no unit; write e.g. 300ms or 300s`},
		{name: "bad probability", file: "tiles:\n  - name: banners\n    fail: 1.5\n",
			want: `FILE:3:11: tiles[0].fail: 1.5 is outside [0, 1]`},
		{name: "bad tail", file: "tiles:\n  - name: banners\n    latency: 5ms/q\n",
			want: `FILE:3:14: tiles[0].latency: tail "q" is not pNN=duration (e.g. p99=1s)`},
		{name: "duplicate tile", file: "tiles:\n  - name: banners\n  - name: banners\n",
			want: `FILE:3:11: tiles[1].name: "banners" names an earlier tile too; names are unique`},
		{name: "duplicate key", file: "tiles:\n  - name: banners\n    ttl: 1s\n    ttl: 2s\n",
			want: `FILE:4:5: mapping key "ttl" already defined at [3:5]`},
		{name: "url not http", file: "tiles:\n  - name: banners\n    url: ftp://x/y\n",
			want: `FILE:3:10: tiles[0].url: "ftp://x/y" must be an absolute http or https URL; got scheme "ftp"`},
		{name: "url without host", file: "tiles:\n  - name: banners\n    url: 'http:///y'\n",
			want: `FILE:3:10: tiles[0].url: "http:///y" has no host`},
		{name: "url with a port out of range", file: "tiles:\n  - name: banners\n    url: http://x:99999/y\n",
			want: `FILE:3:10: tiles[0].url: "http://x:99999/y" port must be 1 to 65535; got "99999"`},
		{name: "url with a fragment", file: "tiles:\n  - name: banners\n    url: http://x/y#z\n",
			want: `FILE:3:10: tiles[0].url: "http://x/y#z" must not have a fragment (#...)`},
		{name: "url with credentials", file: "tiles:\n  - name: banners\n    url: http://me:secret@x/y\n",
			want: `FILE:3:10: tiles[0].url: "http://me:xxxxx@x/y" must not carry a user or password`},
		{name: "tile not built in without url", file: "tiles:\n  - name: banners\n  - name: weather\n",
			want: `FILE:3:5: tiles[1]: "weather" is not a built-in tile (banners, products, recommendations), so it needs the url of its backend`},
		{name: "two primary tiles", file: "tiles:\n  - name: banners\n    primary: true\n  - name: products\n    primary: true\n",
			want: `FILE:5:14: tiles[1].primary: tiles[0] (banners) is already the primary tile; at most one tile may be`},
		{name: "unknown view", file: "tiles:\n  - name: banners\n    view: fancy\n",
			want: `FILE:3:11: tiles[0].view: "fancy" is not a view (one of banners, products, recommendations, json, html, links)`},
		{name: "empty label", file: "tiles:\n  - name: banners\n    label: ' '\n",
			want: `FILE:3:12: tiles[0].label: "" is not a label (1 to 64 printable characters, e.g. catalogue-api)`},
		{name: "label with a control character", file: "tiles:\n  - name: banners\n    label: \"a\\tb\"\n",
			want: `FILE:3:12: tiles[0].label: "a\tb" is not a label (1 to 64 printable characters, e.g. catalogue-api)`},
		{name: "label simulator", file: "tiles:\n  - name: banners\n    label: simulator\n",
			want: `FILE:3:12: tiles[0].label: "simulator" names the built-in simulator, not an HTTP backend; choose another`},
		{name: "html without url", file: "tiles:\n  - name: banners\n    view: html\n",
			want: `FILE:3:11: tiles[0].view: html is a fragment from an HTTP backend, but this tile has no url`},
		{name: "latency with url", file: "tiles:\n  - name: banners\n    url: http://x/b\n    latency: 1s\n",
			want: `FILE:4:14: tiles[0].latency: simulates a built-in tile's backend, but this tile has a url`},
		{name: "fail with url", file: "tiles:\n  - name: banners\n    fail: 0.5\n    url: http://x/b\n",
			want: `FILE:3:11: tiles[0].fail: simulates a built-in tile's backend, but this tile has a url`},
		{name: "empty tiles", file: "addr: ':1'\ntiles: []\n",
			want: `FILE:2:8: tiles: the file lists no tiles; list the page's tiles, in page order, under tiles:`},
		{name: "no tiles", file: "addr: ':1'\n",
			want: `FILE:1:1: tiles: the file lists no tiles; list the page's tiles, in page order, under tiles:`},
		{name: "empty file", file: "# nothing\n",
			want: `FILE: the file is empty; list the page's tiles under tiles:`},
		{name: "syntax error", file: "tiles:\n  - name: [banners\n",
			want: `FILE:2:11: sequence end token ']' not found`},
		{name: "tab indentation", file: "tiles:\n\t- name: banners\n",
			want: `FILE:2:1: found character '\t' that cannot start any token`},
		{name: "tiles not a list", file: "tiles: banners\n",
			want: `FILE:1:8: string was used where sequence is expected`},
		{name: "a list for a duration", file: "tiles:\n  - name: banners\n    ttl: [1s]\n",
			want: `FILE:3:10: tiles[0].ttl: wants a single value, not a sequence`},
		{name: "no name", file: "tiles:\n  - ttl: 1s\n",
			want: `FILE:2:5: tiles[0]: no name; every tile needs one`},
		{name: "bad name", file: "tiles:\n  - name: Banners!\n",
			want: `FILE:2:11: tiles[0].name: "Banners!" is not a tile name (1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit)`},
		{name: "zero timeout", file: "tiles:\n  - name: banners\n    timeout: 0s\n",
			want: `FILE:3:14: tiles[0].timeout: "0s" must be more than zero`},
		{name: "max-body too big", file: "tiles:\n  - name: w\n    url: http://x/\n    max-body: 2048MiB\n",
			want: `FILE:4:15: tiles[0].max-body: "2048MiB" is not a size from 1 byte to 1024MiB (bytes, or e.g. 512KiB, 2MiB)`},
		{name: "max-header-bytes zero", file: "tiles:\n  - name: w\n    max-header-bytes: 0\n",
			want: `FILE:3:23: tiles[0].max-header-bytes: "0" is not a size from 1 byte to 1024MiB (bytes, or e.g. 512KiB, 2MiB)`},
		{name: "tags not a sequence", file: "tiles:\n  - name: banners\n    tags: sale\n",
			want: `FILE:3:11: tiles[0].tags: wants a sequence of tags, as in [winter-sale, homepage], not a string`},
		{name: "no tags", file: "tiles:\n  - name: banners\n    tags: []\n",
			want: `FILE:3:11: tiles[0].tags: lists 0 tags; list 1 to 32`},
		{name: "a tag with a space", file: "tiles:\n  - name: banners\n    tags: [ok, \"winter sale\"]\n",
			want: `FILE:3:11: tiles[0].tags: [1]: "winter sale" is not a tag (1 to 128 bytes of visible ASCII, no space or comma)`},
		{name: "a tag twice", file: "tiles:\n  - name: banners\n    tags: [a, b, a]\n",
			want: `FILE:3:11: tiles[0].tags: [2]: "a" is listed twice`},
		{name: "bad top-level max-header-bytes", file: "max-header-bytes: 64KB\ntiles: [{name: banners}]\n",
			want: `FILE:1:19: max-header-bytes: "64KB" is not a size from 1 byte to 1024MiB (bytes, or e.g. 512KiB, 2MiB)`},
		{name: "bad cache-bytes", file: "cache-bytes: 32MB\ntiles: [{name: banners}]\n",
			want: `FILE:1:14: cache-bytes: "32MB" is not a size from 1 byte to 1048576MiB (bytes, or e.g. 512KiB, 2MiB)`},
		{name: "bad bool", file: "cache: maybe\ntiles: [{name: banners}]\n",
			want: `FILE:1:8: cache: "maybe" is not true or false`},
		{name: "bad address", file: "addr: nope\ntiles: [{name: banners}]\n",
			want: `FILE:1:7: addr: "nope" is not host:port (e.g. localhost:8080 or :8080)`},
		{name: "a tag", file: "tiles: !00000 00000\n",
			want: `FILE:1:8: the YAML tag !00000: a config file has no tags`},
		{name: "an alias bomb", file: aliasBomb(),
			want: `FILE:9:52: the file expands to more than 100000 values (a YAML alias bomb?)`},
		{name: "two documents", file: "tiles: [{name: banners}]\n---\ntiles: [{name: products}]\n",
			want: `FILE:2:1: a second YAML document: the file holds one`},
		{name: "admin port on the file's address", file: "addr: ':8080'\nadmin-addr: ':8080'\ntiles: [{name: banners}]\n",
			want: `-admin-addr: ":8080" would listen where -addr ":8080" does; the admin port must be another one`},
		{name: "a list flag naming a tile the file lacks", file: "tiles: [{name: banners}]\n",
			args: []string{"-ttl", "weather=1s"},
			want: `-ttl: unknown tile "weather" in "weather=1s" (known: banners)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file)
			args := append([]string{"-config", path}, tt.args...)
			_, err := config.Parse(args, env(nil))
			checkFileError(t, err, path, tt.want)
		})
	}
}

// aliasBomb is a tile whose fallback names nine anchors of ten aliases each:
// a billion values once expanded.
func aliasBomb() string {
	s := "tiles:\n  - name: notice\n    url: http://x/n\n    fallback:\n      a0: &a0 [" +
		strings.Repeat("lol,", 9) + "lol]\n"
	for i := 1; i < 10; i++ {
		s += fmt.Sprintf("      a%d: &a%d [%s*a%d]\n", i, i, strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), i-1)
	}
	return s
}

// TestParseFileUnreadable: a file that cannot be read names -config and
// where its name came from.
func TestParseFileUnreadable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	big := writeConfig(t, "tiles: [{name: banners}]\n"+strings.Repeat("#", 1<<20))
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "missing", args: []string{"-config", missing},
			want: "-config: open " + missing + ": no such file or directory"},
		{name: "missing from VITRINE_CONFIG", env: map[string]string{"VITRINE_CONFIG": missing},
			want: "-config (from VITRINE_CONFIG): open " + missing + ": no such file or directory"},
		{name: "a directory", args: []string{"-config", dir},
			want: "-config: read " + dir + ": is a directory"},
		{name: "too big", args: []string{"-config", big},
			want: "-config: " + big + " is over 1024 KiB: not a config file"},
		{name: "no value", args: []string{"-config"}, want: "-config: needs a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(tt.args, env(tt.env))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse(%q) error = %v; want %s", tt.args, err, tt.want)
			}
		})
	}
}

// TestParseHelpWithConfig: -h asks for help, whatever the file.
func TestParseHelpWithConfig(t *testing.T) {
	bad := writeConfig(t, "nope: 1\n")
	for _, args := range [][]string{{"-h", "-config", bad}, {"-h"}} {
		_, err := config.Parse(args, env(map[string]string{"VITRINE_CONFIG": bad}))
		if !errors.Is(err, config.ErrHelp) {
			t.Errorf("Parse(%q) error = %v; want ErrHelp", args, err)
		}
	}
}

// TestParseCheck: -check, with a file or without, only sets Check.
func TestParseCheck(t *testing.T) {
	path := writeConfig(t, "tiles: [{name: banners}]\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{name: "unset", want: false},
		{name: "flag", args: []string{"-check"}, want: true},
		{name: "with a file", args: []string{"-config", path, "-check"}, want: true},
		{name: "before the file", args: []string{"-check", "-config", path}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse(tt.args, env(tt.env))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v; want nil", tt.args, err)
			}
			if got.Check != tt.want {
				t.Errorf("Check = %t; want %t", got.Check, tt.want)
			}
		})
	}
}

// checkFileError fails unless err is a *config.Error saying want, with
// FILE in want standing for the file's path.
func checkFileError(t *testing.T, err error, path, want string) {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse error = %T %v; want a *config.Error", err, err)
	}
	if got, want := err.Error(), strings.ReplaceAll(want, "FILE", path); got != want {
		t.Errorf("Error() = %q;\nwant      %q", got, want)
	}
}
