// Package sim provides the built-in tiles and their simulated backends:
// each answers its tile's content from the catalogue after a configurable
// latency (with an optional heavy tail) and fails with a configurable
// probability, so that Vitrine runs with no external service.
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"vitrine/catalogue"
	"vitrine/tiles"
)

// ErrSimulated is the error of a fetch that the simulator chose to fail.
var ErrSimulated = errors.New("backend unavailable (simulated failure)")

// Backend says how a simulated backend behaves.
type Backend struct {
	Latency time.Duration
	Fail    float64 // probability of failing: 0 never, 1 always
	// A heavy tail: a share TailRate of fetches take Tail instead of
	// Latency (0.01 for "p99=1s").
	Tail     time.Duration
	TailRate float64
	// Rand decides failures and tails; nil means math/rand/v2.
	Rand func() float64
}

// Simulated is a tiles.Fetcher serving a built-in tile's content.
type Simulated struct {
	def  Def
	cat  *catalogue.Catalogue
	b    Backend
	anon json.RawMessage // the content for everyone, encoded once
}

var (
	_ tiles.Fetcher   = (*Simulated)(nil)
	_ tiles.Describer = (*Simulated)(nil)
)

// New returns the simulated backend of def over cat.
func New(def Def, cat *catalogue.Catalogue, b Backend) (*Simulated, error) {
	if b.Rand == nil {
		b.Rand = rand.Float64
	}
	// Content that is the same for everyone is encoded once.
	anon, err := def.Content(cat, tiles.Request{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", def.Name, err)
	}
	return &Simulated{def: def, cat: cat, b: b, anon: anon}, nil
}

// Name returns the tile's name.
func (s *Simulated) Name() string { return s.def.Name }

// Describe says how the simulated backend behaves.
func (s *Simulated) Describe() tiles.Info {
	info := tiles.Info{Name: s.def.Name, Source: "simulator", Latency: s.b.Latency, FailRate: s.b.Fail,
		Personalised: s.def.Personalised}
	if s.b.Tail > 0 {
		info.Tail, info.TailRate = s.b.Tail, s.b.TailRate
	}
	return info
}

// Fetch waits the simulated latency, or until ctx is done, then returns the
// tile's content or the simulated failure.
func (s *Simulated) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	d := s.b.Latency
	if s.b.Tail > 0 && s.b.Rand() < s.b.TailRate {
		d = s.b.Tail
	}
	if err := tiles.Wait(ctx, d); err != nil {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", s.def.Name, err)
	}
	if s.b.Fail > 0 && s.b.Rand() < s.b.Fail {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", s.def.Name, ErrSimulated)
	}
	if !s.def.Personalised || req.User == "" {
		return tiles.Fresh(s.anon), nil
	}
	data, err := s.def.Content(s.cat, req)
	if err != nil {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", s.def.Name, err)
	}
	return tiles.Fresh(data), nil
}
