package config

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// setting is one setting, known by its key (a flag's name, the file's key),
// parsed from text by set or, from a YAML node that is not text, by node. A
// list flag takes name=value pairs, each value the named tile's setting list.
type setting struct {
	key, usage string
	set        func(string) error
	show       func() string // the value, for -h
	node       func(ast.Node) error
	list       string
	tiles      func() []Tile // a list flag's tiles
	isBool     bool          // a bare -key means true
}

// field is the setting key of *p, parsed by parse.
func field[T any](key string, p *T, parse func(string) (T, error)) setting {
	_, isBool := any(p).(*bool)
	return setting{key: key, isBool: isBool,
		set:  func(s string) (err error) { *p, err = parse(s); return err },
		show: func() string { return fmt.Sprint(*p) },
	}
}

// opt is field with a usage, for -h.
func opt[T any](key, usage string, p *T, parse func(string) (T, error)) setting {
	s := field(key, p, parse)
	s.usage = usage
	return s
}

// list is the list flag key: name=value pairs, each value the named tile's
// setting tileKey. -h shows the values other than the zero one.
func list(key, usage, tileKey string, tiles func() []Tile) setting {
	return setting{key: key, usage: usage, list: tileKey, tiles: tiles, show: func() string {
		zero, _ := lookup((&Tile{}).settings(), tileKey)
		var pairs []string
		for _, t := range tiles() {
			if v, _ := lookup(t.settings(), tileKey); v.show() != zero.show() {
				pairs = append(pairs, t.Name+"="+v.show())
			}
		}
		slices.Sort(pairs)
		return strings.Join(pairs, ",")
	}}
}

// secret is opt for a secret, which -h never shows.
func secret(key, usage string, p *string, parse func(string) (string, error)) setting {
	s := opt(key, usage, p, parse)
	s.show = nil
	return s
}

// lookup returns the setting called key, if there is one.
func lookup(all []setting, key string) (setting, bool) {
	i := slices.IndexFunc(all, func(s setting) bool { return s.key == key })
	if i < 0 {
		return setting{}, false
	}
	return all[i], true
}

// options are the server's flags, over the parser's Config.
func (p *parser) options() []setting {
	c := &p.cfg
	tiles := func() []Tile { return c.Tiles }
	return append([]setting{
		opt("config", "a YAML `file` describing the page: its tiles in page order, their sources and policies, "+
			"page-wide settings; flags override it", &c.File, text),
		opt("check", "validate the configuration (the -config file and the flags), print nothing and exit 0, "+
			"or print the problem and exit 2; on the command line only (VITRINE_CHECK is an error)", &c.Check, parseBool),
		list("backend", "fetch a tile from an HTTP service instead of the simulator, `name=url` pairs "+
			"(absolute http or https urls)", "url", tiles),
		opt("addr", "listen `address` (host:port; port 0 picks a free one)", &c.Addr, checkedAddr),
		opt("admin-addr", "listen `address` of the operator port, which serves /metrics, /tiles with the backends' "+
			"hosts, /debug/pprof/ and /healthz; when set, the public port serves neither /metrics nor pprof (unset: "+
			"/metrics is on the public port, pprof nowhere); it has no authentication: keep it on a private interface",
			&c.AdminAddr, optionalAddr),
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
		opt("cache", "cache tiles and coalesce concurrent fetches; -cache=false fetches every tile for every "+
			"page", &c.Cache, parseBool),
		opt("fallback", "serve a tile's static default (its anonymous content from the catalogue in the "+
			"binary; for recommendations, the bestsellers) when nothing fresh or stale can be; -fallback=false "+
			"reports the timeout or error instead", &c.Fallback, parseBool),
		opt("cache-size", "most `entries` each tile's cache holds", &c.CacheSize, positive(parseCount)),
		{key: "cache-bytes", usage: "most `bytes` all tiles' memory caches hold (e.g. 64MiB), shared equally by " +
			"the tiles that cache", show: func() string { return sizeText(c.CacheBytes) },
			set: func(s string) (err error) { c.CacheBytes, err = parseCacheBytes(s); return err }},
		list("ttl", "how long a tile's cached content is fresh, `name=duration` pairs, even if its backend's "+
			"Cache-Control says otherwise; 0 turns that tile's cache off", "ttl", tiles),
		list("max-stale", "how long past its TTL cached content may still be served when the backend fails, "+
			"`name=duration` pairs", "max-stale", tiles),
		list("max-ttl", "how long a tile's backend may say its answer is fresh at most (its Cache-Control max-age "+
			"is cut to it), `name=duration` pairs; unset: the file's max-ttl, else 10m", "max-ttl", tiles),
		list("hedge", "when to send a second, hedged request, `name=off|p95|duration` pairs; p95 follows the "+
			"tile's observed p95", "hedge", tiles),
		list("breaker", "consecutive failures that open a tile's circuit breaker, `name=n` pairs; 0 for no "+
			"breaker", "breaker", tiles),
	}, p.serviceOptions()...)
}

// serviceOptions are the flags of the services around the page: Redis,
// tracing, secrets and identity.
func (p *parser) serviceOptions() []setting {
	c := &p.cfg
	return []setting{
		{key: "redis", set: c.Redis.setURL, usage: "a shared Redis cache tier under the in-memory one, as a `url`: " +
			"redis://[:password@]host:port/db, or rediss:// for TLS; it replaces the -config file's redis nodes, " +
			"and an empty url turns the tier off; with a password, prefer VITRINE_REDIS or the file's redis: url, " +
			"off the command line"},
		opt("redis-prefix", "the `prefix` of every key Vitrine writes in Redis (no spaces or braces)",
			&c.Redis.Prefix, parseRedisPrefix),
		opt("trace", "OpenTelemetry tracing: off, stdout (spans as JSON lines) or otlp (OTLP/HTTP to "+
			"OTEL_EXPORTER_OTLP_ENDPOINT); the standard OTEL_* variables apply", &c.Trace, ParseTraceMode),
		{key: "trace-sample", usage: "share of traces kept when tracing, a `ratio` in [0, 1]; unset, " +
			"OTEL_TRACES_SAMPLER says, else 0.1; spans that end in error are kept whatever it says",
			set: func(s string) error { v, err := ParseProbability(s); c.TraceSample = &v; return err }},
		secret("key-secret", "the `secret` (16 bytes or more) of the keyed hash that stands for a user id in "+
			"cache keys; replicas sharing -redis need the same one; prefer VITRINE_KEY_SECRET, off the command "+
			"line (unset: a random secret per process)", &c.KeySecret, parseKeySecret),
		opt("identity", "where the shopper's id comes from: query (the user parameter, which anyone can set), jwt "+
			"(a verified bearer token), cookie (a signed session cookie) or header (a trusted proxy's); the "+
			"-config file's identity: holds what each needs (docs/identity.md)", &c.Identity.Source, parseIdentitySource),
		{key: "identity-keys", usage: "the signed cookie's hash `keys`, comma-separated, each 32 bytes or more, the " +
			"first signing and all verifying; best set as VITRINE_IDENTITY_KEYS, so that no secret is in a file or " +
			"the process list", set: func(s string) (err error) { c.Identity.Keys, err = parseKeys(s); return err }},
		opt("redis-timeout", "deadline (a `duration`) of each Redis call; a slower Redis is skipped, as if it "+
			"were down", &c.Redis.Timeout, positive(ParseDuration)),
	}
}

// apply sets value as the flag s's, from the variable env if not "". A list
// marks in named the tiles the command line sets, which a variable does not.
func (s setting) apply(value, env string, named map[string]bool) error {
	if s.list == "" {
		return s.set(value)
	}
	tiles, names := s.tiles(), []string{}
	for _, t := range tiles {
		names = append(names, t.Name)
	}
	return eachPair(value, names, func(name, v string) error {
		t, key := &tiles[slices.Index(names, name)], s.key+"."+name
		if env != "" && named[key] {
			t = &Tile{}
		}
		named[key] = named[key] || env == ""
		return t.set(s.list, v)
	})
}

// apply sets the command line's flags, then the variables of others and lists.
func (p *parser) apply(cmd []arg, getenv func(string) string) error {
	named := map[string]bool{} // the flags given, and a list's tiles as flag.tile
	for _, a := range cmd {
		if err := a.s.apply(a.value, "", named); err != nil {
			return &Error{Flag: "-" + a.s.key, Msg: err.Error()}
		}
		named[a.s.key], p.given[a.s.key] = true, true
	}
	for _, s := range p.options() {
		env := EnvName(s.key)
		if s.key == "check" && getenv(env) != "" { // a variable must not turn the server into another command
			return &Error{Flag: "-check", Env: env, Msg: "is a command-line flag only; unset " + env}
		}
		if v := getenv(env); v != "" && (s.list != "" || !named[s.key]) {
			if err := s.apply(v, env, named); err != nil {
				return &Error{Flag: "-" + s.key, Env: env, Msg: err.Error()}
			}
			p.given[s.key] = true
		}
	}
	return nil
}

// arg is a flag of the command line and its value as given.
type arg struct {
	s     setting
	value string
}

// scan reads a command line as the flag package does (-name=value, -name
// value, a bare boolean -name; "--" or a non-flag ends the flags), refusing
// arguments. It checks only the names: the values are read over the file.
func scan(args []string, flags []setting, prog string) ([]arg, error) {
	var out []arg
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		a := args[0]
		if args = args[1:]; a == "--" {
			break
		}
		raw := strings.TrimPrefix(a[1:], "-")
		if raw == "" || raw[0] == '-' || raw[0] == '=' {
			return nil, &Error{Flag: "flags", Msg: "bad flag syntax: " + oneLine(a, 128)}
		}
		name, value, hasValue := strings.Cut(raw, "=")
		s, ok := lookup(flags, name)
		switch {
		case !ok && (name == "h" || name == "help"):
			return nil, ErrHelp
		case !ok:
			return nil, &Error{Flag: oneLine("-"+name, 64), Msg: "unknown flag (see -h)"}
		case !hasValue && s.isBool:
			value = "true"
		case !hasValue && len(args) == 0:
			return nil, &Error{Flag: "-" + name, Msg: "needs a value"}
		case !hasValue:
			value, args = args[0], args[1:]
		}
		out = append(out, arg{s, value})
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
	fmt.Fprintf(w, "Usage: vitrine [flags]\n\nServes the homepage at /home. Every flag but -check may also be "+
		"set with VITRINE_<FLAG>, e.g. VITRINE_TILE_TIMEOUT=1s; flags override the variables, which override the "+
		"-config file.\n\n")
	printFlags(w, p.options())
}

// printFlags writes flags with their defaults, by the flag package.
func printFlags(w io.Writer, flags []setting) {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(w)
	for _, s := range flags {
		fs.Var(s, s.key, s.usage)
	}
	fs.PrintDefaults()
}

// A setting is a flag.Value only for printFlags: scan reads the command line.
func (s setting) String() string {
	if s.show == nil {
		return ""
	}
	return s.show()
}

func (s setting) Set(string) error { return nil }
func (s setting) IsBoolFlag() bool { return s.isBool }

// EnvName is a flag's variable: VITRINE_TILE_TIMEOUT for tile-timeout.
func EnvName(flagName string) string {
	return "VITRINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
