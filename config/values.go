package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"vitrine/tiles"
)

// scalarFlag is a flag.Value of one parsed value.
type scalarFlag[T any] struct {
	p     *T
	parse func(string) (T, error)
}

func scalar[T any](p *T, parse func(string) (T, error)) *scalarFlag[T] {
	return &scalarFlag[T]{p, parse}
}

func (f *scalarFlag[T]) String() string {
	if f == nil || f.p == nil {
		return ""
	}
	if d, ok := any(*f.p).(time.Duration); ok {
		return d.String()
	}
	return fmt.Sprint(*f.p)
}

func (f *scalarFlag[T]) Set(s string) error {
	v, err := f.parse(s)
	if err == nil {
		*f.p = v
	}
	return err
}

// boolFlag is a boolean flag (-cache alone means true) whose error names the
// bad value; the flag package's own says only "parse error".
type boolFlag struct{ *scalarFlag[bool] }

func (boolFlag) IsBoolFlag() bool { return true }

func parseBool(s string) (bool, error) {
	v, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", clip(s))
	}
	return v, nil
}

// listFlag is a flag.Value of name=value pairs, one per tile, each handed
// to set. Values from the environment are applied after the command line
// and do not override the tiles it named.
type listFlag[T any] struct {
	known   []string
	parse   func(string) (T, error)
	set     func(name string, v T)
	show    func() string
	named   map[string]bool // the tiles the command line named
	fromEnv bool
}

// merger marks the flags whose command-line value merges with their
// environment variable's (the name=value lists).
type merger interface{ underCommandLine() }

func list[T, S any](known []string, parse func(string) (T, error), set func(string, T), shown map[string]S) *listFlag[T] {
	return &listFlag[T]{known: known, parse: parse, set: set, named: map[string]bool{}, show: func() string {
		parts := make([]string, 0, len(shown))
		for _, k := range slices.Sorted(maps.Keys(shown)) {
			parts = append(parts, fmt.Sprintf("%s=%v", k, shown[k]))
		}
		return strings.Join(parts, ",")
	}}
}

// set returns a setter of m's entries.
func set[T any](m map[string]T) func(string, T) {
	return func(name string, v T) { m[name] = v }
}

func (l *listFlag[T]) underCommandLine() { l.fromEnv = true }

func (l *listFlag[T]) String() string {
	if l == nil || l.show == nil {
		return ""
	}
	return l.show()
}

func (l *listFlag[T]) Set(s string) error {
	parsed, err := ParseList(s, l.known, l.parse)
	if err != nil {
		return err
	}
	for name, v := range parsed {
		if l.fromEnv && l.named[name] {
			continue
		}
		l.named[name] = !l.fromEnv
		l.set(name, v)
	}
	return nil
}

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

func clip(s string) string { return tiles.Clip(s, 64) }
