package main

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/metrics"
	"vitrine/resilience"
)

// parsedFile is the configuration of a -config file holding text.
func parsedFile(t *testing.T, text string) config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vitrine.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return parsedConfig(t, []string{"-config", path}, nil)
}

// TestBuildDiff: a generation built over another keeps each tile whose
// backend and policy are unchanged (the same *resilience.Tile), rebuilds
// one whose source or caching changed, adds and removes the others; a
// change that only the aggregator reads (a timeout within the fetch
// timeout, the page timeout) or the cache's byte budget keeps the tile.
func TestBuildDiff(t *testing.T) {
	const base = "tiles:\n  - {name: banners, ttl: 5s, timeout: 300ms}\n  - {name: products}\n" +
		"  - {name: recommendations}\n"
	tests := []struct {
		name, file string
		want       map[string]string // by tile: kept, rebuilt, added, removed
	}{
		{"the same file", base,
			map[string]string{"banners": "kept", "products": "kept", "recommendations": "kept"}},
		{"timeout within the fetch timeout, page timeout, cache bytes", "page-timeout: 3s\ncache-bytes: 8MiB\n" +
			"tiles:\n  - {name: banners, ttl: 5s, timeout: 400ms}\n  - {name: products}\n  - {name: recommendations}\n",
			map[string]string{"banners": "kept", "products": "kept", "recommendations": "kept"}},
		{"a timeout past the fetch timeout", "tiles:\n  - {name: banners, ttl: 5s, timeout: 3s}\n" +
			"  - {name: products}\n  - {name: recommendations}\n",
			map[string]string{"banners": "rebuilt", "products": "kept", "recommendations": "kept"}},
		{"ttl, latency, a url, one removed, one added", "tiles:\n  - {name: banners, ttl: 6s, timeout: 300ms}\n" +
			"  - {name: products, url: 'http://127.0.0.1:1/products'}\n  - {name: deals, url: 'http://127.0.0.1:1/deals'}\n",
			map[string]string{"banners": "rebuilt", "products": "rebuilt", "recommendations": "removed",
				"deals": "added"}},
		{"simulator settings and the file's fallback", "tiles:\n  - {name: banners, ttl: 5s, timeout: 300ms, " +
			"fail: 0.5}\n  - {name: products, fallback: {items: []}}\n  - {name: recommendations}\n",
			map[string]string{"banners": "rebuilt", "products": "rebuilt", "recommendations": "kept"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{cat: catalogue.Default(), m: metrics.New()}
			a.res = a.resilienceOptions()
			old, _, err := a.build(parsedFile(t, base), nil)
			if err != nil {
				t.Fatal(err)
			}
			g, done, err := a.build(parsedFile(t, tt.file), old)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeTiles(old, g) })
			got := map[string]string{}
			for _, name := range done.Removed {
				got[name] = "removed"
			}
			for i, name := range done.Tiles {
				j := old.index(name)
				switch {
				case slices.Contains(done.Added, name) && j < 0:
					got[name] = "added"
				case slices.Contains(done.Rebuilt, name) && j >= 0 && g.tiles[i] != old.tiles[j]:
					got[name] = "rebuilt"
				case j >= 0 && g.tiles[i] == old.tiles[j]:
					got[name] = "kept"
				default:
					got[name] = "inconsistent"
				}
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

// closeTiles closes every tile of gens, each once.
func closeTiles(gens ...*generation) {
	var seen []*resilience.Tile
	for _, g := range gens {
		for _, t := range g.tiles {
			if !slices.Contains(seen, t) {
				seen = append(seen, t)
				t.Close()
			}
		}
	}
}
