package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"vitrine/tiles"
	"vitrine/tracing"
	"vitrine/upstream"
	"vitrine/web"
)

// The settings' parsers. Their messages quote the value, clipped, never a password.

// ParseDuration parses a Go duration ("40ms", "1.5s") that must not be
// negative. A bare number is refused: "40" could mean seconds or ms.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		// Only a plain decimal number lacks just a unit ("NaN", "1e3" do not).
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil && strings.Trim(s, "+-.0123456789") == "" {
			n := clip(s)
			return 0, fmt.Errorf("%q has no unit; write e.g. %sms or %ss", n, n, n)
		}
		return 0, fmt.Errorf("%q is not a duration (e.g. 40ms, 1.5s)", clip(s))
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", clip(s))
	}
	return d, nil
}

// ParseProbability parses a probability in [0, 1].
func ParseProbability(s string) (float64, error) {
	s = strings.TrimSpace(s)
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || p != p { // p != p: NaN
		return 0, fmt.Errorf("%q is not a number", clip(s))
	}
	if p < 0 || p > 1 {
		return 0, fmt.Errorf("%s is outside [0, 1]", clip(s))
	}
	return p, nil
}

// parseCount parses a whole number >= 0.
func parseCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a whole number >= 0", clip(s))
	}
	return v, nil
}

// parseBulkhead parses a bulkhead, at least 1: none in flight would refuse every request.
func parseBulkhead(s string) (int, error) {
	n, err := parseCount(s)
	if err == nil && n == 0 {
		err = errors.New("0 would refuse every request; give at least 1")
	}
	return n, err
}

func parseBool(s string) (bool, error) {
	v, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", clip(s))
	}
	return v, nil
}

func text(s string) (string, error) { return s, nil }

// positive wraps parse to refuse zero.
func positive[T int | time.Duration](parse func(string) (T, error)) func(string) (T, error) {
	return func(s string) (T, error) {
		v, err := parse(s)
		if err == nil && v == 0 {
			err = fmt.Errorf("%q must be more than zero", clip(s))
		}
		return v, err
	}
}

// eachPair hands each pair of a name=value list to f in order, each name one of known, once.
func eachPair(s string, known []string, f func(name, value string) error) error {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, value, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		switch {
		case !ok || name == "":
			return fmt.Errorf("%q is not a name=value pair", clip(item))
		case !slices.Contains(known, name):
			return fmt.Errorf("unknown tile %q in %q (known: %s)", clip(name), clip(item), strings.Join(known, ", "))
		case seen[name]:
			return fmt.Errorf("tile %q is given twice", name)
		}
		seen[name] = true
		if err := f(name, value); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// ParseHedge parses a hedge setting: "off", "p95" (adaptive) or a delay
// above zero. A zero delay is refused, not read as off: it may be a typo.
func ParseHedge(s string) (Hedge, error) {
	switch s = strings.TrimSpace(s); s {
	case "off":
		return Hedge{}, nil
	case "p95", "auto":
		return Hedge{Adaptive: true}, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return Hedge{}, fmt.Errorf("%w, off or p95", err)
	}
	if d == 0 {
		return Hedge{}, fmt.Errorf("%q is a zero delay; give a delay above zero (e.g. 150ms), off or p95", clip(s))
	}
	return Hedge{Delay: d}, nil
}

// String writes h as ParseHedge reads it.
func (h Hedge) String() string {
	switch {
	case h.Adaptive:
		return "p95"
	case h.Delay > 0:
		return h.Delay.String()
	}
	return "off"
}

// ParseLatency parses a simulated latency, optionally with a heavy tail:
// "120ms", or "120ms/p99=1s" where 1 fetch in 100 takes 1s instead. In pNN
// the first two digits are whole percents, the rest decimals (p999 = 99.9);
// one digit (p5: 5 or 50?), p00 and a zero past the second digit (p100
// reads as 10.0) are refused, so no spelling means 0 or 100 or more.
func ParseLatency(s string) (time.Duration, Tail, error) {
	base, tail, hasTail := strings.Cut(s, "/")
	d, err := ParseDuration(base)
	if err != nil || !hasTail {
		return d, Tail{}, err
	}
	q, v, ok := strings.Cut(strings.TrimSpace(tail), "=")
	digits, isP := strings.CutPrefix(q, "p")
	if !ok || !isP || digits == "" || strings.Trim(digits, "0123456789") != "" || len(digits) > 6 {
		return 0, Tail{}, fmt.Errorf("tail %q is not pNN=duration (e.g. p99=1s)", tiles.Clip(tail, 32))
	}
	const rule = "a tail is pNN, two digits of whole percents and any more as decimals " +
		"(p50, p95, p99, p999 = 99.9), strictly between 0 and 100"
	tail = tiles.Clip(tail, 32)
	switch canonical := strings.TrimRight(digits, "0"); {
	case canonical == "":
		return 0, Tail{}, fmt.Errorf("tail %q: p%s is the 0th percentile; %s", tail, digits, rule)
	case len(digits) == 1:
		return 0, Tail{}, fmt.Errorf("tail %q: p%s has one digit: the %sth or the %s0th percentile? write p0%s or p%s0; %s",
			tail, digits, digits, digits, digits, digits, rule)
	case len(digits) > 2 && strings.HasSuffix(digits, "0"):
		if len(canonical) < 2 {
			canonical += "0"
		}
		return 0, Tail{}, fmt.Errorf("tail %q: p%s ends in a zero past two digits, which changes nothing "+
			"(0.%s = 0.%s) but reads like %s%%: write p%s; %s", tail, digits, digits, canonical, digits, canonical, rule)
	}
	// The tail is (10^len - NN) / 10^len: p99 gives exactly 0.01, not 1 - 0.99.
	n, _ := strconv.Atoi(digits)
	scale := int(math.Pow10(len(digits)))
	td, err := ParseDuration(v)
	if err != nil {
		return 0, Tail{}, fmt.Errorf("tail: %w", err)
	}
	return d, Tail{Latency: td, Rate: float64(scale-n) / float64(scale)}, nil
}

// hostPort checks host:port: a port from min to 65535, a host unless min is 0.
func hostPort(s string, min int, example string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" && min > 0 {
		return "", fmt.Errorf("%q is not host:port (e.g. %s)", clip(s), example)
	}
	if err := upstream.CheckPort(port, min); err != nil {
		return "", fmt.Errorf("%q %w", clip(s), err)
	}
	return s, nil
}

func checkedAddr(s string) (string, error) { return hostPort(s, 0, "localhost:8080 or :8080") }

// optionalAddr is checkedAddr, except that "" is allowed and means unset.
func optionalAddr(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	return checkedAddr(s)
}

// sameListener reports whether listening on the checked addresses a and b
// would collide: the same port other than 0 on the same host, or on any host
// when either is a wildcard (":8080", "0.0.0.0:8080"); localhost is loopback.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	na, _ := strconv.Atoi(pa)
	nb, _ := strconv.Atoi(pb)
	if errA != nil || errB != nil || na != nb || na == 0 {
		return false
	}
	ipA, errA := netip.ParseAddr(ha)
	ipB, errB := netip.ParseAddr(hb)
	wildcard := func(h string, ip netip.Addr, err error) bool { return h == "" || err == nil && ip.IsUnspecified() }
	loopback := func(h string, ip netip.Addr, err error) bool {
		return strings.EqualFold(h, "localhost") || err == nil && ip.IsLoopback()
	}
	switch {
	case wildcard(ha, ipA, errA) || wildcard(hb, ipB, errB):
		return true
	case errA == nil && errB == nil:
		return ipA.Unmap() == ipB.Unmap()
	case strings.EqualFold(ha, "localhost") || strings.EqualFold(hb, "localhost"):
		return loopback(ha, ipA, errA) && loopback(hb, ipB, errB)
	}
	return strings.EqualFold(ha, hb)
}

// ParseBackendURL checks a backend's URL by upstream.CheckURL, hiding a password.
func ParseBackendURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("no url given")
	}
	if err := upstream.CheckURL(s); err != nil {
		shown := s
		if u, perr := url.Parse(s); perr == nil {
			shown = u.Redacted()
		}
		return "", fmt.Errorf("%q %v", clip(shown), err)
	}
	return s, nil
}

func parseView(s string) (string, error) {
	if s = strings.TrimSpace(s); !slices.Contains(web.ViewNames(), s) {
		return "", fmt.Errorf("%q is not a view (one of %s)", clip(s), strings.Join(web.ViewNames(), ", "))
	}
	return s, nil
}

var tileName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// parseTileName checks a tile's name, a key in name=value flags and in /tiles/NAME.
func parseTileName(s string) (string, error) {
	if !tileName.MatchString(s) {
		return "", fmt.Errorf("%q is not a tile name (1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit)",
			clip(s))
	}
	return s, nil
}

// maxMaxBody bounds max-body: a tile's body is held in memory.
const maxMaxBody = 1 << 30

// maxCacheBytes bounds cache-bytes: far above any one machine's memory.
const maxCacheBytes = 1 << 40

// parseMaxBody parses a body limit from 1 byte to 1 GiB: bytes, or "512KiB", "2MiB".
func parseMaxBody(s string) (int64, error) { return parseSize(s, maxMaxBody) }

// parseCacheBytes parses the memory caches' budget, from 1 byte to 1 TiB.
func parseCacheBytes(s string) (int64, error) { return parseSize(s, maxCacheBytes) }

// sizeText is n as parseSize reads it, in the largest unit that divides it.
func sizeText(n int64) string {
	for _, u := range []struct {
		unit string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n > 0 && n%u.size == 0 {
			return fmt.Sprint(n/u.size, u.unit)
		}
	}
	return fmt.Sprint(n)
}

// parseSize parses a size from 1 byte to limit: bytes, or "512KiB", "2MiB", "1GiB".
func parseSize(s string, limit int64) (int64, error) {
	s = strings.TrimSpace(s)
	num, unit := s, int64(1)
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			num, unit = strings.TrimSpace(n), u
		}
	}
	n, err := parseCount(num)
	if err != nil || n == 0 || int64(n) > limit/unit {
		return 0, fmt.Errorf("%q is not a size from 1 byte to %dMiB (bytes, or e.g. 512KiB, 2MiB)", clip(s), limit>>20)
	}
	return int64(n) * unit, nil
}

// ParseTraceMode checks a -trace value: one of tracing.Modes.
func ParseTraceMode(s string) (string, error) {
	if !slices.Contains(tracing.Modes, s) {
		return "", fmt.Errorf("%q is not a tracing mode (%s)", clip(s), strings.Join(tracing.Modes, ", "))
	}
	return s, nil
}

func clip(s string) string { return tiles.Clip(s, 64) }

// oneLine clips s, quoted if unprintable or not UTF-8, for a one-line message.
func oneLine(s string, n int) string {
	s = tiles.Clip(s, n)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

// parseLabel checks a tile's label, which names its backend to clients: 1
// to 64 printable characters, not "simulator", which names no HTTP backend.
func parseLabel(s string) (string, error) {
	switch s = strings.TrimSpace(s); {
	case s == "" || len(s) > 64 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r)
	}):
		return "", fmt.Errorf("%s is not a label (1 to 64 printable characters, e.g. catalogue-api)",
			strconv.Quote(clip(s)))
	case s == "simulator":
		return "", errors.New(`"simulator" names the built-in simulator, not an HTTP backend; choose another`)
	}
	return s, nil
}
