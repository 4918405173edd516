package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/web"
)

// maxFileSize bounds the config file: anything larger is not one.
const maxFileSize = 1 << 20

// maxValues bounds the values a file stands for with its aliases expanded:
// nine anchors of ten aliases each would stand for a billion.
const maxValues = 100_000

// loadFile reads the file of the last -config, else of VITRINE_CONFIG: some
// page-wide flags, redis, and the tiles, which replace the built-in ones.
func (p *parser) loadFile(cmd []arg, getenv func(string) string) error {
	path, env := "", EnvName("config")
	for _, a := range cmd {
		if a.s.key == "config" {
			path, env = a.value, ""
		}
	}
	if env != "" {
		path = getenv(env)
	}
	if path == "" {
		return nil
	}
	data, err := readConfig(path)
	if err != nil {
		return &Error{Flag: "-config", Env: env, Msg: oneLine(err.Error(), 256)}
	}
	f := &file{path: path, p: p, anchors: map[string]ast.Node{}, urlAt: map[string]ast.Node{}}
	body, err := f.body(data)
	if err != nil {
		return err
	}
	var keys []setting
	for _, k := range []string{"addr", "admin-addr", "tile-timeout", "page-timeout", "shutdown-timeout",
		"test-delay", "cache", "fallback", "cache-size", "key-secret",
		"cache-bytes", "trace-sample"} {
		s, _ := lookup(p.options(), k)
		keys = append(keys, s)
	}
	keys = append(keys, field("max-ttl", &p.cfg.MaxTTL, positive(ParseDuration)),
		field("max-header-bytes", &p.cfg.MaxHeaderBytes, parseMaxBody),
		setting{key: "redis", node: f.redis}, setting{key: "identity", node: f.identity},
		setting{key: "tiles", node: f.tiles}, setting{key: "pages", node: func(ast.Node) error { return nil }})
	at, err := f.read(body, "", "the file's", keys, func(k string) { p.given[k] = true })
	switch {
	case err != nil:
		return err
	case !p.given["tiles"]:
		return f.at(start(body), "tiles: "+noTiles)
	case at["pages"] != nil:
		if err := f.pages(at["pages"]); err != nil {
			return err
		}
	}
	return f.checkParams()
}

// readConfig reads the config file, which must be small.
func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err == nil && len(data) > maxFileSize {
		err = fmt.Errorf("%s is over %d KiB: not a config file", path, maxFileSize>>10)
	}
	return data, err
}

// file is a config file being read into the parser's Config.
type file struct {
	path    string
	p       *parser
	anchors map[string]ast.Node // the values of the document's anchors, by name
	pathAt  []ast.Node          // where each page read so far has its path
	urlAt   map[string]ast.Node // each tile's url, by tile name
}

// body returns data's one YAML document; tags are refused (the library may panic).
func (f *file) body(data []byte) (ast.Node, error) {
	var doc *ast.File
	err := noPanic(func() (err error) {
		doc, err = yamlparser.ParseBytes(data, 0)
		return err
	})
	if err != nil {
		return nil, f.yamlError(err)
	}
	var body ast.Node
	for _, d := range doc.Docs {
		if d.Body != nil && body != nil {
			tk := d.Start
			if tk == nil {
				tk = start(d.Body)
			}
			return nil, f.at(tk, "a second YAML document: the file holds one")
		} else if d.Body != nil {
			body = d.Body
		}
	}
	if body == nil {
		return nil, f.at(nil, "the file is empty; list the page's tiles under tiles:")
	}
	if tags := ast.Filter(ast.TagType, body); len(tags) > 0 {
		tk := tags[0].GetToken()
		return nil, f.at(tk, fmt.Sprintf("the YAML tag %s: a config file has no tags", oneLine(tk.Value, 32)))
	}
	if _, over := values(body, map[string]int{}); over != nil {
		return nil, f.at(over.GetToken(), fmt.Sprintf("the file expands to more than %d values (a YAML alias bomb?)",
			maxValues))
	}
	for _, n := range ast.Filter(ast.AnchorType, body) {
		f.anchors[n.(*ast.AnchorNode).Name.GetToken().Value] = n.(*ast.AnchorNode).Value
	}
	return body, nil
}

// values counts the values n stands for with its aliases expanded, as a
// decoder meets them in document order (sizes holds each anchor's so far). It
// stops past maxValues, returning the node where the count went over.
func values(n ast.Node, sizes map[string]int) (int, ast.Node) {
	var parts []ast.Node
	switch v := n.(type) {
	case nil:
		return 0, nil
	case *ast.AliasNode:
		return max(sizes[v.Value.GetToken().Value], 1), nil
	case *ast.AnchorNode:
		size, over := values(v.Value, sizes)
		sizes[v.Name.GetToken().Value] = size
		return size, over
	case *ast.MappingNode:
		for _, kv := range v.Values {
			parts = append(parts, kv)
		}
	case *ast.MappingValueNode:
		parts = []ast.Node{v.Key, v.Value}
	case *ast.MappingKeyNode:
		parts = []ast.Node{v.Value}
	case *ast.SequenceNode:
		parts = v.Values
	}
	size := 1
	for _, part := range parts {
		n, over := values(part, sizes)
		if size += n; over == nil && size > maxValues {
			over = part
		}
		if over != nil {
			return size, over
		}
	}
	return size, nil
}

// read applies the mapping n, called path in messages, to settings (what's
// keys), marks each key given unless null, and returns the values by key.
func (f *file) read(n ast.Node, path, what string, settings []setting, mark func(string)) (map[string]ast.Node, error) {
	pairs, err := f.pairs(n, 0)
	if err != nil {
		return nil, err
	}
	values := map[string]ast.Node{}
	for _, kv := range pairs {
		at := strings.TrimPrefix(path+"."+kv.key, ".")
		i := slices.IndexFunc(settings, func(s setting) bool { return s.key == kv.key })
		if i < 0 {
			var keys []string
			for _, s := range settings {
				keys = append(keys, s.key)
			}
			return nil, f.at(kv.at, fmt.Sprintf("%s: unknown key (%s keys: %s)",
				oneLine(at, 64), what, strings.Join(keys, ", ")))
		}
		if kv.value == nil || kv.value.Type() == ast.NullType {
			continue
		}
		if s := settings[i]; s.node != nil {
			err = s.node(kv.value)
		} else {
			err = scalar(kv.value, s.set)
		}
		if err != nil {
			return nil, f.fail(kv.value, at, err)
		}
		values[kv.key] = kv.value
		mark(kv.key)
	}
	return values, nil
}

// pair is a key of a mapping, where it is, and its value.
type pair struct {
	key   string
	at    *token.Token
	value ast.Node
}

// pairs returns the pairs of the mapping n in order, values resolved, those
// of its merge keys (<<) first so that its own win.
func (f *file) pairs(n ast.Node, depth int) ([]pair, error) {
	m, ok := f.resolve(n).(ast.MapNode)
	switch {
	case depth > 8:
		return nil, f.at(start(n), "merge keys (<<) nest too deep")
	case !ok:
		return nil, f.at(start(n), f.resolve(n).Type().YAMLName()+" was used where mapping is expected")
	}
	var merged, own []pair
	for it := m.MapRange(); it.Next(); {
		k, v := it.Key(), f.resolve(it.Value())
		if !k.IsMergeKey() {
			own = append(own, pair{k.GetToken().Value, k.GetToken(), v})
			continue
		}
		more, err := f.pairs(v, depth+1)
		if err != nil {
			return nil, err
		}
		merged = append(merged, more...)
	}
	return append(merged, own...), nil
}

// resolve is n without its anchor, or what the alias n names.
func (f *file) resolve(n ast.Node) ast.Node {
	for range 16 { // an anchored alias names another
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			a, ok := f.anchors[v.Value.GetToken().Value]
			if !ok {
				return n
			}
			n = a
		default:
			return n
		}
	}
	return n
}

// tiles reads the file's tiles in place of the built-in ones.
func (f *file) tiles(n ast.Node) error {
	all, err := f.sequence(n, noTiles)
	f.p.cfg.Tiles = nil
	for i := 0; err == nil && i < len(all); i++ {
		err = f.tile(all[i], fmt.Sprintf("tiles[%d]", i))
	}
	return err
}

// sequence returns the values of the sequence n; none is the problem empty.
func (f *file) sequence(n ast.Node, empty string) ([]ast.Node, error) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		return nil, f.at(start(n), n.Type().YAMLName()+" was used where sequence is expected")
	}
	if len(seq.Values) == 0 {
		return nil, errors.New(empty)
	}
	return seq.Values, nil
}

// tile reads the tile n, called path in messages: it has one source (a url
// or a built-in simulator) and only its keys, and a name and primary of its own.
func (f *file) tile(n ast.Node, path string) error {
	var t Tile
	var user ast.Node
	at, err := f.read(n, path, "a tile's", append(t.settings(), setting{key: "forward", node: func(n ast.Node) error {
		return f.forward(n, path+".forward", &t, &user)
	}}), t.mark)
	if err == nil {
		err = f.checkForward(t, path, at, user)
	}
	if err == nil && t.URL != "" {
		f.urlAt[t.Name] = at["url"]
		if t.Params, err = urlParams(t.URL); err != nil {
			err = f.fail(at["url"], path+".url", err)
		}
	}
	if err != nil {
		return err
	}
	earlier := f.p.cfg.Tiles
	primary := slices.IndexFunc(earlier, func(e Tile) bool { return e.Primary })
	switch {
	case t.Name == "":
		return f.at(start(n), path+": no name; every tile needs one")
	case slices.ContainsFunc(earlier, func(e Tile) bool { return e.Name == t.Name }):
		return f.fail(at["name"], path+".name", fmt.Errorf("%q names an earlier tile too; names are unique", t.Name))
	case t.URL != "" && at["latency"] != nil:
		return f.fail(at["latency"], path+".latency", errors.New(simulatorOnly))
	case t.URL != "" && at["fail"] != nil:
		return f.fail(at["fail"], path+".fail", errors.New(simulatorOnly))
	case t.URL == "" && !slices.Contains(sim.Names(), t.Name):
		return f.at(start(n), fmt.Sprintf("%s: %q is not a built-in tile (%s), so it needs the url of its backend",
			path, t.Name, strings.Join(sim.Names(), ", ")))
	case t.URL == "" && t.View == web.ViewHTML:
		return f.fail(at["view"], path+".view",
			errors.New("html is a fragment from an HTTP backend, but this tile has no url"))
	case t.Primary && primary >= 0:
		return f.fail(at["primary"], path+".primary", fmt.Errorf(
			"tiles[%d] (%s) is already the primary tile; at most one tile may be", primary, earlier[primary].Name))
	}
	f.p.cfg.Tiles = append(earlier, t)
	return nil
}

const (
	simulatorOnly = "simulates a built-in tile's backend, but this tile has a url"
	noTiles       = "the file lists no tiles; list the page's tiles, in page order, under tiles:"
)

// scalar hands the text of n, a single value (a quoted string unquoted), to set.
func scalar(n ast.Node, set func(string) error) error {
	switch v := n.(type) {
	case *ast.StringNode:
		return set(v.Value)
	case *ast.LiteralNode:
		return set(v.Value.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return set(v.GetToken().Value)
	}
	return fmt.Errorf("wants a single value, not a %s", n.Type().YAMLName())
}

// fallbackJSON turns a tile's fallback, any YAML value, into JSON.
func fallbackJSON(n ast.Node) (json.RawMessage, error) {
	var v any
	if err := noPanic(func() error { return yaml.NodeToValue(n, &v) }); err != nil {
		return nil, errors.New(libraryMessage(yaml.FormatError(err, false, false)))
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot be written as JSON: %v", err)
	}
	return data, nil
}

// tagList reads a tile's tags: a sequence of distinct tiles.CheckTag tags,
// at most tiles.MaxTags.
func tagList(n ast.Node) ([]string, error) {
	seq, ok := n.(*ast.SequenceNode)
	switch {
	case !ok:
		return nil, fmt.Errorf("wants a sequence of tags, as in [winter-sale, homepage], not a %s", n.Type().YAMLName())
	case len(seq.Values) == 0 || len(seq.Values) > tiles.MaxTags:
		return nil, fmt.Errorf("lists %d tags; list 1 to %d", len(seq.Values), tiles.MaxTags)
	}
	var tags []string
	for i, v := range seq.Values {
		err := scalar(v, func(s string) error {
			if slices.Contains(tags, s) {
				return fmt.Errorf("%q is listed twice", s)
			}
			tags = append(tags, s)
			return tiles.CheckTag(s)
		})
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return tags, nil
}

// noPanic calls f, a call into the YAML library: a panic becomes an error.
func noPanic(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML library failed on this file (%v)", r)
		}
	}()
	return f()
}

// fail places err, a problem with the value n of path, unless it is placed.
func (f *file) fail(n ast.Node, path string, err error) error {
	if e := (*Error)(nil); errors.As(err, &e) {
		return err
	}
	return f.at(start(n), path+": "+err.Error())
}

// at returns the problem msg at tk in the file (tk nil: the whole file).
func (f *file) at(tk *token.Token, msg string) *Error {
	e := &Error{Flag: "-config", File: f.path, Msg: msg}
	if tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	return e
}

// start is the token where n begins: a mapping's first key, not its colon.
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

// yamlError places an error of the YAML parser, whose text spans lines.
func (f *file) yamlError(err error) *Error {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return f.at(nil, libraryMessage(err.Error()))
	}
	return f.at(ye.GetToken(), libraryMessage(ye.GetMessage()))
}

// libraryMessage makes a YAML library message, which may quote the file, one line.
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
