// Package config provides Vitrine's command-line configuration: the flags of
// the contract, each also read from a VITRINE_* environment variable, and
// the parsers of their values (durations, probabilities, name=value lists).
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"vitrine/tiles"
)

// Config is the parsed command line.
type Config struct {
	Addr        string
	Latency     map[string]time.Duration // every known tile has an entry
	Fail        map[string]float64       // tiles not listed never fail
	TileTimeout time.Duration
	TestDelay   time.Duration

	// Tail gives a tile's simulated backend a heavy tail
	// (-latency recommendations=120ms/p99=1s); tiles without one are absent.
	Tail map[string]Tail

	// The resilience policy (see resilience.Policy); maps hold only the
	// tiles named on the command line, the others keep their defaults.
	PageTimeout time.Duration            // the whole fan-out; 0 means none; default twice TileTimeout
	Cache       bool                     // false: no cache, no coalescing
	Fallback    bool                     // serve static defaults as a last resort
	CacheSize   int                      // entries per tile
	TTL         map[string]time.Duration // freshness
	MaxStale    map[string]time.Duration // stale-on-error window past the TTL
	Hedge       map[string]Hedge
	Breaker     map[string]int // consecutive failures that open it; 0 = none
}

// Tail is a heavy latency tail: a share Rate of fetches take Latency.
type Tail struct {
	Latency time.Duration
	Rate    float64
}

// Hedge is a tile's hedging: off, adaptive (following the tile's p95) or
// after a fixed delay.
type Hedge struct {
	Off, Adaptive bool
	Delay         time.Duration
}

// Error is a malformed flag or environment value. main prints it on one
// line and exits with status 2.
type Error struct {
	Flag string // e.g. "-latency"
	Env  string // the variable it came from, if any
	Msg  string
}

func (e *Error) Error() string {
	if e.Env != "" {
		return fmt.Sprintf("%s (from %s): %s", e.Flag, e.Env, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Flag, e.Msg)
}

// ErrHelp is returned when -h or -help was asked for; Usage says what to print.
var ErrHelp = flag.ErrHelp

// Parse reads the flags in args (without the program name) over the
// VITRINE_* variables from getenv, over the defaults. Tile names are
// checked against the built-in tiles.
func Parse(args []string, getenv func(string) string) (Config, error) {
	known := tiles.Names()
	cfg := defaults()
	fs := newFlagSet(&cfg, known)
	// Which flags the command line gives: for a single-valued one its
	// environment variable is not even read, so a bad one cannot stop a
	// good flag. A name=value list merges the two, the command line
	// winning tile by tile.
	onCommandLine := map[string]bool{}
	{
		scratch := defaults()
		sfs := newFlagSet(&scratch, known)
		if err := parseArgs(sfs, args); err != nil {
			return Config{}, err
		}
		sfs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	}
	// Environment first, so that flags given on the command line win.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := EnvName(f.Name)
		_, merges := f.Value.(merger)
		if v, ok := lookup(getenv, env); ok && envErr == nil && (merges || !onCommandLine[f.Name]) {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = &Error{Flag: "-" + f.Name, Env: env, Msg: err.Error()}
			}
		}
	})
	if envErr != nil {
		return Config{}, envErr
	}
	if err := parseArgs(fs, args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, &Error{Flag: "arguments", Msg: fmt.Sprintf("unexpected %q: Vitrine takes only flags", tiles.Clip(fs.Arg(0), 64))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true }) // by flag or environment
	if !set["page-timeout"] {
		// The page deadline backs up the tiles' own: it must not cut a
		// tile that is still within -tile-timeout.
		cfg.PageTimeout = 2 * cfg.TileTimeout
	}
	if err := checkAddr(cfg.Addr); err != nil {
		e := &Error{Flag: "-addr", Msg: err.Error()}
		if !onCommandLine["addr"] {
			e.Env = EnvName("addr")
		}
		return Config{}, e
	}
	return cfg, nil
}

// defaults returns the configuration before any flag or variable.
func defaults() Config {
	cfg := Config{
		Addr:        "localhost:8080",
		Latency:     map[string]time.Duration{},
		Fail:        map[string]float64{},
		TileTimeout: 500 * time.Millisecond,
		TestDelay:   5 * time.Second,
		Tail:        map[string]Tail{},
		Cache:       true,
		Fallback:    true,
		CacheSize:   10_000,
		TTL:         map[string]time.Duration{},
		MaxStale:    map[string]time.Duration{},
		Hedge:       map[string]Hedge{},
		Breaker:     map[string]int{},
	}
	for _, d := range tiles.Builtins() {
		cfg.Latency[d.Name] = d.Latency
	}
	return cfg
}

// parseArgs parses args into fs, turning the flag package's errors into
// ErrHelp or an *Error naming the flag.
func parseArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ErrHelp
		}
		return flagError(err)
	}
	return nil
}

// checkAddr checks a listen address before anything listens: host:port
// with a port from 0 to 65535 (0 picks a free one).
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. localhost:8080 or :8080)", tiles.Clip(addr, 64))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q in %q is not a number from 0 to 65535", tiles.Clip(port, 16), tiles.Clip(addr, 64))
	}
	return nil
}

// Usage writes the flags and their defaults to w.
func Usage(w io.Writer) {
	cfg := Config{Latency: map[string]time.Duration{}, Fail: map[string]float64{}}
	fs := newFlagSet(&cfg, tiles.Names())
	fmt.Fprintf(w, "Usage: vitrine [flags]\n\nServes the homepage at /home. Every flag may also be set with VITRINE_<FLAG>, e.g. VITRINE_TILE_TIMEOUT=1s.\n\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// EnvName is the environment variable for a flag: VITRINE_TILE_TIMEOUT for
// tile-timeout.
func EnvName(flagName string) string {
	return "VITRINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func newFlagSet(cfg *Config, known []string) *flag.FlagSet {
	fs := flag.NewFlagSet("vitrine", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, on one line
	fs.StringVar(&cfg.Addr, "addr", "localhost:8080", "listen `address` (host:port; port 0 picks a free one)")
	fs.Var(latencyFlag{cfg.Latency, cfg.Tail, known}, "latency", "simulated latency per tile, `name=duration` pairs, each optionally with a heavy tail as in recommendations=120ms/p99=1s (1 fetch in 100 takes 1s) (default banners=40ms,products=80ms,recommendations=120ms)")
	fs.Var(listFlag[float64]{cfg.Fail, known, ParseProbability}, "fail", "simulated failure probability per tile, `name=p` pairs with 0 <= p <= 1")
	fs.Var((*positiveDuration)(&cfg.TileTimeout), "tile-timeout", "how long one tile may take before it is reported as timed out (default 500ms)")
	fs.Var((*nonNegDuration)(&cfg.TestDelay), "test-delay", "how long GET /test waits before answering (default 5s)")
	fs.Var((*nonNegDuration)(&cfg.PageTimeout), "page-timeout", "deadline of a whole page over all its tiles; 0 for none (default twice -tile-timeout: 1s)")
	fs.Var((*boolFlag)(&cfg.Cache), "cache", "cache tiles and coalesce concurrent fetches; -cache=false fetches every tile for every page (default true)")
	fs.Var((*boolFlag)(&cfg.Fallback), "fallback", "serve a tile's static default (its anonymous content from the catalogue in the binary; for recommendations, the bestsellers) when nothing fresh or stale can be; -fallback=false reports the timeout or error instead (default true)")
	fs.Var((*positiveInt)(&cfg.CacheSize), "cache-size", "most `entries` each tile's cache holds (default 10000)")
	fs.Var(listFlag[time.Duration]{cfg.TTL, known, ParseDuration}, "ttl", "how long a tile's cached content is fresh, `name=duration` pairs; 0 turns that tile's cache off (default banners=30s,products=30s,recommendations=60s)")
	fs.Var(listFlag[time.Duration]{cfg.MaxStale, known, ParseDuration}, "max-stale", "how long past its TTL cached content may still be served when the backend fails, `name=duration` pairs (default 10m)")
	fs.Var(listFlag[Hedge]{cfg.Hedge, known, ParseHedge}, "hedge", "when to send a second, hedged request, `name=off|p95|duration` pairs; p95 follows the tile's observed p95 (default p95 for every tile)")
	fs.Var(listFlag[int]{cfg.Breaker, known, parseCount}, "breaker", "consecutive failures that open a tile's circuit breaker, `name=n` pairs; 0 for no breaker (default 5)")
	return fs
}

func lookup(getenv func(string) string, name string) (string, bool) {
	if getenv == nil {
		return "", false
	}
	v := getenv(name)
	return v, v != ""
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

// ParseDuration parses a Go duration ("40ms", "1.5s") that must not be
// negative. A bare number is refused: "40" could mean seconds or ms.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		// Only a plain decimal number lacks just a unit ("NaN", "1e3" do not).
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil && strings.Trim(s, "+-.0123456789") == "" {
			n := tiles.Clip(s, 32)
			return 0, fmt.Errorf("%q has no unit; write e.g. %sms or %ss", n, n, n)
		}
		return 0, fmt.Errorf("%q is not a duration (e.g. 40ms, 1.5s)", tiles.Clip(s, 64))
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", tiles.Clip(s, 64))
	}
	return d, nil
}

// ParseProbability parses a probability in [0, 1].
func ParseProbability(s string) (float64, error) {
	s = strings.TrimSpace(s)
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || p != p { // p != p: NaN
		return 0, fmt.Errorf("%q is not a number", tiles.Clip(s, 64))
	}
	if p < 0 || p > 1 {
		return 0, fmt.Errorf("%s is outside [0, 1]", tiles.Clip(s, 64))
	}
	return p, nil
}

// ParseList parses "name=value,name=value" into a map, checking each name
// against known and each value with parse. Names may appear once; an empty
// list is valid and sets nothing.
func ParseList[T any](s string, known []string, parse func(string) (T, error)) (map[string]T, error) {
	out := map[string]T{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, value, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not a name=value pair", tiles.Clip(item, 64))
		}
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("unknown tile %q in %q (known: %s)", tiles.Clip(name, 64), tiles.Clip(item, 64), strings.Join(known, ", "))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("tile %q is given twice", name)
		}
		v, err := parse(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

// merger marks the flags whose command-line value merges with their
// environment variable's (the name=value lists).
type merger interface{ merges() }

func (listFlag[T]) merges() {}
func (latencyFlag) merges() {}

// listFlag is a flag.Value merging name=value pairs into a map that may
// already hold defaults.
type listFlag[T any] struct {
	m     map[string]T
	known []string
	parse func(string) (T, error)
}

func (l listFlag[T]) String() string { return formatList(l.m) }
func (l listFlag[T]) Set(s string) error {
	parsed, err := ParseList(s, l.known, l.parse)
	if err != nil {
		return err
	}
	for k, v := range parsed {
		l.m[k] = v
	}
	return nil
}

func formatList[T any](m map[string]T) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
	}
	return strings.Join(parts, ",")
}

// boolFlag is a boolean flag whose error names the bad value (the flag
// package's own says only "parse error").
type boolFlag bool

func (b *boolFlag) IsBoolFlag() bool { return true }
func (b *boolFlag) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not true or false", tiles.Clip(s, 64))
	}
	*b = boolFlag(v)
	return nil
}

type positiveInt int

func (n *positiveInt) String() string { return strconv.Itoa(int(*n)) }
func (n *positiveInt) Set(s string) error {
	v, err := parseCount(s)
	if err == nil && v == 0 {
		err = fmt.Errorf("%q must be more than zero", tiles.Clip(s, 64))
	}
	if err != nil {
		return err
	}
	*n = positiveInt(v)
	return nil
}

// parseCount parses a whole number >= 0.
func parseCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a whole number >= 0", tiles.Clip(s, 64))
	}
	return v, nil
}

// ParseHedge parses a hedge setting: "off", "p95" (adaptive) or a delay.
func ParseHedge(s string) (Hedge, error) {
	switch s = strings.TrimSpace(s); s {
	case "off", "0":
		return Hedge{Off: true}, nil
	case "p95", "auto":
		return Hedge{Adaptive: true}, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return Hedge{}, fmt.Errorf("%w, off or p95", err)
	}
	return Hedge{Delay: d}, nil
}

// ParseLatency parses a simulated latency, optionally with a heavy tail:
// "120ms", or "120ms/p99=1s" where 1 fetch in 100 takes 1s instead
// (p95: 1 in 20, p999: 1 in 1000).
func ParseLatency(s string) (time.Duration, Tail, error) {
	base, tail, hasTail := strings.Cut(s, "/")
	d, err := ParseDuration(base)
	if err != nil || !hasTail {
		return d, Tail{}, err
	}
	q, v, ok := strings.Cut(strings.TrimSpace(tail), "=")
	digits, isP := strings.CutPrefix(q, "p")
	if !ok || !isP || digits == "" || strings.Trim(digits, "0123456789") != "" || len(digits) > 6 {
		return 0, Tail{}, fmt.Errorf("tail %q is not pNN=duration (e.g. p99=1s)", tiles.Clip(tail, 32))
	}
	// pNN is the quantile 0.NN; the tail is the rest, (10^len - NN) / 10^len,
	// computed in integers so that p99 gives exactly 0.01, not 1 - 0.99.
	n, _ := strconv.Atoi(digits)
	if n == 0 {
		return 0, Tail{}, fmt.Errorf("tail %q: the quantile must be above p0", tiles.Clip(tail, 32))
	}
	scale := 1
	for range digits {
		scale *= 10
	}
	td, err := ParseDuration(v)
	if err != nil {
		return 0, Tail{}, fmt.Errorf("tail: %w", err)
	}
	return d, Tail{Latency: td, Rate: float64(scale-n) / float64(scale)}, nil
}

// latencyFlag is -latency: name=duration[/pNN=duration] pairs filling the
// latency and tail maps.
type latencyFlag struct {
	latency map[string]time.Duration
	tail    map[string]Tail
	known   []string
}

type latencySpec struct {
	d    time.Duration
	tail Tail
}

func (l latencyFlag) String() string { return formatList(l.latency) }
func (l latencyFlag) Set(s string) error {
	parsed, err := ParseList(s, l.known, func(v string) (latencySpec, error) {
		d, t, err := ParseLatency(v)
		return latencySpec{d, t}, err
	})
	if err != nil {
		return err
	}
	for k, v := range parsed {
		l.latency[k] = v.d
		if v.tail.Latency > 0 {
			l.tail[k] = v.tail
		} else {
			delete(l.tail, k)
		}
	}
	return nil
}

type positiveDuration time.Duration

func (d *positiveDuration) String() string { return time.Duration(*d).String() }
func (d *positiveDuration) Set(s string) error {
	v, err := ParseDuration(s)
	if err == nil && v == 0 {
		err = fmt.Errorf("%q must be more than zero", tiles.Clip(s, 64))
	}
	if err != nil {
		return err
	}
	*d = positiveDuration(v)
	return nil
}

type nonNegDuration time.Duration

func (d *nonNegDuration) String() string { return time.Duration(*d).String() }
func (d *nonNegDuration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = nonNegDuration(v)
	return nil
}
