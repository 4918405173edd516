// Package config turns Vitrine's config file (-config, YAML), command line
// and VITRINE_* environment variables into a typed Config: the page's tiles,
// the flags of the contract and the parsers of their values (durations,
// probabilities, name=value lists). Flags override the environment's
// variables, which override the file, which overrides the defaults. Defaults
// come from the packages that own them (the built-in tiles' latencies,
// resilience's default policy, the aggregator's tile timeout) and are written
// nowhere else.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"vitrine/aggregator"
	"vitrine/rediscache"
	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tracing"
)

// Config is the parsed configuration. Every per-tile map has an entry for
// every tile of Tiles, except Fail and Tail, which hold only the simulated
// tiles that fail or have a tail, and PinnedTTL.
type Config struct {
	File  string // the config file (-config); "" for none
	Check bool   // -check: validate the configuration and exit
	// Tiles are the page's tiles in page order: the file's, else the
	// built-in ones.
	Tiles []Tile

	Addr        string
	AdminAddr   string // the operator port (/metrics, pprof); "" for none
	TileTimeout time.Duration
	PageTimeout time.Duration // the whole fan-out; 0 means none
	TestDelay   time.Duration
	// ShutdownTimeout is how long a shutdown waits for the requests in
	// flight before it closes their connections.
	ShutdownTimeout time.Duration

	Latency map[string]time.Duration // the simulated backends
	Fail    map[string]float64
	Tail    map[string]Tail

	Cache     bool // false: every page fetches every tile itself
	Fallback  bool // serve static defaults as a last resort
	CacheSize int  // entries per tile
	TTL       map[string]time.Duration
	MaxStale  map[string]time.Duration
	Hedge     map[string]Hedge
	Breaker   map[string]int // consecutive failures that open it; 0 = none
	// PinnedTTL holds the tiles whose TTL the file or a flag set: it wins
	// over the Cache-Control of their HTTP backend.
	PinnedTTL map[string]bool

	// Redis is the shared cache tier under the in-memory one; off unless
	// Redis.Enabled.
	Redis Redis
	// Trace is the tracing mode (tracing.Modes): "off" by default.
	Trace string
	// TraceSample is the share of traces kept when tracing, if given
	// (-trace-sample); nil leaves it to OTEL_TRACES_SAMPLER, else 1. Errors
	// are kept whatever it says.
	TraceSample *float64
}

// Tail is a heavy latency tail: a share Rate of fetches take Latency.
type Tail struct {
	Latency time.Duration
	Rate    float64
}

// Hedge is a tile's hedging: adaptive (following the tile's p95), after a
// fixed Delay, or off (the zero Hedge).
type Hedge struct {
	Adaptive bool
	Delay    time.Duration
}

// Error is a malformed flag, environment value or config file. main prints
// it on one line and exits with status 2.
type Error struct {
	Flag string // e.g. "-latency"
	Env  string // the variable it came from, if any
	Msg  string
	// File, Line and Column place a problem in the config file; Line is 0
	// for a problem of the whole file.
	File         string
	Line, Column int
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
var ErrHelp = flag.ErrHelp

// Parse reads the config file named by -config or VITRINE_CONFIG, if any,
// then the flags in args (without the program name) over the VITRINE_*
// variables from getenv, over the file, over the defaults. A single-valued
// flag on the command line wins and its variable is not read at all, so a
// bad one cannot stop a good flag; a name=value list merges with its
// variable, the command line winning tile by tile. The file names the
// page's tiles, and so the tiles that the lists accept.
func Parse(args []string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg := defaults()
	fromFile, err := cfg.loadConfig(args, getenv)
	if err != nil {
		return Config{}, err
	}
	fs := newFlagSet(&cfg, cfg.tileNames())
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, ErrHelp
		}
		return Config{}, flagError(err)
	}
	if fs.NArg() > 0 {
		return Config{}, &Error{Flag: "arguments", Msg: fmt.Sprintf("unexpected %q: Vitrine takes only flags", tiles.Clip(fs.Arg(0), 64))}
	}
	given := map[string]bool{} // on the command line
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	adminFromEnv := !given["admin-addr"] && getenv(EnvName("admin-addr")) != ""
	if err := applyEnv(fs, given, getenv); err != nil {
		return Config{}, err
	}
	if cfg.AdminAddr != "" && sameListener(cfg.Addr, cfg.AdminAddr) {
		e := &Error{Flag: "-admin-addr", Msg: fmt.Sprintf("%q would listen where -addr %q does; the admin port must be another one",
			tiles.Clip(cfg.AdminAddr, 64), tiles.Clip(cfg.Addr, 64))}
		if adminFromEnv {
			e.Env = EnvName("admin-addr")
		}
		return Config{}, e
	}
	cfg.dropSimulatorSettings()
	if !given["page-timeout"] && !fromFile["page-timeout"] {
		// The page deadline backs up the tiles' own: it must not cut a
		// tile that is still within its timeout.
		cfg.PageTimeout = 2 * cfg.longestTileTimeout()
	}
	return cfg, nil
}

// applyEnv sets each flag from its VITRINE_* variable, unless the command
// line gave it; given gains the flags set. A list merges with its variable
// instead, the command line winning tile by tile.
func applyEnv(fs *flag.FlagSet, given map[string]bool, getenv func(string) string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := EnvName(f.Name)
		v := getenv(env)
		l, merges := f.Value.(merger)
		if v == "" || envErr != nil || given[f.Name] && !merges {
			return
		}
		if merges {
			l.underCommandLine()
		}
		if err := f.Value.Set(v); err != nil {
			envErr = &Error{Flag: "-" + f.Name, Env: env, Msg: err.Error()}
		}
		given[f.Name] = true
	})
	return envErr
}

// Timeout is tile t's deadline: its own timeout, else TileTimeout.
func (c Config) Timeout(t Tile) time.Duration {
	if t.Timeout > 0 {
		return t.Timeout
	}
	return c.TileTimeout
}

// longestTileTimeout is the longest time a tile of the page may take.
func (c *Config) longestTileTimeout() time.Duration {
	d := c.TileTimeout
	for _, t := range c.Tiles {
		d = max(d, t.Timeout)
	}
	return d
}

// defaults returns the configuration before any file, flag or variable:
// the built-in tiles, simulated.
func defaults() Config {
	cfg := Config{
		Addr:        "localhost:8080",
		TileTimeout: aggregator.DefaultTileTimeout,
		PageTimeout: time.Second, // twice TileTimeout: see Parse
		TestDelay:   5 * time.Second,
		Cache:       true,
		Fallback:    true,
		CacheSize:   resilience.DefaultMaxEntries,
		Redis:       Redis{Prefix: rediscache.DefaultPrefix, Timeout: rediscache.DefaultTimeout},
		Trace:       tracing.Off,

		// The default -test-delay and 10s more: long enough for a /test
		// in flight, within the 30s a container is given to stop.
		ShutdownTimeout: 15 * time.Second,
	}
	cfg.clearTiles()
	for _, d := range sim.Builtins() {
		cfg.addTile(newTile(d.Name), d.Latency)
	}
	return cfg
}

// clearTiles empties the page's tiles and every per-tile map.
func (c *Config) clearTiles() {
	c.Tiles = []Tile{}
	c.Latency = map[string]time.Duration{}
	c.Fail = map[string]float64{}
	c.Tail = map[string]Tail{}
	c.TTL = map[string]time.Duration{}
	c.MaxStale = map[string]time.Duration{}
	c.Hedge = map[string]Hedge{}
	c.Breaker = map[string]int{}
	c.PinnedTTL = map[string]bool{}
}

// Usage writes the flags and their defaults to w.
func Usage(w io.Writer) {
	cfg := defaults()
	fs := newFlagSet(&cfg, cfg.tileNames())
	fmt.Fprintf(w, "Usage: vitrine [flags]\n\nServes the homepage at /home. Every flag may also be set with VITRINE_<FLAG>, e.g. VITRINE_TILE_TIMEOUT=1s; "+
		"flags override the variables, which override the -config file.\n\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// EnvName is the environment variable for a flag: VITRINE_TILE_TIMEOUT for
// tile-timeout.
func EnvName(flagName string) string {
	return "VITRINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet defines every flag over cfg, whose values at this point are
// the defaults that -h shows. The name=value lists accept the tiles in
// known.
func newFlagSet(cfg *Config, known []string) *flag.FlagSet {
	fs := flag.NewFlagSet("vitrine", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, on one line
	fs.Var(scalar(&cfg.File, func(s string) (string, error) { return s, nil }), "config",
		"a YAML `file` describing the page: its tiles in page order, their sources and policies, page-wide settings; flags override it")
	fs.Var(boolFlag{scalar(&cfg.Check, parseBool)}, "check", "validate the configuration (the -config file and the flags), print nothing and exit 0, or print the problem and exit 2")
	fs.Var(list(known, ParseBackendURL, cfg.setBackend, cfg.backendURLs()), "backend",
		"fetch a tile from an HTTP service instead of the simulator, `name=url` pairs (absolute http or https urls)")
	fs.Var(scalar(&cfg.Addr, checkedAddr), "addr", "listen `address` (host:port; port 0 picks a free one)")
	fs.Var(scalar(&cfg.AdminAddr, optionalAddr), "admin-addr", "listen `address` of the operator port, which serves /metrics, /debug/pprof/ and /healthz; when set, the public port serves neither /metrics nor pprof (unset: /metrics is on the public port, pprof nowhere)")
	fs.Var(list(known, parseLatency, cfg.setLatency, cfg.Latency), "latency", "simulated latency per tile, `name=duration` pairs, each optionally with a heavy tail as in recommendations=120ms/p99=1s (1 fetch in 100 takes 1s); for a tile with a url, the latency expected of its backend, which bounds its hedging")
	fs.Var(list(known, ParseProbability, set(cfg.Fail), cfg.Fail), "fail", "simulated failure probability per tile, `name=p` pairs with 0 <= p <= 1; ignored for a tile with a url")
	fs.Var(scalar(&cfg.TileTimeout, positive(ParseDuration)), "tile-timeout", "how long (a `duration`) one tile may take before it is reported as timed out")
	fs.Var(scalar(&cfg.TestDelay, ParseDuration), "test-delay", "how long (a `duration`) GET /test waits before answering")
	fs.Var(scalar(&cfg.ShutdownTimeout, positive(ParseDuration)), "shutdown-timeout", "how long (a `duration`) a shutdown (SIGTERM, SIGINT) waits for the requests in flight before it closes their connections")
	fs.Var(scalar(&cfg.PageTimeout, ParseDuration), "page-timeout", "deadline (a `duration`) of a whole page over all its tiles, twice -tile-timeout unless set; 0 for none")
	fs.Var(boolFlag{scalar(&cfg.Cache, parseBool)}, "cache", "cache tiles and coalesce concurrent fetches; -cache=false fetches every tile for every page")
	fs.Var(boolFlag{scalar(&cfg.Fallback, parseBool)}, "fallback", "serve a tile's static default (its anonymous content from the catalogue in the binary; for recommendations, the bestsellers) when nothing fresh or stale can be; -fallback=false reports the timeout or error instead")
	fs.Var(scalar(&cfg.CacheSize, positive(parseCount)), "cache-size", "most `entries` each tile's cache holds")
	fs.Var(list(known, ParseDuration, cfg.pinTTL, cfg.TTL), "ttl", "how long a tile's cached content is fresh, `name=duration` pairs, even if its backend's Cache-Control says otherwise; 0 turns that tile's cache off")
	fs.Var(list(known, ParseDuration, set(cfg.MaxStale), cfg.MaxStale), "max-stale", "how long past its TTL cached content may still be served when the backend fails, `name=duration` pairs")
	fs.Var(list(known, ParseHedge, set(cfg.Hedge), cfg.Hedge), "hedge", "when to send a second, hedged request, `name=off|p95|duration` pairs; p95 follows the tile's observed p95")
	fs.Var(list(known, parseCount, set(cfg.Breaker), cfg.Breaker), "breaker", "consecutive failures that open a tile's circuit breaker, `name=n` pairs; 0 for no breaker")
	fs.Var(redisURLFlag{&cfg.Redis}, "redis", "a shared Redis cache tier under the in-memory one, as a `url`: redis://[:password@]host:port/db, or rediss:// for TLS; it replaces the -config file's redis nodes, and an empty url turns the tier off")
	fs.Var(scalar(&cfg.Redis.Prefix, parseRedisPrefix), "redis-prefix", "the `prefix` of every key Vitrine writes in Redis (no spaces or braces)")
	fs.Var(scalar(&cfg.Trace, ParseTraceMode), "trace", "OpenTelemetry tracing: off, stdout (spans as JSON lines) or otlp (OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT); the standard OTEL_* variables apply")
	fs.Var(sampleFlag{&cfg.TraceSample}, "trace-sample", "share of traces kept when tracing, a `ratio` in [0, 1]; unset, OTEL_TRACES_SAMPLER says, else 1; spans that end in error are kept whatever it says")
	fs.Var(scalar(&cfg.Redis.Timeout, positive(ParseDuration)), "redis-timeout", "deadline (a `duration`) of each Redis call; a slower Redis is skipped, as if it were down")
	return fs
}

// pinTTL records a -ttl pair: the TTL, which the backend's Cache-Control
// no longer changes.
func (c *Config) pinTTL(name string, d time.Duration) {
	c.TTL[name] = d
	c.PinnedTTL[name] = true
}

// setLatency records a -latency pair: the latency, and the tail if any.
func (c *Config) setLatency(name string, l latency) { latencySetter(c.Latency, c.Tail)(name, l) }

// latencySetter records -latency pairs in lat and tails: the latency, and
// the tail if any (a pair without one removes an earlier tail).
func latencySetter(lat map[string]time.Duration, tails map[string]Tail) func(string, latency) {
	return func(name string, l latency) {
		lat[name] = l.d
		if l.tail.Latency > 0 {
			tails[name] = l.tail
		} else {
			delete(tails, name)
		}
	}
}

// checkedAddr checks a listen address before anything listens: host:port
// with a port from 0 to 65535 (0 picks a free one).
func checkedAddr(addr string) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port (e.g. localhost:8080 or :8080)", tiles.Clip(addr, 64))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("port %q in %q is not a number from 0 to 65535", tiles.Clip(port, 16), tiles.Clip(addr, 64))
	}
	return addr, nil
}

// optionalAddr is checkedAddr, except that "" is allowed and means unset.
func optionalAddr(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	return checkedAddr(addr)
}

// sameListener reports whether listening on a and on b (both checked
// addresses) would collide: the same fixed port on the same host, or on
// any host when either is a wildcard (":8080" and "0.0.0.0:8080" listen on
// every interface). localhost is the loopback address. Port 0 picks a free
// port, so it never collides.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	na, _ := strconv.Atoi(pa)
	nb, _ := strconv.Atoi(pb)
	if errA != nil || errB != nil || na != nb || na == 0 {
		return false
	}
	ipA, errA := netip.ParseAddr(ha)
	ipB, errB := netip.ParseAddr(hb)
	wildcard := func(h string, ip netip.Addr, err error) bool { return h == "" || err == nil && ip.IsUnspecified() }
	loopback := func(h string, ip netip.Addr, err error) bool {
		return strings.EqualFold(h, "localhost") || err == nil && ip.IsLoopback()
	}
	switch {
	case wildcard(ha, ipA, errA) || wildcard(hb, ipB, errB):
		return true
	case errA == nil && errB == nil:
		return ipA.Unmap() == ipB.Unmap()
	case strings.EqualFold(ha, "localhost") || strings.EqualFold(hb, "localhost"):
		return loopback(ha, ipA, errA) && loopback(hb, ipB, errB)
	}
	return strings.EqualFold(ha, hb)
}

// flagError turns the flag package's messages ("invalid value "x" for flag
// -latency: ...") into an *Error naming the flag.
func flagError(err error) error {
	msg := err.Error()
	for _, f := range []struct{ prefix, infix string }{
		{"invalid value ", " for flag "},
		{"invalid boolean value ", " for "},
	} {
		rest, ok := strings.CutPrefix(msg, f.prefix)
		if !ok {
			continue
		}
		// Skip the quoted value whole: it may itself hold " for flag -x: ".
		if q, err := strconv.QuotedPrefix(rest); err == nil {
			if rest, ok := strings.CutPrefix(rest[len(q):], f.infix); ok {
				if name, m, ok := strings.Cut(rest, ": "); ok {
					return &Error{Flag: name, Msg: m}
				}
			}
		}
	}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return &Error{Flag: oneLine(name, 64), Msg: "unknown flag (see -h)"}
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return &Error{Flag: name, Msg: "needs a value"}
	}
	return &Error{Flag: "flags", Msg: oneLine(msg, 128)}
}

// oneLine clips s, an argument as the user typed it, and quotes it if it
// holds a newline, another unprintable character or invalid UTF-8, so that
// the message stays on one line of text.
func oneLine(s string, n int) string {
	s = tiles.Clip(s, n)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}
