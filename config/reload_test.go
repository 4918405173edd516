package config_test

import (
	"errors"
	"strings"
	"testing"

	"vitrine/config"
)

// TestRestartOnly: a reload that changes a setting only a restart applies is
// refused, naming the setting and never its value; the settings a reload
// applies (tiles, timeouts, caching) pass.
func TestRestartOnly(t *testing.T) {
	const base = "tiles: [{name: banners}, {name: products}]\n"
	const secret = "0123456789abcdef-secret"
	tests := []struct {
		name, file string
		args       []string
		want       string // "" for none
	}{
		{"same", base, nil, ""},
		{"tiles, timeouts and caching reload", "tile-timeout: 900ms\ncache-bytes: 8MiB\nmax-ttl: 1m\n" +
			"tiles: [{name: banners, ttl: 5s, timeout: 300ms}, {name: products}, {name: recommendations}]\n", nil, ""},
		{"addr", "addr: 127.0.0.1:9999\n" + base, nil, "-addr changed"},
		{"admin-addr", base, []string{"-admin-addr", "127.0.0.1:9998"}, "-admin-addr changed"},
		{"redis", base, []string{"-redis", "redis://127.0.0.1:6379"}, "-redis (or the file's redis: nodes) changed"},
		{"redis nodes in the file", `redis: {nodes: ["127.0.0.1:7000", "127.0.0.1:7001"]}` + "\n" + base, nil,
			"-redis (or the file's redis: nodes) changed"},
		{"redis-prefix", base, []string{"-redis-prefix", "other:"}, "-redis-prefix changed"},
		{"redis-timeout", base, []string{"-redis-timeout", "1s"}, "-redis-timeout changed"},
		{"trace", base, []string{"-trace", "stdout"}, "-trace changed"},
		{"trace-sample", base, []string{"-trace-sample", "0.5"}, "-trace-sample changed"},
		{"key-secret", "key-secret: " + secret + "\n" + base, nil, "-key-secret changed"},
		{"identity", "identity: {source: header, header: X-User, trusted: [127.0.0.1]}\n" + base, nil,
			"-identity (or its settings"},
		{"shutdown-timeout", "shutdown-timeout: 3s\n" + base, nil, "-shutdown-timeout changed"},
	}
	old, err := config.Parse([]string{"-config", writeConfig(t, base)}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, err := config.Parse(append([]string{"-config", writeConfig(t, tt.file)}, tt.args...), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			cur.File = old.File // the same -config, rewritten
			err = config.RestartOnly(old, cur)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("RestartOnly = %v; want nil", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("RestartOnly = %v; want %q...", err, tt.want)
			case tt.want != "" && !errors.Is(err, config.ErrRestart):
				t.Errorf("RestartOnly = %v; want it to wrap ErrRestart", err)
			case err != nil && strings.Contains(err.Error(), secret):
				t.Errorf("RestartOnly = %v; it shows the secret", err)
			}
		})
	}
}
