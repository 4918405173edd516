package config

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// option is a flag of the command line, also read from its VITRINE_*
// variable. A page-wide option parses its value with set; a list (key
// given) takes name=value pairs, each value the named tile's setting key.
type option struct {
	name, usage string
	set         func(string) error
	show        func() string // the default, for -h; nil shows none
	key         string
	tiles       func() []Tile // a list's tiles
	isBool      bool          // a bare -name means true
}

// opt is the option name over *p, parsed by parse.
func opt[T any](name, usage string, p *T, parse func(string) (T, error)) option {
	s := field(name, p, parse)
	return option{name: name, usage: usage, set: s.set, show: s.show}
}

func boolOpt(name, usage string, p *bool) option {
	o := opt(name, usage, p, parseBool)
	o.isBool = true
	return o
}

func list(name, usage, key string, tiles func() []Tile) option {
	return option{name: name, usage: usage, key: key, tiles: tiles}
}

// options are the server's flags, over the parser's Config.
func (p *parser) options() []option {
	c := &p.cfg
	tiles := func() []Tile { return c.Tiles }
	return []option{
		opt("config", "a YAML `file` describing the page: its tiles in page order, their sources and policies, "+
			"page-wide settings; flags override it", &c.File, text),
		boolOpt("check", "validate the configuration (the -config file and the flags), print nothing and exit 0, "+
			"or print the problem and exit 2", &c.Check),
		list("backend", "fetch a tile from an HTTP service instead of the simulator, `name=url` pairs "+
			"(absolute http or https urls)", "url", tiles),
		opt("addr", "listen `address` (host:port; port 0 picks a free one)", &c.Addr, checkedAddr),
		opt("admin-addr", "listen `address` of the operator port, which serves /metrics, /debug/pprof/ and /healthz; "+
			"when set, the public port serves neither /metrics nor pprof (unset: /metrics is on the public port, "+
			"pprof nowhere)", &c.AdminAddr, optionalAddr),
		list("latency", "simulated latency per tile, `name=duration` pairs, each optionally with a heavy tail as in "+
			"recommendations=120ms/p99=1s (1 fetch in 100 takes 1s); for a tile with a url, the latency expected of "+
			"its backend, which bounds its hedging", "latency", tiles),
		list("fail", "simulated failure probability per tile, `name=p` pairs with 0 <= p <= 1; ignored for a tile "+
			"with a url", "fail", tiles),
		opt("tile-timeout", "how long (a `duration`) one tile may take before it is reported as timed out",
			&c.TileTimeout, positive(ParseDuration)),
		opt("test-delay", "how long (a `duration`) GET /test waits before answering", &c.TestDelay, ParseDuration),
		opt("shutdown-timeout", "how long (a `duration`) a shutdown (SIGTERM, SIGINT) waits for the requests in "+
			"flight before it closes their connections", &c.ShutdownTimeout, positive(ParseDuration)),
		opt("page-timeout", "deadline (a `duration`) of a whole page over all its tiles, twice -tile-timeout "+
			"unless set; 0 for none", &c.PageTimeout, ParseDuration),
		boolOpt("cache", "cache tiles and coalesce concurrent fetches; -cache=false fetches every tile for every "+
			"page", &c.Cache),
		boolOpt("fallback", "serve a tile's static default (its anonymous content from the catalogue in the "+
			"binary; for recommendations, the bestsellers) when nothing fresh or stale can be; -fallback=false "+
			"reports the timeout or error instead", &c.Fallback),
		opt("cache-size", "most `entries` each tile's cache holds", &c.CacheSize, positive(parseCount)),
		list("ttl", "how long a tile's cached content is fresh, `name=duration` pairs, even if its backend's "+
			"Cache-Control says otherwise; 0 turns that tile's cache off", "ttl", tiles),
		list("max-stale", "how long past its TTL cached content may still be served when the backend fails, "+
			"`name=duration` pairs", "max-stale", tiles),
		list("hedge", "when to send a second, hedged request, `name=off|p95|duration` pairs; p95 follows the "+
			"tile's observed p95", "hedge", tiles),
		list("breaker", "consecutive failures that open a tile's circuit breaker, `name=n` pairs; 0 for no "+
			"breaker", "breaker", tiles),
		{name: "redis", set: c.Redis.setURL, usage: "a shared Redis cache tier under the in-memory one, as a `url`: " +
			"redis://[:password@]host:port/db, or rediss:// for TLS; it replaces the -config file's redis nodes, " +
			"and an empty url turns the tier off"},
		opt("redis-prefix", "the `prefix` of every key Vitrine writes in Redis (no spaces or braces)",
			&c.Redis.Prefix, parseRedisPrefix),
		opt("trace", "OpenTelemetry tracing: off, stdout (spans as JSON lines) or otlp (OTLP/HTTP to "+
			"OTEL_EXPORTER_OTLP_ENDPOINT); the standard OTEL_* variables apply", &c.Trace, ParseTraceMode),
		{name: "trace-sample", usage: "share of traces kept when tracing, a `ratio` in [0, 1]; unset, " +
			"OTEL_TRACES_SAMPLER says, else 1; spans that end in error are kept whatever it says",
			set: func(s string) error { v, err := ParseProbability(s); c.TraceSample = &v; return err }},
		opt("redis-timeout", "deadline (a `duration`) of each Redis call; a slower Redis is skipped, as if it "+
			"were down", &c.Redis.Timeout, positive(ParseDuration)),
	}
}

// apply sets value as o's. A list checks but does not set the pairs of
// the tiles skip names, and returns the tiles it named.
func (o option) apply(value string, skip func(tile string) bool) ([]string, error) {
	if o.key == "" {
		return nil, o.set(value)
	}
	tiles, names := o.tiles(), []string{}
	for _, t := range tiles {
		names = append(names, t.Name)
	}
	var named []string
	err := eachPair(value, names, func(name, v string) error {
		named = append(named, name)
		t := &Tile{}
		if !skip(name) {
			t = &tiles[slices.Index(names, name)]
			t.mark(o.key)
		}
		return t.setting(o.key).set(v)
	})
	return named, err
}

// shown is o's default as -h shows it: a list's values other than the
// zero one, by tile.
func (o option) shown() string {
	if o.key == "" {
		if o.show == nil {
			return ""
		}
		return o.show()
	}
	zero := (&Tile{}).setting(o.key).show()
	var pairs []string
	for _, t := range o.tiles() {
		if v := t.setting(o.key).show(); v != zero {
			pairs = append(pairs, t.Name+"="+v)
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// apply sets the command line's flags, then the variable of each flag it
// did not give; a list merges with its variable instead, the command line
// winning tile by tile.
func (p *parser) apply(cmd []arg, opts []option, getenv func(string) string) error {
	named := map[string]bool{} // the flags given, and a list's tiles as flag.tile
	for _, a := range cmd {
		tiles, err := a.o.apply(a.value, func(string) bool { return false })
		if err != nil {
			return &Error{Flag: "-" + a.o.name, Msg: err.Error()}
		}
		named[a.o.name], p.given[a.o.name] = true, true
		for _, t := range tiles {
			named[a.o.name+"."+t] = true
		}
	}
	for _, o := range opts {
		env := EnvName(o.name)
		v := getenv(env)
		if v == "" || named[o.name] && o.key == "" {
			continue
		}
		if _, err := o.apply(v, func(t string) bool { return named[o.name+"."+t] }); err != nil {
			return &Error{Flag: "-" + o.name, Env: env, Msg: err.Error()}
		}
		p.given[o.name], p.env[o.name] = true, env
	}
	return nil
}

// lookup returns the option called name, if there is one.
func lookup(opts []option, name string) (option, bool) {
	i := slices.IndexFunc(opts, func(o option) bool { return o.name == name })
	if i < 0 {
		return option{}, false
	}
	return opts[i], true
}

// arg is a flag of the command line and its value as given.
type arg struct {
	o     option
	value string
}

// scan reads a command line as the flag package does: -name=value, -name
// value, or a bare -name for a boolean, with one dash or two; "--" or the
// first argument that is not a flag ends the flags, and an argument left
// is refused. It checks only the names: the values are read over the file.
func scan(args []string, opts []option, prog string) ([]arg, error) {
	var out []arg
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		a := args[0]
		args = args[1:]
		if a == "--" {
			break
		}
		raw := strings.TrimPrefix(a[1:], "-")
		if raw == "" || raw[0] == '-' || raw[0] == '=' {
			return nil, &Error{Flag: "flags", Msg: "bad flag syntax: " + oneLine(a, 128)}
		}
		name, value, hasValue := strings.Cut(raw, "=")
		o, ok := lookup(opts, name)
		switch {
		case !ok && (name == "h" || name == "help"):
			return nil, ErrHelp
		case !ok:
			return nil, &Error{Flag: oneLine("-"+name, 64), Msg: "unknown flag (see -h)"}
		case !hasValue && o.isBool:
			value = "true"
		case !hasValue && len(args) == 0:
			return nil, &Error{Flag: "-" + name, Msg: "needs a value"}
		case !hasValue:
			value, args = args[0], args[1:]
		}
		out = append(out, arg{o, value})
	}
	if len(args) > 0 {
		return nil, &Error{Flag: "arguments", Msg: fmt.Sprintf("unexpected %q: %s takes only flags", clip(args[0]), prog)}
	}
	return out, nil
}

// Usage writes the flags and their defaults to w.
func Usage(w io.Writer) {
	p := newParser()
	p.fill()
	fmt.Fprintf(w, "Usage: vitrine [flags]\n\nServes the homepage at /home. Every flag may also be set with "+
		"VITRINE_<FLAG>, e.g. VITRINE_TILE_TIMEOUT=1s; flags override the variables, which override the -config file.\n\n")
	printFlags(w, p.options())
}

// printFlags writes opts as the flag package's PrintDefaults does: by
// name, each with its `type` (the word in backquotes in its usage) and
// its default.
func printFlags(w io.Writer, opts []option) {
	slices.SortFunc(opts, func(a, b option) int { return strings.Compare(a.name, b.name) })
	for _, o := range opts {
		typ, usage := " value", o.usage
		if before, rest, ok := strings.Cut(usage, "`"); ok {
			name, after, _ := strings.Cut(rest, "`")
			typ, usage = " "+name, before+name+after
		} else if o.isBool {
			typ = ""
		}
		fmt.Fprintf(w, "  -%s%s\n    \t%s", o.name, typ, usage)
		if d := o.shown(); d != "" {
			fmt.Fprintf(w, " (default %s)", d)
		}
		fmt.Fprintln(w)
	}
}

// EnvName is the environment variable for a flag: VITRINE_TILE_TIMEOUT for
// tile-timeout.
func EnvName(flagName string) string {
	return "VITRINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
