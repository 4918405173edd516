package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"vitrine/rediscache"
)

// Redis is the shared cache tier (-redis, the file's redis:): one node by
// URL, or a Cluster's nodes by Addrs, or with MasterName a Sentinel's.
type Redis struct {
	URL        string   // redis:// or rediss://, with its password and db, if any
	Addrs      []string // host:port of each node; exclusive with URL
	MasterName string   // with Addrs: the master that the sentinels name
	Prefix     string   // of every key Vitrine writes
	Timeout    time.Duration
}

// Enabled reports whether a shared tier is configured.
func (r Redis) Enabled() bool { return r.URL != "" || len(r.Addrs) > 0 }

// setURL sets -redis, which replaces the file's nodes; "" turns the tier off.
func (r *Redis) setURL(s string) (err error) {
	r.URL, err = ParseRedisURL(s)
	r.Addrs, r.MasterName = nil, ""
	return err
}

// ParseRedisURL checks a -redis URL by the Redis client's own rules
// (rediscache.ParseURL); "" is no tier. Its messages never show the password.
func ParseRedisURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if _, err := rediscache.ParseURL(s); err != nil {
		return "", errors.New(oneLine(err.Error(), 256))
	}
	return s, nil
}

// parseRedisPrefix checks a key prefix: not empty, so that Vitrine's keys never mix
// with others', and no space, control character or brace (a Cluster {hash tag}).
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

// parseKeySecret checks the secret of the user keys. Its messages never show it.
func parseKeySecret(s string) (string, error) {
	if len(s) < 16 {
		return "", fmt.Errorf("is %d bytes; a secret needs 16 or more (e.g. openssl rand -base64 32)", len(s))
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

// redis reads the file's redis: a URL, or a mapping of url or nodes (or
// neither, left to VITRINE_REDIS or -redis), master, prefix and timeout.
func (f *file) redis(n ast.Node) error {
	r := &f.p.cfg.Redis
	if _, ok := n.(ast.MapNode); !ok {
		if _, ok := n.(*ast.SequenceNode); ok {
			return errors.New("wants a URL or a mapping (url or nodes, master, prefix, timeout), not a sequence")
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
	nodes, err := f.sequence(n, "lists no nodes; list host:port of each, or give url instead")
	r := &f.p.cfg.Redis
	r.Addrs = nil
	for i := 0; err == nil && i < len(nodes); i++ {
		err = scalar(f.resolve(nodes[i]), func(s string) error {
			addr, err := hostPort(s, 1, "redis-1:6379")
			if err == nil && slices.Contains(r.Addrs, addr) {
				err = fmt.Errorf("%q is listed twice", addr)
			}
			r.Addrs = append(r.Addrs, addr)
			return err
		})
		if err != nil {
			err = f.fail(nodes[i], fmt.Sprintf("redis.nodes[%d]", i), err)
		}
	}
	return err
}
