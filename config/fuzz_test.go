package config_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"vitrine/config"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/web"
)

// The fuzz targets below check invariants of every flag parser. Their seeds
// run as ordinary tests with go test; to search for new failures, run one
// target at a time, for example:
//
//	go test -run XXX -fuzz FuzzParseLatency -fuzztime 30s ./config/

// maxMsg bounds an error message, however long the input: main prints it
// on one line of a terminal.
const maxMsg = 1024

// long is an input much longer than maxMsg, so that a message quoting its
// input unclipped breaks the bound.
var long = strings.Repeat("9", 3*maxMsg)

// checkMessage fails unless msg, the error message of call, is one line of
// valid UTF-8 and at most maxMsg bytes long.
func checkMessage(t *testing.T, call, msg string) {
	t.Helper()
	if i := strings.IndexAny(msg, "\n\r\v\f\u0085\u2028\u2029"); i >= 0 {
		t.Errorf("%s error = %q; want one line", clip(call), clip(msg))
	}
	if !utf8.ValidString(msg) {
		t.Errorf("%s error = %q; want valid UTF-8", clip(call), clip(msg))
	}
	if len(msg) > maxMsg {
		t.Errorf("%s error is %d bytes long (%q); want at most %d", clip(call), len(msg), clip(msg), maxMsg)
	}
	if msg == "" {
		t.Errorf("%s error is empty; want a message", clip(call))
	}
}

// clip keeps a failure report readable when the input is huge.
func clip(s string) string { return tiles.Clip(s, 200) }

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"40ms", "1.5s", "1m30s", "  7us ", "0", "0s", "-0s", "+3s", ".5s", "5.s",
		"1h2m3s4ms5us6ns", "1µs", "1μs", "\t1s\n", "00000000000000000000s",
		"9223372036854775807ns", "2562047h47m16.854775807s", // the largest
		"9223372036854775808ns", "2562048h", // one past it
		"40", "2.5", "-40", "-5ms", "fast", "", "10 ms", "1s 2s", "1s\n2s",
		"NaN", "Inf", "1e3", "0x10s", "1_000ms", "\xff", "1\x00s", "ms", ".s",
		long, long + "ms", "-" + long + "s", "\n" + long,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		call := fmt.Sprintf("ParseDuration(%q)", s)
		d, err := config.ParseDuration(s)
		std, stdErr := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			checkMessage(t, call, err.Error())
			if stdErr == nil && std >= 0 {
				t.Errorf("%s error = %v; want %v, as time.ParseDuration gives", clip(call), err, std)
			}
			return
		}
		if d < 0 {
			t.Errorf("%s = %v; want a duration >= 0", clip(call), d)
		}
		if stdErr != nil || std != d {
			t.Errorf("%s = %v; time.ParseDuration gives %v, %v", clip(call), d, std, stdErr)
		}
		back, err := config.ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("ParseDuration(%q), from %s = %v, gives %v, %v; want %v, nil", d.String(), clip(call), d, back, err, d)
		}
	})
}

func FuzzParseProbability(f *testing.F) {
	for _, s := range []string{
		"0", "1", "0.25", " .5 ", "1e-1", "-0", "0x1p-2", "1.", "0.999999999999999999999",
		"1.0000001", "-0.5", "2", "NaN", "nan", "-NaN", "Inf", "-Inf", "+Inf", "infinity",
		"half", "50%", "", "1_0", "0,5", "1e400", "-1e400", "1e-400",
		"0." + long, long, "\n0.5", "0.5\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		call := fmt.Sprintf("ParseProbability(%q)", s)
		p, err := config.ParseProbability(s)
		if err != nil {
			checkMessage(t, call, err.Error())
			return
		}
		if math.IsNaN(p) || p < 0 || p > 1 {
			t.Errorf("%s = %v; want a number in [0, 1]", clip(call), p)
		}
		if std, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil || std != p {
			t.Errorf("%s = %v; strconv.ParseFloat gives %v, %v", clip(call), p, std, err)
		}
	})
}

// listSeeds are inputs for the name=value list parsers over the built-in
// tile names.
var listSeeds = []string{
	"", "  ", "banners=40ms", "banners=0.5", " banners = 1ms , recommendations=2s ",
	"banners=1,products=0,recommendations=0.25", "banners=1ms,products=2ms,recommendations=3ms",
	"banners=1ms,", ",banners=1ms", "banners", "=1ms", "banners==1ms", "banners=1ms=2ms",
	"banners=1ms,banners=2ms", "banners=1ms, banners =2ms", "Banners=1ms", "nope=1ms",
	"banners=", "banners=40", "banners=-1ms", "banners=NaN", "products=2",
	"banners=1ms\nproducts=2ms", "ban\x00ners=1ms", "\xffbanners=1ms",
	long + "=1ms", "banners=" + long, strings.Repeat("banners=1ms,", 300),
	strings.Repeat("\xff", 200) + "=1", "banners=" + strings.Repeat("\x01", 500),
}

// listItems splits a name=value list as the flags document it, for the
// fuzz targets' own check of what ParseList accepted.
func listItems(s string) [][2]string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var items [][2]string
	for _, item := range strings.Split(s, ",") {
		name, value, _ := strings.Cut(item, "=")
		items = append(items, [2]string{strings.TrimSpace(name), value})
	}
	return items
}

// checkList checks what ParseList gave for s with parse: on success, one
// entry per item, each named once in s, known, and holding parse(value).
func checkList[T comparable](t *testing.T, kind, s string, got map[string]T, err error, parse func(string) (T, error)) {
	t.Helper()
	call := fmt.Sprintf("ParseList[%s](%q)", kind, s)
	if err != nil {
		checkMessage(t, call, err.Error())
		if got != nil {
			t.Errorf("%s = %v, %v; want a nil map with the error", clip(call), got, err)
		}
		return
	}
	if got == nil {
		t.Fatalf("%s = nil, nil; want a map", clip(call))
	}
	items := listItems(s)
	if len(got) != len(items) {
		t.Errorf("%s has %d entries; the input has %d items", clip(call), len(got), len(items))
	}
	seen := map[string]bool{}
	for _, it := range items {
		name := it[0]
		if seen[name] {
			t.Errorf("%s accepted %q twice", clip(call), name)
		}
		seen[name] = true
		if !isTile(name) {
			t.Errorf("%s accepted the unknown tile %q", clip(call), name)
		}
		want, err := parse(it[1])
		if err != nil {
			t.Errorf("%s accepted %s=%q, whose value does not parse: %v", clip(call), name, it[1], err)
		}
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s[%q] = %v, %v; want %v", clip(call), name, v, ok, want)
		}
	}
}

func isTile(name string) bool {
	for _, n := range sim.Names() {
		if n == name {
			return true
		}
	}
	return false
}

func FuzzParseList(f *testing.F) {
	for _, s := range listSeeds {
		f.Add(s)
	}
	known := sim.Names()
	f.Fuzz(func(t *testing.T, s string) {
		d, err := config.ParseList(s, known, config.ParseDuration)
		checkList(t, "duration", s, d, err, config.ParseDuration)
		p, err := config.ParseList(s, known, config.ParseProbability)
		checkList(t, "probability", s, p, err, config.ParseProbability)
		h, err := config.ParseList(s, known, config.ParseHedge)
		checkList(t, "hedge", s, h, err, config.ParseHedge)
	})
}

func FuzzParseLatency(f *testing.F) {
	for _, s := range []string{
		"120ms", "0s", "120ms/p99=1s", "120ms/p95=1s", "120ms/p999=1s", "1ms/p50=0s",
		"120ms / p99 = 1s ", "120ms/p999999=1s", "120ms/p9999999=1s", "120ms/p990=1s",
		"120ms/p0=1s", "120ms/p000=1s", "120ms/p100=1s", "120ms/p1000=1s", "120ms/p5=1s", "120ms/p05=1s", "120ms/p10=1s", "120ms/p=1s", "120ms/p99", "120ms/p99=x", "120ms/q99=1s",
		"120ms/P99=1s", "120ms/p-1=1s", "120ms/p1.5=1s", "120ms/p99=-1s", "120ms/p99=1s/p95=2s",
		"120ms/", "/p99=1s", "120/p99=1s", "-1ms/p99=1s", "120ms/p99=1s\n",
		"120ms/p99=" + long, "120ms/" + long, long + "/p99=1s", "120ms/p" + long + "=1s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		call := fmt.Sprintf("ParseLatency(%q)", s)
		d, tail, err := config.ParseLatency(s)
		if err != nil {
			checkMessage(t, call, err.Error())
			return
		}
		base, _, hasTail := strings.Cut(s, "/")
		if want, err := config.ParseDuration(base); err != nil || d != want {
			t.Errorf("%s = %v; want %v, the latency before the tail (%v)", clip(call), d, want, err)
		}
		if d < 0 || tail.Latency < 0 {
			t.Errorf("%s = %v, %+v; want durations >= 0", clip(call), d, tail)
		}
		if !hasTail {
			if tail != (config.Tail{}) {
				t.Errorf("%s tail = %+v; want none", clip(call), tail)
			}
			return
		}
		if !(tail.Rate > 0 && tail.Rate < 1) {
			t.Errorf("%s tail rate = %v; want it in (0, 1)", clip(call), tail.Rate)
		}
	})
}

func FuzzParseHedge(f *testing.F) {
	for _, s := range []string{
		"off", "0", "p95", "auto", " off ", "150ms", "0s", "0ms", "-0s", "0.0001ns", "1ns", "1h",
		"Off", "OFF", "p99", "p", "on", "", "-1ms", "150", "off,p95", "p95\n", long,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		call := fmt.Sprintf("ParseHedge(%q)", s)
		h, err := config.ParseHedge(s)
		d, derr := config.ParseDuration(s)
		switch strings.TrimSpace(s) {
		case "off":
			if err != nil || h != (config.Hedge{}) {
				t.Errorf("%s = %+v, %v; want off", call, h, err)
			}
			return
		case "p95", "auto":
			if err != nil || h != (config.Hedge{Adaptive: true}) {
				t.Errorf("%s = %+v, %v; want adaptive", call, h, err)
			}
			return
		}
		if err != nil {
			checkMessage(t, call, err.Error())
			if derr == nil && d > 0 {
				t.Errorf("%s error = %v; want a delay of %v", clip(call), err, d)
			}
			if !strings.Contains(err.Error(), "off or p95") {
				t.Errorf("%s error = %q; want it to offer off or p95", clip(call), clip(err.Error()))
			}
			return
		}
		// Only "off" turns hedging off: a delay given is above zero.
		if h.Adaptive || h.Delay <= 0 || derr != nil || h.Delay != d {
			t.Errorf("%s = %+v; want a delay above zero of %v (%v)", clip(call), h, d, derr)
		}
	})
}

// parseSeeds are command lines (split on spaces) and environments (NAME=value
// pairs split on ";") for FuzzParse.
var parseSeeds = []struct{ args, env string }{
	{"", ""},
	{"-addr :0", ""},
	{"-latency recommendations=120ms/p99=1s -fail banners=0.5", ""},
	{"-page-timeout 2s -cache=false -cache-size 10 -ttl banners=1s -max-stale products=1m", ""},
	{"-hedge banners=off,products=p95,recommendations=150ms -breaker banners=0,products=3", ""},
	{"-tile-timeout 1s -test-delay 0s", "VITRINE_LATENCY=banners=1ms;VITRINE_FAIL=products=1"},
	{"", "VITRINE_CACHE=false;VITRINE_CACHE_SIZE=5;VITRINE_TTL=banners=0s;VITRINE_HEDGE=products=auto"},
	{"", "VITRINE_BREAKER=banners=x"},
	{"", "VITRINE_CACHE=maybe"},
	{"-fallback=false -cache=0", "VITRINE_FALLBACK=no"},
	{"", "VITRINE_PAGE_TIMEOUT=" + long},
	{"-cache-size 0", ""},
	{"-cache-size -1", ""},
	{"-cache-size " + long, ""},
	{"-cache=yes", ""},
	{"-cache " + long, ""},
	{"-page-timeout 0" + long + "s", ""},
	{"-breaker banners=" + long, ""},
	{"-latency banners=1ms\nproducts=2ms", ""},
	{"-latency banners=640511h", ""},
	{"-latency recommendations=1ms/p0=1s", ""},
	{"-h", ""},
	{"--help", ""},
	{"-", ""},
	{"--", ""},
	{"-- -addr", ""},
	{"---x", ""},
	{"-=x", ""},
	{"-addr", ""},
	{"-nope", ""},
	{"serve", ""},
	{"-" + long, ""},
	{"-latency x\" for flag -y: " + long, ""},
	{"-cache=x\" for -y: " + long, ""},
	{"\xff -\xff", "VITRINE_ADDR=\xff"},
	{"-\xa8", ""}, // found by fuzzing: an unknown flag in invalid UTF-8
	{"---\xa8", ""},
}

// fuzzEnv turns "NAME=value;NAME=value" into a getenv.
func fuzzEnv(s string) func(string) string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(s.args, s.env)
	}
	f.Fuzz(func(t *testing.T, line, environ string) {
		var args []string
		if line != "" {
			args = strings.Split(line, " ")
		}
		call := fmt.Sprintf("Parse(%q, %q)", args, environ)
		cfg, err := config.Parse(args, fuzzEnv(environ))
		if err != nil {
			if errors.Is(err, config.ErrHelp) {
				return
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%s error = %T %v; want a *config.Error or ErrHelp", clip(call), err, err)
			}
			checkMessage(t, call, err.Error())
			return
		}
		checkInRange(t, call, cfg)
	})
}

// checkInRange checks that every value of an accepted cfg is in range.
func checkInRange(t *testing.T, call string, cfg config.Config) {
	t.Helper()
	checkTiles(t, call, cfg)
	for _, tile := range cfg.Tiles {
		tail, h := tile.Tail, tile.Hedge
		switch {
		case tile.Latency < 0 || tile.TTL < 0 || tile.MaxStale < 0 || tile.Timeout < 0:
			t.Errorf("%s: %s: Latency, TTL, MaxStale, Timeout = %v, %v, %v, %v; want >= 0",
				clip(call), tile.Name, tile.Latency, tile.TTL, tile.MaxStale, tile.Timeout)
		case tail != (config.Tail{}) && (tail.Latency <= 0 || !(tail.Rate > 0 && tail.Rate < 1)):
			t.Errorf("%s: %s: Tail = %+v; want none, or latency > 0 and rate in (0, 1)", clip(call), tile.Name, tail)
		case math.IsNaN(tile.Fail) || tile.Fail < 0 || tile.Fail > 1:
			t.Errorf("%s: %s: Fail = %v; want it in [0, 1]", clip(call), tile.Name, tile.Fail)
		case h.Delay < 0 || h.Adaptive && h.Delay != 0:
			t.Errorf("%s: %s: Hedge = %+v; want one mode", clip(call), tile.Name, h)
		case tile.Breaker < 0 || tile.Bulkhead < 0 || tile.MaxBody < 0:
			t.Errorf("%s: %s: Breaker, Bulkhead, MaxBody = %d, %d, %d; want >= 0",
				clip(call), tile.Name, tile.Breaker, tile.Bulkhead, tile.MaxBody)
		}
	}
	if cfg.TileTimeout <= 0 || cfg.TestDelay < 0 || cfg.PageTimeout < 0 || cfg.CacheSize <= 0 {
		t.Errorf("%s: TileTimeout %v, TestDelay %v, PageTimeout %v, CacheSize %d; want > 0, >= 0, >= 0, > 0",
			clip(call), cfg.TileTimeout, cfg.TestDelay, cfg.PageTimeout, cfg.CacheSize)
	}
}

// checkTiles checks an accepted cfg's tiles: at least one, names unique,
// at most one primary, a known view, only built-in tiles simulated.
func checkTiles(t *testing.T, call string, cfg config.Config) {
	t.Helper()
	seen, primary := map[string]bool{}, 0
	for _, tile := range cfg.Tiles {
		if seen[tile.Name] || tile.Name == "" {
			t.Errorf("%s: tile %q is empty or named twice", clip(call), tile.Name)
		}
		seen[tile.Name] = true
		if tile.Primary {
			primary++
		}
		if !slices.Contains(web.ViewNames(), tile.View) {
			t.Errorf("%s: tile %q has view %q; want one of %q", clip(call), tile.Name, tile.View, web.ViewNames())
		}
		if tile.URL == "" && !slices.Contains(sim.Names(), tile.Name) {
			t.Errorf("%s: tile %q has no url and is not built in", clip(call), tile.Name)
		}
		if tile.URL != "" && (tile.Fail != 0 || tile.Tail != (config.Tail{})) {
			t.Errorf("%s: tile %q has a url and simulated failures or a tail", clip(call), tile.Name)
		}
		if tile.Fallback != nil && !json.Valid(tile.Fallback) {
			t.Errorf("%s: tile %q has fallback %q; want JSON", clip(call), tile.Name, tile.Fallback)
		}
	}
	if len(cfg.Tiles) == 0 || primary > 1 {
		t.Errorf("%s: %d tiles, %d primary; want at least one, at most one primary", clip(call), len(cfg.Tiles), primary)
	}
}

// FuzzConfigFile parses any file: Parse accepts it with sane values or
// refuses it with one short line.
func FuzzConfigFile(f *testing.F) {
	examples, _ := filepath.Glob("../examples/*.yaml")
	for _, path := range examples {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	for _, s := range []string{
		"", "tiles: []", "tiles: [{name: banners}]", everyKey, "tiles:\n\t- name: x\n", "tiles: [{name: " + long + "}]",
		"tiles: [{name: w, url: 'http://x/', fallback: {a: [1, {b: c}]}}]", "tiles: [{name: b, fallback: {1: 2}}]",
		"- a\n- b", "tiles: *x", "a: &a [*a]", "tiles: [{name: banners, ttl: \"\\n1s\"}]",
		"tiles: [{name: banners}]\n---\n", "tiles: [{<<: {name: banners}}]", "\xff: 1",
		"tiles: !00000 00000", // found by fuzzing: the decoder panics on an unknown tag
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(t.TempDir(), "f.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		call := fmt.Sprintf("Parse of %q", text)
		cfg, err := config.Parse([]string{"-config", path}, env(nil))
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%s error = %T %v; want a *config.Error", clip(call), err, err)
			}
			checkMessage(t, call, err.Error())
			if !strings.HasPrefix(err.Error(), path) {
				t.Errorf("%s error = %q; want it to start with the file's path", clip(call), err)
			}
			return
		}
		checkInRange(t, call, cfg)
	})
}
