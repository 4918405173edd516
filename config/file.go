package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"vitrine/sim"
	"vitrine/web"
)

// maxFileSize bounds the config file: anything larger is not one.
const maxFileSize = 1 << 20

// fileConfig is a config file as written, each value still a YAML node so
// that a bad one is reported at its line and column. Its keys are the
// flags' names.
type fileConfig struct {
	Addr            node       `yaml:"addr"`
	AdminAddr       node       `yaml:"admin-addr"`
	TileTimeout     node       `yaml:"tile-timeout"`
	PageTimeout     node       `yaml:"page-timeout"`
	ShutdownTimeout node       `yaml:"shutdown-timeout"`
	TestDelay       node       `yaml:"test-delay"`
	Cache           node       `yaml:"cache"`
	Fallback        node       `yaml:"fallback"`
	CacheSize       node       `yaml:"cache-size"`
	Redis           node       `yaml:"redis"` // a URL, or a mapping: fileRedis
	Tiles           []fileTile `yaml:"tiles"`
}

// fileTile is one entry of the file's tiles.
type fileTile struct {
	Name         node `yaml:"name"`
	URL          node `yaml:"url"`
	Latency      node `yaml:"latency"` // the simulator only
	Fail         node `yaml:"fail"`    // the simulator only
	Timeout      node `yaml:"timeout"`
	TTL          node `yaml:"ttl"`
	MaxStale     node `yaml:"max-stale"`
	Hedge        node `yaml:"hedge"`
	Breaker      node `yaml:"breaker"`
	Bulkhead     node `yaml:"bulkhead"`
	Personalised node `yaml:"personalised"`
	Primary      node `yaml:"primary"`
	Fallback     node `yaml:"fallback"`
	View         node `yaml:"view"`
	MaxBody      node `yaml:"max-body"`
}

// node is a value of the file as the YAML decoder found it (aliases
// resolved); nil when the key is absent or null.
type node struct{ ast.Node }

func (n *node) UnmarshalYAML(v ast.Node) error {
	n.Node = v
	return nil
}

// loadConfig loads the file that -config in args, else VITRINE_CONFIG,
// names, if any, as the base of c: its settings and its tiles. It returns
// the page-wide keys the file gave.
func (c *Config) loadConfig(args []string, getenv func(string) string) (map[string]bool, error) {
	path, env := configPath(args, getenv)
	if path == "" {
		return nil, nil
	}
	c.File = path
	data, err := readConfig(path)
	if err != nil {
		return nil, &Error{Flag: "-config", Env: env, Msg: oneLine(err.Error(), 256)}
	}
	return c.loadFile(path, data)
}

// configPath finds the config file's path as the flag package will read
// it from args (the last -config wins), else in VITRINE_CONFIG, whose name
// it returns too. It stops where the flag package would stop, and at -h,
// which asks only for help.
func configPath(args []string, getenv func(string) string) (path, env string) {
	probe := defaults()
	fs := newFlagSet(&probe, nil)
	found := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		f := fs.Lookup(name)
		if f == nil {
			return "", "" // -h, or an unknown flag that Parse reports
		}
		if name == "config" {
			if !hasValue && i+1 == len(args) {
				break // Parse reports the missing value
			}
			if !hasValue {
				value = args[i+1]
			}
			path, found = value, true
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) {
			i++ // the flag's value
		}
	}
	if found {
		return path, ""
	}
	return getenv(EnvName("config")), EnvName("config")
}

// readConfig reads the config file, which must be small.
func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if pe := (*os.PathError)(nil); errors.As(err, &pe) {
		return nil, fmt.Errorf("read %s: %w", path, pe.Err) // "read FILE: is a directory"
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is over %d KiB: not a config file", path, maxFileSize>>10)
	}
	return data, nil
}

// loadFile reads the YAML in data, from the file path, into c.
func (c *Config) loadFile(path string, data []byte) (map[string]bool, error) {
	l := &loader{path: path, cfg: c}
	body, err := l.body(data)
	if err != nil {
		return nil, err
	}
	var raw fileConfig
	if err := decode(body, &raw); err != nil {
		return nil, l.yamlError(err, body)
	}
	given := l.page(raw)
	l.redis(raw.Redis, body)
	l.tiles(raw.Tiles, body)
	return given, l.err
}

// decode decodes body into raw, refusing unknown keys. Duplicate keys are
// the parser's to refuse: the decoder would also refuse a key that
// overrides one from a merge (<<). YAML tags are refused, as the decoder
// may panic on one it does not know, and so is any other panic of the
// decoder: a bad file must stop Vitrine with a message, never a crash.
func decode(body ast.Node, raw *fileConfig) (err error) {
	ast.Walk(visitor(func(n ast.Node) {
		if tag, ok := n.(*ast.TagNode); ok && err == nil {
			err = &yaml.SyntaxError{Message: fmt.Sprintf("the YAML tag %s: a config file has no tags", oneLine(tag.Start.Value, 32)), Token: tag.Start}
		}
	}), body)
	if err != nil {
		return err
	}
	return noPanic(func() error {
		return yaml.NodeToValue(body, raw, yaml.DisallowUnknownField(), yaml.AllowDuplicateMapKey())
	})
}

// noPanic calls f, a call into the YAML library, turning a panic into an
// error.
func noPanic(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML library failed on this file (%v)", r)
		}
	}()
	return f()
}

// loader turns a decoded file into a Config, keeping the first problem.
type loader struct {
	path string
	cfg  *Config
	err  error
}

// body parses data and returns its one YAML document.
func (l *loader) body(data []byte) (ast.Node, error) {
	var f *ast.File
	err := noPanic(func() (err error) {
		f, err = parser.ParseBytes(data, 0)
		return err
	})
	if err != nil {
		return nil, l.yamlError(err, nil)
	}
	var body ast.Node
	for _, doc := range f.Docs {
		switch {
		case doc.Body == nil:
		case body != nil:
			tk := doc.Start
			if tk == nil {
				tk = start(doc.Body)
			}
			return nil, l.at(tk, "a second YAML document: the file holds one")
		default:
			body = doc.Body
		}
	}
	if body == nil {
		return nil, l.at(nil, "the file is empty; list the page's tiles under tiles:")
	}
	return body, nil
}

// page applies the page-wide keys with their flags' parsers and returns
// the keys given.
func (l *loader) page(raw fileConfig) map[string]bool {
	fs := newFlagSet(l.cfg, nil)
	given := map[string]bool{}
	for _, kv := range []struct {
		key string
		n   node
	}{
		{"addr", raw.Addr}, {"admin-addr", raw.AdminAddr}, {"tile-timeout", raw.TileTimeout},
		{"page-timeout", raw.PageTimeout}, {"shutdown-timeout", raw.ShutdownTimeout},
		{"test-delay", raw.TestDelay}, {"cache", raw.Cache}, {"fallback", raw.Fallback},
		{"cache-size", raw.CacheSize},
	} {
		apply(l, kv.key, kv.n, func(s string) (string, error) { return s, fs.Lookup(kv.key).Value.Set(s) }, func(string) {})
		given[kv.key] = kv.n.Node != nil
	}
	return given
}

// apply parses n, if given, and hands its value to set; a bad value is
// the loader's problem at n, named by key.
func apply[T any](l *loader, key string, n node, parse func(string) (T, error), set func(T)) {
	if n.Node == nil || l.err != nil {
		return
	}
	s, err := scalarText(n.Node)
	if err == nil {
		var v T
		if v, err = parse(s); err == nil {
			set(v)
			return
		}
	}
	l.fail(n.Node, key, err)
}

// scalarText returns a single value's text as written (a quoted string
// unquoted), for the flags' parsers.
func scalarText(n ast.Node) (string, error) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, nil
	case *ast.LiteralNode:
		return n.Value.Value, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, nil
	}
	return "", fmt.Errorf("wants a single value, not a %s", strings.ToLower(n.Type().String()))
}

// tileNodes returns the entries of the file's tiles list, to place a
// problem of a whole tile, and the node that places a problem of the list:
// the list, else the document.
func tileNodes(body ast.Node) (entries []ast.Node, list ast.Node) {
	m, ok := body.(*ast.MappingNode)
	if !ok {
		return nil, body
	}
	for _, kv := range m.Values {
		if kv.Key.String() != "tiles" {
			continue
		}
		v := kv.Value
		for {
			switch n := v.(type) {
			case *ast.AnchorNode:
				v = n.Value
				continue
			case *ast.TagNode:
				v = n.Value
				continue
			case *ast.SequenceNode:
				return n.Values, n
			}
			return nil, kv.Value
		}
	}
	return nil, body
}

// fail records a problem with the value n of key, unless there is one.
func (l *loader) fail(n ast.Node, key string, err error) {
	if l.err == nil {
		l.err = l.at(start(n), key+": "+err.Error())
	}
}

// start is the token where n begins: a mapping's own token is its first
// colon, so it is placed at its first key.
func start(n ast.Node) *token.Token {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		n = m.Values[0]
	}
	if kv, ok := n.(*ast.MappingValueNode); ok {
		n = kv.Key
	}
	if n == nil {
		return nil
	}
	return n.GetToken()
}

// at returns the problem msg at tk in the file (tk nil: the whole file).
func (l *loader) at(tk *token.Token, msg string) *Error {
	e := &Error{Flag: "-config", File: l.path, Msg: msg}
	if tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	return e
}

// yamlError places an error of the YAML parser or decoder, on one line:
// their own text quotes the source over several.
func (l *loader) yamlError(err error, body ast.Node) *Error {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return l.at(nil, libraryMessage(err.Error()))
	}
	msg := libraryMessage(ye.GetMessage())
	if _, ok := ye.(*yaml.UnknownFieldError); ok && body != nil {
		msg = unknownKey(body, ye.GetToken())
	}
	return l.at(ye.GetToken(), msg)
}

// unknownKey says which key at tk is unknown, and the keys that are known
// where it is.
func unknownKey(body ast.Node, tk *token.Token) string {
	path := ""
	ast.Walk(visitor(func(n ast.Node) {
		if kv, ok := n.(*ast.MappingValueNode); ok && kv.Key.GetToken() == tk {
			path = strings.TrimPrefix(kv.GetPath(), "$.")
		}
	}), body)
	known, where := yamlKeys(fileConfig{}), "the file's"
	switch {
	case strings.HasPrefix(path, "tiles["):
		known, where = yamlKeys(fileTile{}), "a tile's"
	case strings.HasPrefix(path, "redis."):
		known, where = yamlKeys(fileRedis{}), "redis's"
	}
	if path == "" {
		path = tk.Value
	}
	return fmt.Sprintf("%s: unknown key (%s keys: %s)", oneLine(path, 64), where, strings.Join(known, ", "))
}

// visitor calls f for every node of a walk.
type visitor func(ast.Node)

func (v visitor) Visit(n ast.Node) ast.Visitor {
	v(n)
	return v
}

// yamlKeys lists the keys of a file's struct, from its tags.
func yamlKeys(v any) []string {
	t := reflect.TypeOf(v)
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("yaml")
	}
	return keys
}

// libraryMessage makes a message of the YAML library one bounded line:
// it may quote the file, tabs and line breaks included.
func libraryMessage(msg string) string {
	msg = strings.ReplaceAll(msg, "\t", `\t`)
	msg = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, msg)
	return oneLine(msg, 256)
}

// fallbackJSON turns a tile's fallback, any YAML value, into JSON.
func fallbackJSON(n ast.Node) (json.RawMessage, error) {
	var v any
	if err := noPanic(func() error { return yaml.NodeToValue(n, &v) }); err != nil {
		return nil, fmt.Errorf("%s", libraryMessage(yaml.FormatError(err, false, false)))
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot be written as JSON: %v", err)
	}
	return data, nil
}

// tiles replaces the page's tiles with fts, the tiles of the document
// body.
func (l *loader) tiles(fts []fileTile, body ast.Node) {
	if l.err != nil {
		return
	}
	at, list := tileNodes(body)
	if len(fts) == 0 {
		l.err = l.at(start(list), "tiles: the file lists no tiles; list the page's tiles, in page order, under tiles:")
		return
	}
	l.cfg.clearTiles()
	primary := -1
	for i, ft := range fts {
		var n ast.Node = ft.Name.Node
		if i < len(at) {
			n = at[i]
		}
		l.tile(fmt.Sprintf("tiles[%d]", i), ft, n)
		if l.err != nil {
			return
		}
		if t := l.cfg.Tiles[i]; t.Primary && primary >= 0 {
			l.fail(ft.Primary.Node, fmt.Sprintf("tiles[%d].primary", i),
				fmt.Errorf("tiles[%d] (%s) is already the primary tile; at most one tile may be", primary, l.cfg.Tiles[primary].Name))
		} else if t.Primary {
			primary = i
		}
	}
}

// tile adds the tile ft, the entry at of the list, called path in
// messages.
func (l *loader) tile(path string, ft fileTile, at ast.Node) {
	if ft.Name.Node == nil {
		l.err = l.at(start(at), path+": no name; every tile needs one")
		return
	}
	var t Tile
	apply(l, path+".name", ft.Name, l.newName, func(name string) { t = newTile(name) })
	apply(l, path+".url", ft.URL, ParseBackendURL, func(u string) { t.URL = u })
	apply(l, path+".personalised", ft.Personalised, parseBool, func(b bool) { t.Personalised = b })
	apply(l, path+".primary", ft.Primary, parseBool, func(b bool) { t.Primary = b })
	apply(l, path+".view", ft.View, parseView, func(v string) { t.View = v })
	apply(l, path+".timeout", ft.Timeout, positive(ParseDuration), func(d time.Duration) { t.Timeout = d })
	apply(l, path+".bulkhead", ft.Bulkhead, parseCount, func(n int) { t.Bulkhead = n })
	apply(l, path+".max-body", ft.MaxBody, parseMaxBody, func(n int64) { t.MaxBody = n })
	if ft.Fallback.Node != nil && l.err == nil {
		data, err := fallbackJSON(ft.Fallback.Node)
		if err != nil {
			l.fail(ft.Fallback.Node, path+".fallback", err)
		}
		t.Fallback = data
	}
	l.checkSource(path, ft, t, at)
	if l.err != nil {
		return
	}
	l.cfg.addTile(t, defaultLatency(t.Name))
	l.policy(path, ft, t.Name)
}

// newName checks a tile's name and that no earlier tile has it.
func (l *loader) newName(s string) (string, error) {
	name, err := parseTileName(s)
	if err == nil && slices.Contains(l.cfg.tileNames(), name) {
		err = fmt.Errorf("%q names an earlier tile too; names are unique", name)
	}
	return name, err
}

// checkSource checks that t has a source: its url, else the simulator of
// a built-in tile, and only that source's keys.
func (l *loader) checkSource(path string, ft fileTile, t Tile, at ast.Node) {
	if l.err != nil {
		return
	}
	_, simulated := builtin(t.Name)
	for _, sim := range []struct {
		key string
		n   node
	}{{"latency", ft.Latency}, {"fail", ft.Fail}} {
		if t.URL != "" && sim.n.Node != nil {
			l.fail(sim.n.Node, path+"."+sim.key, errors.New("simulates a built-in tile's backend, but this tile has a url"))
		}
	}
	switch {
	case t.URL == "" && !simulated:
		l.fail(at, path, fmt.Errorf("%q is not a built-in tile (%s), so it needs the url of its backend",
			t.Name, strings.Join(sim.Names(), ", ")))
	case t.URL == "" && t.View == web.ViewHTML:
		l.fail(ft.View.Node, path+".view", errors.New("html is a fragment from an HTTP backend, but this tile has no url"))
	}
}

// policy applies the tile's cache and resilience keys over its defaults.
func (l *loader) policy(path string, ft fileTile, name string) {
	c := l.cfg
	apply(l, path+".latency", ft.Latency, parseLatency, func(v latency) { c.setLatency(name, v) })
	apply(l, path+".fail", ft.Fail, ParseProbability, func(p float64) { c.Fail[name] = p })
	apply(l, path+".ttl", ft.TTL, ParseDuration, func(d time.Duration) { c.pinTTL(name, d) })
	apply(l, path+".max-stale", ft.MaxStale, ParseDuration, func(d time.Duration) { c.MaxStale[name] = d })
	apply(l, path+".hedge", ft.Hedge, ParseHedge, func(h Hedge) { c.Hedge[name] = h })
	apply(l, path+".breaker", ft.Breaker, parseCount, func(n int) { c.Breaker[name] = n })
}
