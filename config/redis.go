package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"vitrine/rediscache"
	"vitrine/upstream"
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

// setURL sets the URL of -redis, which replaces the nodes a file gave, as a
// flag replaces a file's value; "" turns the tier off.
func (r *Redis) setURL(s string) (err error) {
	r.URL, err = ParseRedisURL(s)
	r.Addrs, r.MasterName = nil, ""
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

// parseRedisPrefix checks a key prefix: not empty, so that Vitrine's keys
// never mix with others' in a shared Redis, and without spaces, control
// characters or braces, which would make Redis Cluster hash only part of
// a key (a {hash tag}) and put every key of a replica on one node.
func parseRedisPrefix(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("is empty; every key needs a namespace (e.g. vitrine:)")
	case !utf8.ValidString(s) || strings.ContainsFunc(s, notWord):
		return "", fmt.Errorf("%s holds a space or a control character", strconv.Quote(clip(s)))
	case strings.ContainsAny(s, "{}"):
		return "", fmt.Errorf("%q holds a brace, which Redis Cluster would read as a hash tag", clip(s))
	}
	return s, nil
}

func notWord(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }

// parseRedisNode checks one node of a cluster or one sentinel: host:port
// with a host and a port from 1 to 65535.
func parseRedisNode(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", fmt.Errorf("%q is not host:port (e.g. redis-1:6379)", clip(s))
	}
	if err := upstream.CheckPort(port, 1); err != nil {
		return "", fmt.Errorf("%q %w", clip(s), err)
	}
	return s, nil
}

// parseRedisMaster checks the name of a Sentinel's master.
func parseRedisMaster(s string) (string, error) {
	if s == "" || strings.ContainsFunc(s, notWord) {
		return "", fmt.Errorf("%s is not a master's name (one word, as the sentinels know it)", strconv.Quote(clip(s)))
	}
	return s, nil
}

// redis reads the file's redis: a URL, or a mapping of url or nodes,
// master, prefix and timeout. A mapping may leave out both url and nodes
// (the URL, with its password, then comes from VITRINE_REDIS or -redis),
// but not give both.
func (f *file) redis(n ast.Node) error {
	r := &f.p.cfg.Redis
	if _, ok := n.(ast.MapNode); !ok {
		if _, err := scalarText(n); err != nil {
			return fmt.Errorf("wants a URL or a mapping (url or nodes, master, prefix, timeout), not a %s",
				n.Type().YAMLName())
		}
		return scalar(n, r.setURL)
	}
	at, err := f.read(n, "redis", "redis's", []setting{
		field("url", &r.URL, ParseRedisURL),
		{key: "nodes", node: f.redisNodes},
		field("master", &r.MasterName, parseRedisMaster),
		field("prefix", &r.Prefix, parseRedisPrefix),
		field("timeout", &r.Timeout, positive(ParseDuration)),
	}, func(string) {})
	switch {
	case err != nil:
		return err
	case at["url"] != nil && at["nodes"] != nil:
		return f.fail(at["nodes"], "redis.nodes",
			errors.New("and url are exclusive: url for one node, nodes for a cluster's nodes or a sentinel's"))
	case at["master"] != nil && at["nodes"] == nil:
		return f.fail(at["master"], "redis.master", errors.New("needs nodes: the sentinels to ask for this master"))
	}
	return nil
}

// redisNodes reads the nodes of the file's redis: host:port of each, once.
func (f *file) redisNodes(n ast.Node) error {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		return f.at(start(n), n.Type().YAMLName()+" was used where sequence is expected")
	}
	if len(seq.Values) == 0 {
		return errors.New("lists no nodes; list host:port of each, or give url instead")
	}
	r := &f.p.cfg.Redis
	r.Addrs = nil
	for i, v := range seq.Values {
		var addr string
		err := scalar(f.resolve(v), func(s string) (err error) { addr, err = parseRedisNode(s); return err })
		if err == nil && slices.Contains(r.Addrs, addr) {
			err = fmt.Errorf("%q is listed twice", addr)
		}
		if err != nil {
			return f.fail(v, fmt.Sprintf("redis.nodes[%d]", i), err)
		}
		r.Addrs = append(r.Addrs, addr)
	}
	return nil
}
