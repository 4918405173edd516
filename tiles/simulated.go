package tiles

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ErrSimulated is the error of a fetch that the simulator chose to fail.
var ErrSimulated = errors.New("backend unavailable (simulated failure)")

// Simulated is a Fetcher that serves a Def's content after a simulated
// backend latency, failing with a given probability.
type Simulated struct {
	def     Def
	cat     *Catalogue
	latency time.Duration
	fail    float64
	rand    func() float64 // in [0,1); math/rand/v2 by default
	// A heavy tail: a share tailRate of fetches take tail instead of latency.
	tail     time.Duration
	tailRate float64
}

var _ Fetcher = (*Simulated)(nil)

// Simulate returns a Fetcher for def over cat that waits latency and then
// fails with probability fail (0 never, 1 always).
func Simulate(def Def, cat *Catalogue, latency time.Duration, fail float64) *Simulated {
	return &Simulated{def: def, cat: cat, latency: latency, fail: fail, rand: rand.Float64}
}

// WithRand replaces the random source that decides failures (for tests).
func (s *Simulated) WithRand(r func() float64) *Simulated {
	s.rand = r
	return s
}

// WithTail gives the backend a heavy tail: a share rate of fetches (0.01
// for "p99=1s") take tail instead of the usual latency.
func (s *Simulated) WithTail(tail time.Duration, rate float64) *Simulated {
	s.tail, s.tailRate = tail, rate
	return s
}

// Name returns the tile's name.
func (s *Simulated) Name() string { return s.def.Name }

// Describe says how the simulated backend behaves.
func (s *Simulated) Describe() Info {
	info := Info{
		Name:         s.def.Name,
		LatencyMS:    float64(s.latency) / float64(time.Millisecond),
		FailRate:     s.fail,
		Personalised: s.def.Personalised,
	}
	if s.tail > 0 {
		info.TailMS = float64(s.tail) / float64(time.Millisecond)
		info.TailRate = s.tailRate
	}
	return info
}

// Fetch waits the simulated latency, or until ctx is done, then returns the
// tile's content or the simulated failure.
func (s *Simulated) Fetch(ctx context.Context, req Request) (any, error) {
	d := s.latency
	if s.tail > 0 && s.rand() < s.tailRate {
		d = s.tail
	}
	if err := Wait(ctx, d); err != nil {
		return nil, fmt.Errorf("%s: %w", s.def.Name, err)
	}
	if s.fail > 0 && s.rand() < s.fail {
		return nil, fmt.Errorf("%s: %w", s.def.Name, ErrSimulated)
	}
	return s.def.Content(s.cat, req), nil
}

// Wait blocks for d or until ctx is done, whichever comes first, and returns
// ctx.Err() in the latter case. Unlike time.Sleep it never outlasts its
// request.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
