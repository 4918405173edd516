package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/upstream"
	"vitrine/web"
)

// Tile is one tile of the page: where its content comes from and how the
// page treats it. Its cache and resilience settings are in Config's
// per-tile maps, keyed by Name.
type Tile struct {
	Name string
	// URL is the tile's HTTP backend; "" means the built-in simulator,
	// which only the built-in tiles have.
	URL          string
	Timeout      time.Duration // 0: Config.TileTimeout
	Personalised bool          // forward the user and cache per user
	Primary      bool          // decides the page's HTTP status; at most one tile
	// View is how the HTML page draws the tile: one of web.ViewNames().
	View string
	// Fallback is the tile's static default from the file, as JSON; nil
	// when none was given.
	Fallback json.RawMessage
	Bulkhead int   // most concurrent backend requests; 0: resilience's default
	MaxBody  int64 // largest backend body in bytes; 0: the HTTP client's default
}

// DefaultHTTPLatency is the latency assumed of an HTTP tile that is not
// built in, to size its hedging bounds until its own p95 is known.
const DefaultHTTPLatency = 100 * time.Millisecond

// maxMaxBody bounds max-body: a tile's body is held in memory.
const maxMaxBody = 1 << 30

var tileName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// newTile returns the tile called name with its defaults: a built-in
// tile's own view and personalisation, else the generic view.
func newTile(name string) Tile {
	t := Tile{Name: name, View: web.ViewJSON}
	if d, ok := builtin(name); ok {
		t.View, t.Personalised = d.Name, d.Personalised
	}
	return t
}

// builtin returns the built-in tile called name, if there is one.
func builtin(name string) (sim.Def, bool) {
	i := slices.IndexFunc(sim.Builtins(), func(d sim.Def) bool { return d.Name == name })
	if i < 0 {
		return sim.Def{}, false
	}
	return sim.Builtins()[i], true
}

// defaultLatency is a tile's latency before any setting: the built-in
// simulator's, else DefaultHTTPLatency.
func defaultLatency(name string) time.Duration {
	if d, ok := builtin(name); ok {
		return d.Latency
	}
	return DefaultHTTPLatency
}

// addTile appends t to the page with resilience's default policy for it in
// every per-tile map, replacing any entries of a tile of that name.
func (c *Config) addTile(t Tile, latency time.Duration) {
	p := resilience.DefaultPolicy(latency, t.Personalised)
	c.Tiles = append(c.Tiles, t)
	c.Latency[t.Name] = latency
	c.TTL[t.Name] = p.TTL
	c.MaxStale[t.Name] = p.MaxStale
	c.Hedge[t.Name] = Hedge{Adaptive: p.HedgeAdaptive, Delay: p.HedgeDelay}
	c.Breaker[t.Name] = p.BreakerFailures
}

// tileNames returns the names of the page's tiles in page order.
func (c *Config) tileNames() []string {
	names := make([]string, len(c.Tiles))
	for i, t := range c.Tiles {
		names[i] = t.Name
	}
	return names
}

// setBackend records a -backend pair. The name is one of the page's tiles:
// the list flag checked it.
func (c *Config) setBackend(name, u string) {
	for i := range c.Tiles {
		if c.Tiles[i].Name == name {
			c.Tiles[i].URL = u
		}
	}
}

// backendURLs returns the tiles' URLs by name, for -h.
func (c *Config) backendURLs() map[string]string {
	m := map[string]string{}
	for _, t := range c.Tiles {
		if t.URL != "" {
			m[t.Name] = t.URL
		}
	}
	return m
}

// dropSimulatorSettings forgets the failure rates and tails of the tiles
// fetched over HTTP: they describe the simulator, which those tiles do not
// use. Their latency stays: it sizes their hedging bounds.
func (c *Config) dropSimulatorSettings() {
	for _, t := range c.Tiles {
		if t.URL != "" {
			delete(c.Fail, t.Name)
			delete(c.Tail, t.Name)
		}
	}
}

// ParseBackendURL checks a backend's URL by the HTTP client's own rules
// (upstream.CheckURL: absolute http or https with a host, no credentials,
// which would end up in logs), so that a URL it would refuse is refused
// here, where the flag or file line can be named.
func ParseBackendURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("no url given")
	}
	if err := upstream.CheckURL(s); err != nil {
		shown := s
		if u, perr := url.Parse(s); perr == nil {
			shown = u.Redacted()
		}
		return "", fmt.Errorf("%q %v", clip(shown), err)
	}
	return s, nil
}

// parseView checks a view's name.
func parseView(s string) (string, error) {
	if s = strings.TrimSpace(s); !slices.Contains(web.ViewNames(), s) {
		return "", fmt.Errorf("%q is not a view (one of %s)", clip(s), strings.Join(web.ViewNames(), ", "))
	}
	return s, nil
}

// parseTileName checks a tile's name: it is a key in name=value flags and
// in the URLs of /tiles/NAME.
func parseTileName(s string) (string, error) {
	if !tileName.MatchString(s) {
		return "", fmt.Errorf("%q is not a tile name (1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit)", clip(s))
	}
	return s, nil
}

// parseMaxBody parses a body limit: a number of bytes, or a number of KiB
// or MiB ("512KiB", "2MiB"), from 1 byte to 1 GiB.
func parseMaxBody(s string) (int64, error) {
	s = strings.TrimSpace(s)
	num, unit := s, int64(1)
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			num, unit = strings.TrimSpace(n), u
		}
	}
	n, err := parseCount(num)
	if err != nil || n == 0 || int64(n) > maxMaxBody/unit {
		return 0, fmt.Errorf("%q is not a size from 1 byte to 1024MiB (bytes, or e.g. 512KiB, 2MiB)", clip(s))
	}
	return int64(n) * unit, nil
}
