// Package config turns Vitrine's config file (-config, YAML), command line
// and VITRINE_* variables into a typed Config: the page-wide settings and
// one Tile spec per tile. Flags override the variables, which override the
// file, which overrides the defaults. Each setting has one parser whatever
// its source; defaults are filled in once every source is read.
//
// A new per-tile setting is: its field in Tile, its line in Tile.settings
// (its file key and parser; a list flag in options if it needs one), its
// default in Tile.fill unless it is the zero value, its use (main's
// policy, for a resilience setting), and its test.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/goccy/go-yaml/ast"

	"vitrine/aggregator"
	"vitrine/rediscache"
	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/tracing"
	"vitrine/web"
)

// Config is the parsed configuration: the page-wide settings and the tiles.
type Config struct {
	File  string // the config file (-config); "" for none
	Check bool   // -check: validate the configuration and exit
	Tiles []Tile // in page order: the file's, else the built-in ones
	Pages []Page // the file's pages:; none: PageList's one page /home

	Addr            string
	AdminAddr       string // the operator port (/metrics, pprof); "" for none
	TileTimeout     time.Duration
	PageTimeout     time.Duration // the whole fan-out; 0 means none
	TestDelay       time.Duration
	ShutdownTimeout time.Duration // how long a shutdown waits for the requests in flight

	Cache     bool          // false: every page fetches every tile itself
	Fallback  bool          // serve static defaults as a last resort
	CacheSize int           // entries per tile
	MaxTTL    time.Duration // caps a backend's max-age, for tiles without their own (the file's max-ttl)

	CacheBytes int64 // bytes of all tiles' memory caches, which TileCacheBytes shares

	MaxHeaderBytes int64 // the file's max-header-bytes, for tiles without their own; 0: upstream's default

	Redis       Redis    // the shared cache tier; off unless Redis.Enabled
	Identity    Identity // where the shopper's id comes from
	Trace       string   // the tracing mode: one of tracing.Modes
	TraceSample *float64 // the share of traces kept; nil: OTEL_TRACES_SAMPLER's, else 0.1
	KeySecret   string   // keys the hash of user ids in cache keys; "": a random one per process
}

// Tile is one tile: its source, how the page shows it, its cache and resilience.
type Tile struct {
	Name         string
	URL          string        // the HTTP backend; "" for the simulator, of built-in tiles only
	Latency      time.Duration // the simulator's, or expected of the HTTP backend to bound hedging
	Tail         Tail          // the simulator's, as is Fail
	Fail         float64
	Timeout      time.Duration // 0: Config.TileTimeout
	Personalised bool          // forward the user and cache per user
	Primary      bool          // decides the page's HTTP status; at most one tile
	SetCookie    bool          // its backend's Set-Cookie reaches the browser; fetched per request
	View         string        // how the HTML page draws it: one of web.ViewNames()
	Fallback     json.RawMessage
	MaxBody      int64 // largest backend body in bytes; 0: the HTTP client's default

	MaxHeaderBytes int64 // largest backend response head in bytes; 0: Config.MaxHeaderBytes

	Label string // names its HTTP backend where clients see it, instead of its host; "": Name

	// The cache and resilience settings, as resilience.Policy's fields.
	TTL       time.Duration
	PinnedTTL bool // the TTL was given: it wins over the backend's Cache-Control
	MaxStale  time.Duration
	MaxTTL    time.Duration // caps the backend's max-age; 0: Config.MaxTTL
	Hedge     Hedge
	Breaker   int // consecutive failures that open it; 0 = none
	Bulkhead  int // most concurrent backend requests, at least 1; 0 (unset): resilience's default

	Forward Forward // what it receives of the shopper's request (the file's forward:)

	Tags []string // carried by every entry of the tile, as its name is, for a purge (the file's tags:)

	Params []string // the page parameters its URL uses, each {name} in its path

	given map[string]bool // the settings a source gave, by key, until fill
}

// Tail is a heavy latency tail: a share Rate of fetches take Latency.
type Tail struct {
	Latency time.Duration
	Rate    float64
}

// Hedge is a tile's hedging: Adaptive (at its p95), after Delay, or off (zero).
type Hedge struct {
	Adaptive bool
	Delay    time.Duration
}

// DefaultCacheBytes is the default of Config.CacheBytes: half the
// soft memory limit (package memory), the rest left to requests in flight.
const DefaultCacheBytes = 48 << 20

// DefaultHTTPLatency bounds the hedging of an HTTP tile until its p95 is known.
const DefaultHTTPLatency = 100 * time.Millisecond

// settings are t's settings in the order the file's keys are listed.
func (t *Tile) settings() []setting {
	return []setting{
		field("name", &t.Name, parseTileName),
		field("url", &t.URL, ParseBackendURL),
		{key: "latency", show: func() string { return t.Latency.String() }, set: func(s string) (err error) {
			if t.Latency, t.Tail, err = ParseLatency(s); t.Tail.Latency == 0 {
				t.Tail = Tail{} // a zero tail is none
			}
			return err
		}},
		field("fail", &t.Fail, ParseProbability),
		field("timeout", &t.Timeout, positive(ParseDuration)),
		field("ttl", &t.TTL, ParseDuration),
		field("max-stale", &t.MaxStale, ParseDuration),
		field("max-ttl", &t.MaxTTL, positive(ParseDuration)),
		field("hedge", &t.Hedge, ParseHedge),
		field("breaker", &t.Breaker, parseCount),
		field("bulkhead", &t.Bulkhead, parseBulkhead),
		field("personalised", &t.Personalised, parseBool),
		field("primary", &t.Primary, parseBool),
		field("set-cookie", &t.SetCookie, parseBool),
		{key: "fallback", node: func(n ast.Node) (err error) { t.Fallback, err = fallbackJSON(n); return err }},
		field("view", &t.View, parseView),
		field("max-body", &t.MaxBody, parseMaxBody),
		field("max-header-bytes", &t.MaxHeaderBytes, parseMaxBody),
		field("label", &t.Label, parseLabel),
		{key: "tags", node: func(n ast.Node) (err error) { t.Tags, err = tagList(n); return err }},
	}
}

// set parses value as t's setting key, and marks it given.
func (t *Tile) set(key, value string) error {
	t.mark(key)
	s, _ := lookup(t.settings(), key)
	return s.set(value)
}

func (t *Tile) mark(key string) {
	if t.given == nil {
		t.given = map[string]bool{}
	}
	t.given[key] = true
}

// fill gives each setting no source gave its default: a built-in tile's,
// else an HTTP tile's, then resilience's. A tile with a URL is not simulated.
func (t *Tile) fill() {
	view, personalised, latency := web.ViewJSON, false, DefaultHTTPLatency
	if i := slices.IndexFunc(sim.Builtins(), func(d sim.Def) bool { return d.Name == t.Name }); i >= 0 {
		d := sim.Builtins()[i]
		view, personalised, latency = d.Name, d.Personalised, d.Latency
	}
	given := t.given
	t.View = pick(given["view"], t.View, view)
	t.Personalised = pick(given["personalised"], t.Personalised, personalised)
	t.Latency = pick(given["latency"], t.Latency, latency)
	p := resilience.DefaultPolicy(t.Latency, t.Personalised)
	t.TTL, t.PinnedTTL = pick(given["ttl"], t.TTL, p.TTL), given["ttl"]
	t.MaxStale = pick(given["max-stale"], t.MaxStale, p.MaxStale)
	t.Hedge = pick(given["hedge"], t.Hedge, Hedge{Adaptive: p.HedgeAdaptive, Delay: p.HedgeDelay})
	t.Breaker = pick(given["breaker"], t.Breaker, p.BreakerFailures)
	if t.URL != "" {
		t.Fail, t.Tail = 0, Tail{}
	}
	t.given = nil
}

// pick is v if it was given, else its default d.
func pick[T any](given bool, v, d T) T {
	if given {
		return v
	}
	return d
}

// Timeout is tile t's deadline: its own timeout, else TileTimeout.
func (c Config) Timeout(t Tile) time.Duration {
	if t.Timeout > 0 {
		return t.Timeout
	}
	return c.TileTimeout
}

// TileMaxTTL is how long tile t's backend may say its answer is fresh at
// most: its own max-ttl, else the page's.
func (c Config) TileMaxTTL(t Tile) time.Duration {
	if t.MaxTTL > 0 {
		return t.MaxTTL
	}
	return c.MaxTTL
}

// TileCacheBytes is each caching tile's share of CacheBytes: an equal one
// (at least a byte); CacheBytes if no tile caches.
func (c Config) TileCacheBytes() int64 {
	n := 0
	for _, t := range c.Tiles {
		if c.Cache && t.TTL > 0 {
			n++
		}
	}
	return max(c.CacheBytes/int64(max(n, 1)), 1)
}

// Error is a malformed flag, variable or file: main prints it and exits 2.
type Error struct {
	Flag, Env, Msg string // Flag e.g. "-latency"; Env the variable it came from, if any
	File           string // File, Line and Column place a problem of the file; Line 0: all of it
	Line, Column   int
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Env != "":
		return fmt.Sprintf("%s (from %s): %s", e.Flag, e.Env, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Flag, e.Msg)
}

// ErrHelp is returned when -h or -help was asked for; Usage says what to print.
var ErrHelp = errors.New("help requested")

// Parse reads the file of -config or VITRINE_CONFIG, if any, then the flags
// in args (without the program name) over the VITRINE_* variables of
// getenv. A flag on the command line wins and its variable is not read, so
// a bad one cannot stop a good flag; a name=value list merges with its
// variable, the command line winning tile by tile.
func Parse(args []string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	p := newParser()
	cmd, err := scan(args, p.options(), "Vitrine")
	if err == nil {
		err = p.loadFile(cmd, getenv)
	}
	if err == nil {
		err = p.apply(cmd, getenv)
	}
	if err != nil {
		return Config{}, err
	}
	p.fill()
	if err := p.checkParams(); err != nil {
		return Config{}, err
	}
	if err := p.checkIdentity(cmd, getenv); err != nil {
		return Config{}, err
	}
	if err := p.checkCredentials(); err != nil {
		return Config{}, err
	}
	if c := p.cfg; c.AdminAddr != "" && sameListener(c.Addr, c.AdminAddr) {
		e := &Error{Flag: "-admin-addr", Msg: fmt.Sprintf("%q would listen where -addr %q does; "+
			"the admin port must be another one", clip(c.AdminAddr), clip(c.Addr))}
		if env := EnvName("admin-addr"); getenv(env) != "" && !slices.ContainsFunc(cmd, func(a arg) bool {
			return a.s.key == "admin-addr"
		}) {
			e.Env = env
		}
		return Config{}, e
	}
	return p.cfg, nil
}

// parser holds a Config while its sources are read, and the page-wide keys given.
type parser struct {
	cfg        Config
	given      map[string]bool
	identityAt *Error // where the file's identity: mapping is, if it has one
}

// newParser starts from the defaults that follow no other setting.
func newParser() *parser {
	p := &parser{given: map[string]bool{}, cfg: Config{
		Addr:        "localhost:8080",
		TileTimeout: aggregator.DefaultTileTimeout,
		TestDelay:   5 * time.Second,
		Cache:       true,
		Fallback:    true,
		CacheSize:   resilience.DefaultMaxEntries,
		CacheBytes:  DefaultCacheBytes,
		MaxTTL:      resilience.DefaultMaxTTL,
		Redis:       Redis{Prefix: rediscache.DefaultPrefix, Timeout: rediscache.DefaultTimeout},
		Trace:       tracing.Off,
		Identity:    Identity{Source: "query"},
		// A /test in flight (-test-delay) and 10s more, within the 30s a
		// container is given to stop.
		ShutdownTimeout: 15 * time.Second,
	}}
	for _, d := range sim.Builtins() {
		p.cfg.Tiles = append(p.cfg.Tiles, Tile{Name: d.Name})
	}
	return p
}

// fill gives the settings that follow others their default.
func (p *parser) fill() {
	longest := p.cfg.TileTimeout
	for i := range p.cfg.Tiles {
		p.cfg.Tiles[i].fill()
		longest = max(longest, p.cfg.Tiles[i].Timeout)
	}
	if !p.given["page-timeout"] {
		// It backs up the tiles' own: it must not cut a tile within its timeout.
		p.cfg.PageTimeout = 2 * longest
	}
}
