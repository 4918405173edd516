package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"vitrine/tiles"
)

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

// ParseList parses "name=value,name=value" into a map, checking each name
// against known and each value with parse. Names may appear once; an empty
// list is valid and sets nothing.
func ParseList[T any](s string, known []string, parse func(string) (T, error)) (map[string]T, error) {
	out := map[string]T{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, value, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not a name=value pair", clip(item))
		}
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("unknown tile %q in %q (known: %s)", clip(name), clip(item), strings.Join(known, ", "))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("tile %q is given twice", name)
		}
		v, err := parse(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

// ParseHedge parses a hedge setting: "off", "p95" (adaptive) or a delay
// above zero. A zero delay is refused rather than read as off: hedging at
// once would double every fetch, and a "0ms" that silently turns hedging
// off hides a typo. Off is said as "off".
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

// latency is one -latency value: a latency and its tail, if any.
type latency struct {
	d    time.Duration
	tail Tail
}

func parseLatency(s string) (latency, error) {
	d, t, err := ParseLatency(s)
	return latency{d, t}, err
}

// ParseLatency parses a simulated latency, optionally with a heavy tail:
// "120ms", or "120ms/p99=1s" where 1 fetch in 100 takes 1s instead
// (p95: 1 in 20, p999: 1 in 1000).
//
// pNN names a percentile strictly between 0 and 100 in the usual short
// form: the first two digits are whole percents, the rest decimals (p50,
// p95, p99, p999 = 99.9, p9999 = 99.99, p05 = 5). Only that one spelling is
// read: a single digit (p5: 5 or 50?), a trailing zero past the second
// digit (p100 would read as 10.0 and looks like 100; p990 is p99) and p00
// are errors, so no spelling can mean a percentile of 0 or 100 or more.
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
	switch canonical := strings.TrimRight(digits, "0"); {
	case canonical == "":
		return 0, Tail{}, fmt.Errorf("tail %q: p%s is the 0th percentile; %s", tiles.Clip(tail, 32), digits, rule)
	case len(digits) == 1:
		return 0, Tail{}, fmt.Errorf("tail %q: p%s has one digit: the %sth or the %s0th percentile? write p0%s or p%s0; %s",
			tiles.Clip(tail, 32), digits, digits, digits, digits, digits, rule)
	case len(digits) > 2 && strings.HasSuffix(digits, "0"):
		if len(canonical) < 2 {
			canonical += "0"
		}
		return 0, Tail{}, fmt.Errorf("tail %q: p%s ends in a zero past two digits, which changes nothing (0.%s = 0.%s) but reads like %s%%: write p%s; %s",
			tiles.Clip(tail, 32), digits, digits, canonical, digits, canonical, rule)
	}
	// pNN is the quantile 0.NN; the tail is the rest, (10^len - NN) / 10^len,
	// computed in integers so that p99 gives exactly 0.01, not 1 - 0.99.
	n, _ := strconv.Atoi(digits)
	scale := 1
	for range digits {
		scale *= 10
	}
	td, err := ParseDuration(v)
	if err != nil {
		return 0, Tail{}, fmt.Errorf("tail: %w", err)
	}
	return d, Tail{Latency: td, Rate: float64(scale-n) / float64(scale)}, nil
}
