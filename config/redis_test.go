package config_test

import (
	"strings"
	"testing"
	"time"

	"vitrine/config"
)

// withRedis returns the defaults with the shared tier r.
func withRedis(r config.Redis) config.Config {
	return with(func(c *config.Config) { c.Redis = r })
}

// redisDefaults is the tier's default prefix and timeout, over r.
func redisDefaults(r config.Redis) config.Redis {
	if r.Prefix == "" {
		r.Prefix = "vitrine:"
	}
	if r.Timeout == 0 {
		r.Timeout = 100 * time.Millisecond
	}
	return r
}

// TestParseRedis: -redis, -redis-prefix, -redis-timeout and their
// variables set the shared tier, flags over variables.
func TestParseRedis(t *testing.T) {
	ms := time.Millisecond
	tests := []parseCase{
		{name: "off by default", want: defaults()},
		{name: "url", args: []string{"-redis", "redis://localhost:6379/0"},
			want: withRedis(redisDefaults(config.Redis{URL: "redis://localhost:6379/0"}))},
		{name: "tls, password, no port, no db", args: []string{"-redis=rediss://:s3cret@cache.example"},
			want: withRedis(redisDefaults(config.Redis{URL: "rediss://:s3cret@cache.example"}))},
		{name: "user and db 15", args: []string{"-redis", "redis://app:pw@10.0.0.1:6380/15"},
			want: withRedis(redisDefaults(config.Redis{URL: "redis://app:pw@10.0.0.1:6380/15"}))},
		{name: "IPv6 host and a client option", args: []string{"-redis", "redis://[::1]:6379/2?dial_timeout=1s"},
			want: withRedis(redisDefaults(config.Redis{URL: "redis://[::1]:6379/2?dial_timeout=1s"}))},
		{name: "empty url is off", args: []string{"-redis", ""}, want: defaults()},
		{name: "prefix", args: []string{"-redis-prefix", "shop-1:"},
			want: withRedis(config.Redis{Prefix: "shop-1:", Timeout: 100 * ms})},
		{name: "timeout", args: []string{"-redis-timeout", "250ms"},
			want: withRedis(config.Redis{Prefix: "vitrine:", Timeout: 250 * ms})},
		{name: "every redis flag", args: []string{"-redis", "redis://r:1/3", "-redis-prefix", "p:", "-redis-timeout", "20ms"},
			want: withRedis(config.Redis{URL: "redis://r:1/3", Prefix: "p:", Timeout: 20 * ms})},
		{name: "VITRINE_REDIS", env: map[string]string{"VITRINE_REDIS": "redis://env:6379"},
			want: withRedis(redisDefaults(config.Redis{URL: "redis://env:6379"}))},
		{name: "VITRINE_REDIS_PREFIX and VITRINE_REDIS_TIMEOUT",
			env:  map[string]string{"VITRINE_REDIS_PREFIX": "env:", "VITRINE_REDIS_TIMEOUT": "1s"},
			want: withRedis(config.Redis{Prefix: "env:", Timeout: time.Second})},
		{name: "flag overrides VITRINE_REDIS", args: []string{"-redis", "redis://flag:6379"},
			env:  map[string]string{"VITRINE_REDIS": "redis://env:6379", "VITRINE_REDIS_TIMEOUT": "5ms"},
			want: withRedis(config.Redis{URL: "redis://flag:6379", Prefix: "vitrine:", Timeout: 5 * ms})},
		{name: "empty flag beats the variable", args: []string{"-redis="},
			env: map[string]string{"VITRINE_REDIS": "redis://env:6379"}, want: defaults()},
	}
	checkParse(t, tests)
}

// TestParseRedisErrors: a bad -redis stops the program, naming the flag
// and the bad part, and never showing a password.
func TestParseRedisErrors(t *testing.T) {
	tests := []errorCase{
		{name: "http scheme", args: []string{"-redis", "http://localhost:6379"}, says: []string{`got scheme "http"`, "rediss://"}},
		{name: "unix socket", args: []string{"-redis", "unix:///run/redis.sock"}, says: []string{`got scheme "unix"`}},
		{name: "host:port without scheme", args: []string{"-redis", "localhost:6379"}, says: []string{`got scheme "localhost"`}},
		{name: "no host", args: []string{"-redis", "redis:///0"}, says: []string{`"redis:///0" has no host`}},
		{name: "only a port", args: []string{"-redis", "redis://:6379/0"}, says: []string{"has no host"}},
		{name: "port out of range", args: []string{"-redis", "redis://r:70000/0"}, says: []string{`port must be 1 to 65535; got "70000"`}},
		{name: "port zero", args: []string{"-redis", "redis://r:0"}, says: []string{`got "0"`}},
		{name: "db not a number", args: []string{"-redis", "redis://r:6379/zero"}, says: []string{`invalid database number: "zero"`}},
		{name: "db negative", args: []string{"-redis", "redis://r:6379/-1"}, says: []string{"database number -1 must be 0 or more"}},
		{name: "db negative in the query", args: []string{"-redis", "redis://r:6379?db=-2"}, says: []string{"database number -2"}},
		{name: "two path segments", args: []string{"-redis", "redis://r:6379/0/1"}, says: []string{"invalid URL path"}},
		{name: "unknown option", args: []string{"-redis", "redis://r:6379?colour=red"}, says: []string{"unexpected option: colour"}},
		{name: "password redacted", args: []string{"-redis", "redis://app:hunter2@r:70000/0"},
			says: []string{`"redis://app:xxxxx@r:70000/0"`}},
		{name: "password in a bad option redacted", args: []string{"-redis", "redis://:hunter2@r/0?dial_timeout=hunter2"},
			says: []string{"xxxxx"}},
		{name: "unparsable url shown not at all", args: []string{"-redis", "redis://:hun#ter2@r:6379/0"},
			says: []string{"is not a URL", "%XX"}},
		{name: "fragment", args: []string{"-redis", "redis://r:6379/0#x"}, says: []string{"fragment", "%23"}},
		{name: "bad VITRINE_REDIS", env: map[string]string{"VITRINE_REDIS": "redis://:hunter2@:1"},
			from: "VITRINE_REDIS", says: []string{"has no host", "xxxxx"}},
		{name: "newline", args: []string{"-redis", "redis://r\n:1"}, says: []string{"is not a URL"}},

		{name: "empty prefix", args: []string{"-redis-prefix", ""}, flag: "-redis-prefix", says: []string{"is empty"}},
		{name: "prefix with a space", args: []string{"-redis-prefix", "my shop:"}, flag: "-redis-prefix", says: []string{`"my shop:" holds a space`}},
		{name: "prefix with a newline", args: []string{"-redis-prefix", "a\nb"}, flag: "-redis-prefix", says: []string{`"a\nb"`}},
		{name: "prefix with a brace", args: []string{"-redis-prefix", "{shop}:"}, flag: "-redis-prefix", says: []string{"hash tag"}},
		{name: "bad VITRINE_REDIS_PREFIX", env: map[string]string{"VITRINE_REDIS_PREFIX": "a}"},
			flag: "-redis-prefix", from: "VITRINE_REDIS_PREFIX", says: []string{"brace"}},
		{name: "zero timeout", args: []string{"-redis-timeout", "0s"}, flag: "-redis-timeout", says: []string{"more than zero"}},
		{name: "timeout without unit", args: []string{"-redis-timeout", "100"}, flag: "-redis-timeout", says: []string{`"100" has no unit`}},
		{name: "negative timeout", args: []string{"-redis-timeout", "-1ms"}, flag: "-redis-timeout", says: []string{"negative"}},
	}
	checkParseErrors(t, "-redis", tests)
	for _, tt := range tests {
		_, err := config.Parse(tt.args, env(tt.env))
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error %q shows the password", tt.name, err)
		}
	}
}

// TestParseRedisFile: the file's redis: is a URL or a mapping, under the
// variables and the flags.
func TestParseRedisFile(t *testing.T) {
	const tiles = "tiles: [{name: banners}]\n"
	ms := time.Millisecond
	tests := []struct {
		name, file string
		args       []string
		env        map[string]string
		want       config.Redis
	}{
		{name: "a url", file: "redis: redis://cache:6379/1\n",
			want: redisDefaults(config.Redis{URL: "redis://cache:6379/1"})},
		{name: "a quoted url", file: "redis: 'rediss://:pw@cache'\n",
			want: redisDefaults(config.Redis{URL: "rediss://:pw@cache"})},
		{name: "null is off", file: "redis:\n", want: redisDefaults(config.Redis{})},
		{name: "mapping with url", file: "redis: {url: 'redis://c:1/0', prefix: 'a:', timeout: 30ms}\n",
			want: config.Redis{URL: "redis://c:1/0", Prefix: "a:", Timeout: 30 * ms}},
		{name: "cluster nodes", file: "redis:\n  nodes:\n    - n1:7000\n    - n2:7000\n    - '[::1]:7000'\n",
			want: redisDefaults(config.Redis{Addrs: []string{"n1:7000", "n2:7000", "[::1]:7000"}})},
		{name: "sentinel", file: "redis: {nodes: ['s1:26379'], master: mymaster}\n",
			want: redisDefaults(config.Redis{Addrs: []string{"s1:26379"}, MasterName: "mymaster"})},
		{name: "only prefix: the url from the environment", file: "redis: {prefix: 'shop:'}\n",
			env:  map[string]string{"VITRINE_REDIS": "redis://:pw@env:6379"},
			want: config.Redis{URL: "redis://:pw@env:6379", Prefix: "shop:", Timeout: 100 * ms}},
		{name: "an anchored mapping", file: "redis: &r {prefix: 'r:'}\n", want: config.Redis{Prefix: "r:", Timeout: 100 * ms}},

		// Flags and variables over the file.
		{name: "flag url replaces the file's nodes", file: "redis: {nodes: ['s1:26379'], master: m, timeout: 1s}\n",
			args: []string{"-redis", "redis://flag:6379"},
			want: config.Redis{URL: "redis://flag:6379", Prefix: "vitrine:", Timeout: time.Second}},
		{name: "variable url over the file's", file: "redis: redis://file:6379\n",
			env:  map[string]string{"VITRINE_REDIS": "redis://env:6379"},
			want: redisDefaults(config.Redis{URL: "redis://env:6379"})},
		{name: "empty flag turns the file's tier off", file: "redis: redis://file:6379\n", args: []string{"-redis="},
			want: redisDefaults(config.Redis{})},
		{name: "flag prefix and timeout over the file's", file: "redis: {url: 'redis://f:1', prefix: 'f:', timeout: 1s}\n",
			args: []string{"-redis-prefix", "flag:"}, env: map[string]string{"VITRINE_REDIS_TIMEOUT": "2s", "VITRINE_REDIS_PREFIX": "env:"},
			want: config.Redis{URL: "redis://f:1", Prefix: "flag:", Timeout: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file+tiles)
			got, err := config.Parse(append([]string{"-config", path}, tt.args...), env(tt.env))
			if err != nil {
				t.Fatalf("Parse error = %v; want nil", err)
			}
			checkConfig(t, config.Config{Redis: got.Redis}, config.Config{Redis: tt.want})
			if got, want := got.Redis.Enabled(), tt.want.URL != "" || tt.want.Addrs != nil; got != want {
				t.Errorf("Enabled() = %t; want %t", got, want)
			}
		})
	}
}

// TestParseRedisFileErrors: a bad redis: is placed at FILE:LINE:COL.
func TestParseRedisFileErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{name: "bad url", file: "redis: http://c:6379\n",
			want: `FILE:1:8: redis: "http://c:6379" must be a redis:// or rediss:// (TLS) URL (e.g. redis://localhost:6379/0); got scheme "http"`},
		{name: "bad url in the mapping, password hidden", file: "redis:\n  url: 'redis://:hunter2@c:99999'\n",
			want: `FILE:2:8: redis.url: "redis://:xxxxx@c:99999" port must be 1 to 65535; got "99999"`},
		{name: "a list", file: "redis: [redis://c]\n",
			want: `FILE:1:8: redis: wants a URL or a mapping (url or nodes, master, prefix, timeout), not a sequence`},
		{name: "unknown key", file: "redis:\n  url: redis://c\n  db: 2\n",
			want: `FILE:3:3: redis.db: unknown key (redis's keys: url, nodes, master, prefix, timeout)`},
		{name: "url and nodes", file: "redis:\n  url: redis://c\n  nodes: [n1:1]\n",
			want: `FILE:3:10: redis.nodes: and url are exclusive: url for one node, nodes for a cluster's nodes or a sentinel's`},
		{name: "master without nodes", file: "redis:\n  url: redis://c\n  master: m\n",
			want: `FILE:3:11: redis.master: needs nodes: the sentinels to ask for this master`},
		{name: "no nodes", file: "redis:\n  nodes: []\n",
			want: `FILE:2:10: redis.nodes: lists no nodes; list host:port of each, or give url instead`},
		{name: "nodes not a list", file: "redis:\n  nodes: n1:6379\n",
			want: `FILE:2:10: string was used where sequence is expected`},
		{name: "node without port", file: "redis:\n  nodes: [n1, n2:1]\n",
			want: `FILE:2:11: redis.nodes[0]: "n1" is not host:port (e.g. redis-1:6379)`},
		{name: "node without host", file: "redis:\n  nodes: [':6379']\n",
			want: `FILE:2:11: redis.nodes[0]: ":6379" is not host:port (e.g. redis-1:6379)`},
		{name: "node port out of range", file: "redis:\n  nodes:\n    - n1:1\n    - n2:0\n",
			want: `FILE:4:7: redis.nodes[1]: "n2:0" port must be 1 to 65535; got "0"`},
		{name: "node twice", file: "redis:\n  nodes: [n1:1, n1:1]\n",
			want: `FILE:2:17: redis.nodes[1]: "n1:1" is listed twice`},
		{name: "bad master", file: "redis:\n  nodes: [n1:1]\n  master: 'my master'\n",
			want: `FILE:3:11: redis.master: "my master" is not a master's name (one word, as the sentinels know it)`},
		{name: "bad prefix", file: "redis:\n  prefix: '{v}'\n",
			want: `FILE:2:11: redis.prefix: "{v}" holds a brace, which Redis Cluster would read as a hash tag`},
		{name: "zero timeout", file: "redis:\n  timeout: 0s\n",
			want: `FILE:2:12: redis.timeout: "0s" must be more than zero`},
		{name: "timeout a mapping", file: "redis:\n  timeout: {ms: 5}\n",
			want: `FILE:2:13: redis.timeout: wants a single value, not a mapping`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file+"tiles: [{name: banners}]\n")
			_, err := config.Parse([]string{"-config", path}, env(nil))
			checkFileError(t, err, path, tt.want)
		})
	}
}

// TestParseKeySecret: -key-secret and VITRINE_KEY_SECRET set the secret of
// the user keys; a short one is refused without being shown.
func TestParseKeySecret(t *testing.T) {
	const secret = "0123456789abcdef"
	withSecret := with(func(c *config.Config) { c.KeySecret = secret })
	checkParse(t, []parseCase{
		{name: "unset", want: defaults()},
		{name: "flag", args: []string{"-key-secret", secret}, want: withSecret},
		{name: "VITRINE_KEY_SECRET", env: map[string]string{"VITRINE_KEY_SECRET": secret}, want: withSecret},
	})
	tests := []errorCase{
		{name: "short", args: []string{"-key-secret", "hunter2"}, says: []string{"is 7 bytes", "16 or more"}},
		{name: "short VITRINE_KEY_SECRET", env: map[string]string{"VITRINE_KEY_SECRET": "hunter2"},
			from: "VITRINE_KEY_SECRET", says: []string{"is 7 bytes"}},
	}
	checkParseErrors(t, "-key-secret", tests)
	for _, tt := range tests {
		if _, err := config.Parse(tt.args, env(tt.env)); err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error %q shows the secret", tt.name, err)
		}
	}
}
