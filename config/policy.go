package config

import (
	"strings"

	"vitrine/resilience"
	"vitrine/tiles"
)

// Policy returns the resilience policy for def: resilience.DefaultPolicy
// for the configured latency, with this configuration's flags applied. The
// error is an *Error naming the flag when the combination makes no sense.
func (c Config) Policy(def tiles.Def, cat *tiles.Catalogue) (resilience.Policy, error) {
	if d, ok := c.Latency[def.Name]; ok {
		def.Latency = d // hedge bounds follow the configured latency
	}
	p := resilience.DefaultPolicy(def, cat)
	p.MaxEntries = c.CacheSize
	// A fetch shared by several callers (or refreshing the cache) must be
	// allowed at least as long as a caller waits for it, or a tile slower
	// than the default could never be fresh however long -tile-timeout is.
	p.FetchTimeout = max(resilience.DefaultFetchTimeout, c.TileTimeout+c.TileTimeout/4)
	if d, ok := c.TTL[def.Name]; ok {
		p.TTL, p.StaleWhileRevalidate = d, d
	}
	if d, ok := c.MaxStale[def.Name]; ok {
		p.MaxStale = d
	}
	if !c.Cache {
		// Every page fetches every tile itself, as a plain fan-out does.
		p.TTL, p.StaleWhileRevalidate, p.Direct = 0, 0, true
	}
	if !c.Fallback {
		p.Fallback = nil
	}
	if h, ok := c.Hedge[def.Name]; ok {
		p.HedgeAdaptive, p.HedgeDelay = h.Adaptive, h.Delay
	}
	if n, ok := c.Breaker[def.Name]; ok {
		p.BreakerFailures = n
	}
	if err := p.Validate(); err != nil {
		// Validate joins several errors with newlines; keep the message one line.
		return p, &Error{Flag: "flags", Msg: def.Name + ": " + strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	return p, nil
}
