package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"vitrine/rediscache"
	"vitrine/tiles"
)

// Redis is the shared cache tier (-redis and the file's redis:): one node
// by URL, or several by Addrs, a Redis Cluster's nodes or, with
// MasterName, a Sentinel's. Neither URL nor Addrs means no shared tier.
type Redis struct {
	URL        string   // redis:// or rediss://, with its password and db, if any
	Addrs      []string // host:port of each node; exclusive with URL
	MasterName string   // with Addrs: the master that the sentinels name
	Prefix     string   // of every key Vitrine writes
	Timeout    time.Duration
}

// Enabled reports whether a shared tier is configured.
func (r Redis) Enabled() bool { return r.URL != "" || len(r.Addrs) > 0 }

// redisURLFlag is -redis: setting a URL replaces the nodes a file gave,
// as a flag replaces a file's value, and an empty one turns the tier off.
type redisURLFlag struct{ r *Redis }

func (f redisURLFlag) String() string {
	if f.r == nil {
		return ""
	}
	return redacted(f.r.URL)
}

func (f redisURLFlag) Set(s string) error {
	u, err := ParseRedisURL(s)
	if err == nil {
		f.r.URL, f.r.Addrs, f.r.MasterName = u, nil, ""
	}
	return err
}

// ParseRedisURL checks a -redis URL by the Redis client's own rules
// (rediscache.ParseURL), so that a URL the client would refuse is refused
// where it was given. "" is no tier. Its messages never show the password.
func ParseRedisURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if _, err := rediscache.ParseURL(s); err != nil {
		return "", errors.New(oneLine(err.Error(), 256))
	}
	return s, nil
}

// redacted is s with its password, if any, replaced by xxxxx.
func redacted(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return ""
}

// parseRedisPrefix checks a key prefix: not empty, so that Vitrine's keys
// never mix with others' in a shared Redis, and without spaces, control
// characters or braces, which would make Redis Cluster hash only part of
// a key (a {hash tag}) and put every key of a replica on one node.
func parseRedisPrefix(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("is empty; every key needs a namespace (e.g. vitrine:)")
	case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		return "", fmt.Errorf("%s holds a space or a control character", strconv.Quote(clip(s)))
	case strings.ContainsAny(s, "{}"):
		return "", fmt.Errorf("%q holds a brace, which Redis Cluster would read as a hash tag", clip(s))
	}
	return s, nil
}

// parseRedisNode checks one node of a cluster or one sentinel: host:port
// with a host and a port from 1 to 65535.
func parseRedisNode(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", fmt.Errorf("%q is not host:port (e.g. redis-1:6379)", clip(s))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q in %q is not a number from 1 to 65535", tiles.Clip(port, 16), clip(s))
	}
	return s, nil
}

// parseRedisMaster checks the name of a Sentinel's master.
func parseRedisMaster(s string) (string, error) {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		return "", fmt.Errorf("%s is not a master's name (one word, as the sentinels know it)", strconv.Quote(clip(s)))
	}
	return s, nil
}

// fileRedis is the file's redis: when it is a mapping.
type fileRedis struct {
	URL     node   `yaml:"url"`
	Nodes   []node `yaml:"nodes"`
	Master  node   `yaml:"master"`
	Prefix  node   `yaml:"prefix"`
	Timeout node   `yaml:"timeout"`
}

// redis applies the file's redis:, n: a URL, or a mapping of fileRedis.
// A mapping may leave out both url and nodes (the URL, with its
// password, then comes from VITRINE_REDIS or -redis), but not give both.
func (l *loader) redis(n node, body ast.Node) {
	if n.Node == nil || l.err != nil {
		return
	}
	r := &l.cfg.Redis
	m, ok := unwrap(n.Node).(*ast.MappingNode)
	if !ok {
		if _, err := scalarText(n.Node); err != nil {
			l.fail(n.Node, "redis", errors.New("wants a URL or a mapping (url or nodes, master, prefix, timeout), not a "+
				strings.ToLower(n.Type().String())))
			return
		}
		apply(l, "redis", n, ParseRedisURL, func(u string) { r.URL = u })
		return
	}
	var fr fileRedis
	if err := noPanic(func() error {
		return yaml.NodeToValue(m, &fr, yaml.DisallowUnknownField(), yaml.AllowDuplicateMapKey())
	}); err != nil {
		l.err = l.yamlError(err, body)
		return
	}
	apply(l, "redis.url", fr.URL, ParseRedisURL, func(u string) { r.URL = u })
	l.redisNodes(fr.Nodes, m)
	apply(l, "redis.master", fr.Master, parseRedisMaster, func(s string) { r.MasterName = s })
	apply(l, "redis.prefix", fr.Prefix, parseRedisPrefix, func(s string) { r.Prefix = s })
	apply(l, "redis.timeout", fr.Timeout, positive(ParseDuration), func(d time.Duration) { r.Timeout = d })
	switch {
	case l.err != nil:
	case fr.URL.Node != nil && fr.Nodes != nil:
		l.fail(valueOf(m, "nodes"), "redis.nodes", errors.New("and url are exclusive: url for one node, nodes for a cluster's nodes or a sentinel's"))
	case fr.Master.Node != nil && fr.Nodes == nil:
		l.fail(fr.Master.Node, "redis.master", errors.New("needs nodes: the sentinels to ask for this master"))
	}
}

// redisNodes applies the nodes of the file's redis mapping m.
func (l *loader) redisNodes(nodes []node, m *ast.MappingNode) {
	if nodes == nil || l.err != nil {
		return
	}
	if len(nodes) == 0 {
		l.fail(valueOf(m, "nodes"), "redis.nodes", errors.New("lists no nodes; list host:port of each, or give url instead"))
		return
	}
	addrs := make([]string, 0, len(nodes))
	for i, n := range nodes {
		apply(l, fmt.Sprintf("redis.nodes[%d]", i), n, parseRedisNode, func(a string) {
			if slices.Contains(addrs, a) {
				l.fail(n.Node, fmt.Sprintf("redis.nodes[%d]", i), fmt.Errorf("%q is listed twice", a))
			}
			addrs = append(addrs, a)
		})
	}
	l.cfg.Redis.Addrs = addrs
}

// unwrap is n without its anchor.
func unwrap(n ast.Node) ast.Node {
	if a, ok := n.(*ast.AnchorNode); ok {
		return unwrap(a.Value)
	}
	return n
}

// valueOf is the value of key in m, to place a problem with it; m itself
// if m lacks key.
func valueOf(m *ast.MappingNode, key string) ast.Node {
	for _, kv := range m.Values {
		if kv.Key.String() == key {
			return kv.Value
		}
	}
	return m
}
