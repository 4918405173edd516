package config_test

import (
	"maps"
	"testing"
	"time"

	"vitrine/config"
)

// urls returns the tiles' URLs by name.
func urls(c config.Config) map[string]string {
	m := map[string]string{}
	for _, t := range c.Tiles {
		m[t.Name] = t.URL
	}
	return m
}

// TestParseBackend: -backend and VITRINE_BACKEND point built-in tiles at
// HTTP services, the command line winning tile by tile.
func TestParseBackend(t *testing.T) {
	const u = "http://127.0.0.1:9000"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want map[string]string
	}{
		{name: "none", want: map[string]string{"banners": "", "products": "", "recommendations": ""}},
		{name: "the shared bench's command line",
			args: []string{"-addr", "127.0.0.1:0", "-backend", "banners=" + u + "/banners,products=" + u + "/products,recommendations=" + u + "/recommendations"},
			want: map[string]string{"banners": u + "/banners", "products": u + "/products", "recommendations": u + "/recommendations"}},
		{name: "one tile, https, with a query", args: []string{"-backend", "products=https://shop.example/p?x=1"},
			want: map[string]string{"banners": "", "products": "https://shop.example/p?x=1", "recommendations": ""}},
		{name: "repeated merges", args: []string{"-backend", "banners=http://a/b", "-backend", "products=http://a/p"},
			want: map[string]string{"banners": "http://a/b", "products": "http://a/p", "recommendations": ""}},
		{name: "VITRINE_BACKEND", env: map[string]string{"VITRINE_BACKEND": "recommendations=http://e/r"},
			want: map[string]string{"banners": "", "products": "", "recommendations": "http://e/r"}},
		{name: "flag over VITRINE_BACKEND tile by tile", args: []string{"-backend", "banners=http://f/b"},
			env:  map[string]string{"VITRINE_BACKEND": "banners=http://e/b,products=http://e/p"},
			want: map[string]string{"banners": "http://f/b", "products": "http://e/p", "recommendations": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse(tt.args, env(tt.env))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v; want nil", tt.args, err)
			}
			if g := urls(got); !maps.Equal(g, tt.want) {
				t.Errorf("URLs = %v; want %v", g, tt.want)
			}
		})
	}
}

// TestParseBackendSimulatorSettings: a tile fetched over HTTP keeps its
// latency (its hedging bounds) and loses the simulator's failures and tail.
func TestParseBackendSimulatorSettings(t *testing.T) {
	got, err := config.Parse([]string{"-backend", "banners=http://a/b", "-fail", "banners=1,products=0.5",
		"-latency", "banners=7ms/p99=1s,products=9ms/p99=2s"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	banners, products := got.Tiles[0], got.Tiles[1]
	if banners.Latency != 7*time.Millisecond {
		t.Errorf("banners: Latency = %v; want 7ms", banners.Latency)
	}
	if banners.Fail != 0 || banners.Tail != (config.Tail{}) {
		t.Errorf("banners: Fail, Tail = %v, %v; want none", banners.Fail, banners.Tail)
	}
	if products.Fail != 0.5 || products.Tail.Latency != 2*time.Second {
		t.Errorf("products: Fail, Tail = %v, %v; want 0.5, 2s", products.Fail, products.Tail)
	}
}

// TestParseBackendErrors: a -backend for an unknown tile or with a URL
// that is not absolute http(s) stops Parse.
func TestParseBackendErrors(t *testing.T) {
	tests := []errorCase{
		{name: "unknown tile", args: []string{"-backend", "weather=http://w/"},
			says: []string{`unknown tile "weather"`, "known: banners, products, recommendations"}},
		{name: "not http", args: []string{"-backend", "banners=ftp://x/b"},
			says: []string{"banners", `"ftp://x/b" must be an absolute http or https URL; got scheme "ftp"`}},
		{name: "relative", args: []string{"-backend", "banners=/banners"},
			says: []string{`"/banners" must be an absolute http or https URL; got scheme ""`}},
		{name: "no host", args: []string{"-backend", "banners=http:///b"}, says: []string{`"http:///b" has no host`}},
		{name: "port without host", args: []string{"-backend", "banners=http://:9000/b"}, says: []string{"has no host"}},
		{name: "port out of range", args: []string{"-backend", "banners=http://h:99999/b"}, says: []string{`port must be 1 to 65535`}},
		{name: "empty url", args: []string{"-backend", "banners="}, says: []string{"banners: no url given"}},
		{name: "credentials", args: []string{"-backend", "banners=http://u:pw@h/b"},
			says: []string{`"http://u:xxxxx@h/b" must not carry a user or password`}},
		{name: "not a pair", args: []string{"-backend", "http://h/b"}, says: []string{"is not a name=value pair"}},
		{name: "bad VITRINE_BACKEND", env: map[string]string{"VITRINE_BACKEND": "nope=http://x/"},
			from: "VITRINE_BACKEND", says: []string{`unknown tile "nope"`}},
	}
	checkParseErrors(t, "-backend", tests)
}

// TestParsePinnedTTL: a TTL from a flag or its variable is pinned; a
// default one is not.
func TestParsePinnedTTL(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want map[string]bool
	}{
		{name: "default", want: map[string]bool{}},
		{name: "flag", args: []string{"-ttl", "banners=1s"}, want: map[string]bool{"banners": true}},
		{name: "VITRINE_TTL", env: map[string]string{"VITRINE_TTL": "products=0s"}, want: map[string]bool{"products": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			pinned := map[string]bool{}
			for _, tile := range got.Tiles {
				if tile.PinnedTTL {
					pinned[tile.Name] = true
				}
			}
			if !maps.Equal(pinned, tt.want) {
				t.Errorf("pinned TTLs = %v; want %v", pinned, tt.want)
			}
		})
	}
}
