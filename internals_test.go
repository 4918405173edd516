package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"vitrine/servertest"
)

// bodies GETs each path at base and returns the bodies, by path.
func bodies(t *testing.T, base string, paths ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range paths {
		_, _, out[p] = getRaw(t, base+p)
	}
	return out
}

// checkHidden fails the test if any of texts holds secret.
func checkHidden(t *testing.T, secret string, texts map[string]string) {
	t.Helper()
	for what, text := range texts {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows %q:\n%.2000s", what, secret, text)
		}
	}
}

// TestBackendHostsStayInside: HTTP backends on 127.0.0.1, one labelled,
// one not, one refusing connections. Without -admin-addr, no public answer
// (pages, tiles, /tiles, /metrics, /readyz, errors) names a backend's
// host: /tiles and the metrics name each backend by its label, else its
// tile's name. With -admin-addr, the operator port's /tiles and /metrics
// show the hosts, and the public port still does not.
func TestBackendHostsStayInside(t *testing.T) {
	be := startBackends(t, fastArgs...)
	host := strings.TrimPrefix(be.base, "http://")
	refused := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	file := filepath.Join(t.TempDir(), "vitrine.yaml")
	config := fmt.Sprintf("tile-timeout: 5s\ntiles:\n"+ // a busy machine's pages still reach every backend
		"  - {name: banners, url: '%[1]s/banners', label: promo-api}\n"+
		"  - {name: products, url: '%[1]s/products'}\n"+
		"  - {name: recommendations}\n"+
		"  - {name: weather, url: 'http://%[2]s/weather', breaker: 0, fallback: {}}\n", be.base, refused)
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	public := []string{"/home", "/home?format=html", "/home?format=ndjson", "/tiles", "/tiles/weather",
		"/tiles/banners", "/readyz", "/tiles/nope", "/nope"}
	wantSources := map[string]string{"banners": "promo-api", "products": "products",
		"recommendations": "simulator", "weather": "weather"}

	t.Run("no admin port", func(t *testing.T) {
		in := start(t, "-config", file)
		seen := bodies(t, in.base, append(public, "/metrics")...)
		for _, h := range []string{host, refused} {
			checkHidden(t, h, seen)
		}
		checkSources(t, in.base, wantSources)
		m, err := scrapeMetrics(http.DefaultClient, in.base)
		if err != nil {
			t.Fatal(err)
		}
		for tile, label := range map[string]string{"banners": "promo-api", "products": "products", "weather": "weather"} {
			if got := m.sum("vitrine_upstream_responses_total", "tile", tile, "host", label); got < 1 {
				t.Errorf("vitrine_upstream_responses_total{tile=%q,host=%q} = %v; want >= 1", tile, label, got)
			}
		}
	})
	t.Run("admin port", func(t *testing.T) {
		in, admin := startAdmin(t, "-config", file)
		seen := bodies(t, in.base, public...)
		for _, h := range []string{host, refused} {
			checkHidden(t, h, seen)
		}
		checkSources(t, in.base, wantSources)
		_, _, tilesBody := getRaw(t, admin+"/tiles")
		for _, want := range []string{`"source":"promo-api","host":"` + host + `"`, `"host":"` + refused + `"`} {
			if !strings.Contains(tilesBody, want) {
				t.Errorf("the operator port's /tiles = %s; want %s", tilesBody, want)
			}
		}
		m, err := scrapeMetrics(http.DefaultClient, admin)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.sum("vitrine_upstream_responses_total", "tile", "banners", "host", host); got < 1 {
			t.Errorf("vitrine_upstream_responses_total{tile=banners,host=%q} on the operator port = %v; want >= 1",
				host, got)
		}
	})
}

// checkSources checks the source that the public /tiles gives each tile.
func checkSources(t *testing.T, base string, want map[string]string) {
	t.Helper()
	var list []struct{ Name, Source, Host string }
	getJSON(t, http.DefaultClient, base+"/tiles", &list)
	if len(list) != len(want) {
		t.Fatalf("/tiles lists %d tiles; want %d", len(list), len(want))
	}
	for _, tile := range list {
		if tile.Source != want[tile.Name] || tile.Host != "" {
			t.Errorf("/tiles: %s has source %q, host %q; want source %q and no host", tile.Name, tile.Source, tile.Host,
				want[tile.Name])
		}
	}
}

// TestRedisPasswordHidden: a Redis that wants a password. -check prints
// no password, whether the URL is good or not; a Vitrine given the URL in
// VITRINE_REDIS uses the tier, logs the URL at start-up with the password
// as xxxxx, and logs Redis going away without it; neither the operator
// port nor the public one shows it, and the operator port serves no cmdline.
func TestRedisPasswordHidden(t *testing.T) {
	const password = "s3cretpw"
	rdb := servertest.Redis(t)
	setPassword(t, rdb.Addr(), password)
	url := "redis://:" + password + "@" + rdb.Addr() + "/0"

	var stdout, stderr servertest.Buffer
	if err := run(t.Context(), []string{"-redis", url, "-check"}, noEnv, &stdout, &stderr); err != nil ||
		stdout.String()+stderr.String() != "" {
		t.Errorf("-check with a good URL: %v, stdout %q, stderr %q; want nil and nothing printed", err, &stdout, &stderr)
	}
	err := run(t.Context(), []string{"-redis", url + "?dial_timeout=" + password, "-check"}, noEnv, io.Discard,
		io.Discard)
	if err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), "xxxxx") {
		t.Errorf("-check with a bad URL: %v; want an error with the password as xxxxx", err)
	}

	env := map[string]string{"VITRINE_REDIS": url}
	ctx, cancel := context.WithCancel(context.Background())
	in := launch(t, func(stdout, stderr io.Writer) (func() error, error) {
		args := append([]string{"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0"}, fastArgs...)
		return func() error { return run(ctx, args, func(k string) string { return env[k] }, stdout, stderr) }, nil
	}, cancel, servingLine, adminLine)
	admin := in.urls[1]
	getRaw(t, in.base+"/home")
	for deadline := time.Now().Add(5 * time.Second); dbSize(t, rdb.Addr(), password) == 0; { // stores may follow the page
		if time.Now().After(deadline) {
			t.Fatalf("Redis holds no key 5s after a page; want the tier used with VITRINE_REDIS's password")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rdb.Stop()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(in.stderr.String(), "redis unreachable"); {
		if time.Now().After(deadline) {
			t.Fatalf("no \"redis unreachable\" in the log 10s after Redis stopped:\n%s", in.stderr)
		}
		getRaw(t, in.base+"/home?user=u"+fmt.Sprint(time.Now().UnixNano()))
		time.Sleep(20 * time.Millisecond)
	}
	if want := "url=redis://:xxxxx@" + rdb.Addr() + "/0"; !strings.Contains(in.stderr.String(), want) {
		t.Errorf("the log has no start-up line with %s:\n%s", want, in.stderr)
	}
	if code, _, _ := getRaw(t, admin+"/debug/pprof/cmdline"); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/cmdline on the operator port: %d; want 404", code)
	}
	seen := bodies(t, admin, "/readyz", "/metrics", "/tiles", "/debug/pprof/")
	if !strings.Contains(seen["/readyz"], `"state":"down"`) || strings.Contains(seen["/debug/pprof/"], "cmdline") {
		t.Errorf("the operator port's /readyz = %s and pprof index %.300q; want Redis down, and no cmdline",
			seen["/readyz"], seen["/debug/pprof/"])
	}
	for path, body := range bodies(t, in.base, "/readyz", "/tiles", "/home") {
		seen["public "+path] = body
	}
	seen["stdout"], seen["stderr"] = in.stdout.String(), in.stderr.String()
	checkHidden(t, password, seen)
}

// setPassword makes the Redis at addr want password, as requirepass does.
func setPassword(t *testing.T, addr, password string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.ConfigSet(t.Context(), "requirepass", password).Err(); err != nil {
		t.Fatal(err)
	}
}

// dbSize is how many keys the Redis at addr holds.
func dbSize(t *testing.T, addr, password string) int64 {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password})
	defer c.Close()
	n, err := c.DBSize(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
