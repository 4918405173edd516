package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newSim is sim.New, failing the test on an error.
func newSim(t *testing.T, def sim.Def, cat *catalogue.Catalogue, b sim.Backend) *sim.Simulated {
	t.Helper()
	s, err := sim.New(def, cat, b)
	if err != nil {
		t.Fatalf("New(%s) error = %v; want nil", def.Name, err)
	}
	return s
}

// wantContent is def.Content for req, failing the test on an error.
func wantContent(t *testing.T, def sim.Def, cat *catalogue.Catalogue, req tiles.Request) json.RawMessage {
	t.Helper()
	data, err := def.Content(cat, req)
	if err != nil {
		t.Fatalf("%s: Content(%+v) error = %v; want nil", def.Name, req, err)
	}
	return data
}

// randSequence returns a random source that hands out vs in turn and fails
// the test if asked for more.
func randSequence(t *testing.T, vs ...float64) func() float64 {
	var i atomic.Int64
	return func() float64 {
		n := int(i.Add(1)) - 1
		if n >= len(vs) {
			t.Errorf("rand called %d times; want at most %d", n+1, len(vs))
			return 0.5
		}
		return vs[n]
	}
}

func TestFetch(t *testing.T) {
	c := catalogue.Default()
	def := tilestest.Builtin(t, "recommendations") // personalised
	req := tiles.Request{User: "alice"}

	tests := []struct {
		name    string
		latency time.Duration
		fail    float64
		rand    []float64 // what the random source hands out, in turn
		wantErr error
	}{
		{"ok", 80 * time.Millisecond, 0, nil, nil},
		{"no latency", 0, 0, nil, nil},
		{"rand above fail rate", 80 * time.Millisecond, 0.5, []float64{0.7}, nil},
		{"rand at fail rate", 80 * time.Millisecond, 0.5, []float64{0.5}, nil},
		{"rand below fail rate", 80 * time.Millisecond, 0.5, []float64{0.2}, sim.ErrSimulated},
		{"always fails", 10 * time.Millisecond, 1, []float64{0.999}, sim.ErrSimulated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// No fail rate and no tail: the random source must not be used.
				s := newSim(t, def, c, sim.Backend{Latency: tt.latency, Fail: tt.fail, Rand: randSequence(t, tt.rand...)})
				start := time.Now()
				out, err := s.Fetch(t.Context(), req)
				if got := time.Since(start); got != tt.latency {
					t.Errorf("Fetch took %v; want %v", got, tt.latency)
				}
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Fetch error = %v; want %v", err, tt.wantErr)
					}
					if !strings.HasPrefix(err.Error(), def.Name+": ") {
						t.Errorf("error %q; want it prefixed with %q", err, def.Name+": ")
					}
					if out.Data != nil || out.Status != "" {
						t.Errorf("Outcome = %+v; want the zero Outcome with an error", out)
					}
					return
				}
				if err != nil {
					t.Fatalf("Fetch error = %v; want nil", err)
				}
				if out.Status != tiles.StatusOK || out.Cause != nil || out.Age != 0 {
					t.Errorf("Outcome = %+v; want a fresh one", out)
				}
				if got, want := string(out.Data), string(wantContent(t, def, c, req)); got != want {
					t.Errorf("Data = %s;\nwant %s", got, want)
				}
			})
		})
	}
}

// TestFetchContent: every built-in tile serves def.Content's data, for an
// anonymous visitor and a signed-in one alike.
func TestFetchContent(t *testing.T) {
	c := catalogue.Default()
	for _, def := range sim.Builtins() {
		s := newSim(t, def, c, sim.Backend{})
		for _, req := range []tiles.Request{{}, {User: "alice"}, {User: "bob"}} {
			out, err := s.Fetch(t.Context(), req)
			if err != nil {
				t.Fatalf("%s: Fetch(%+v) error = %v; want nil", def.Name, req, err)
			}
			if got, want := string(out.Data), string(wantContent(t, def, c, req)); got != want {
				t.Errorf("%s: Fetch(%+v) data = %s;\nwant %s", def.Name, req, got, want)
			}
			if !json.Valid(out.Data) {
				t.Errorf("%s: Fetch(%+v) data = %q; want valid JSON", def.Name, req, out.Data)
			}
		}
	}
}

// TestFetchEncodesSharedContentOnce: content that is the same for everyone
// is computed at New, not per fetch; a personalised tile computes only a
// signed-in visitor's.
func TestFetchEncodesSharedContentOnce(t *testing.T) {
	c := catalogue.Default()
	for _, tc := range []struct {
		name         string
		personalised bool
		wantCalls    int64 // after New and one fetch per request below
	}{
		{"shared", false, 1},
		{"personalised", true, 3}, // New, alice, bob
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			def := sim.Def{Name: "counted", Personalised: tc.personalised,
				Content: func(_ *catalogue.Catalogue, req tiles.Request) (json.RawMessage, error) {
					calls.Add(1)
					return json.Marshal(req.User)
				}}
			s := newSim(t, def, c, sim.Backend{})
			if got := calls.Load(); got != 1 {
				t.Errorf("after New, Content called %d times; want 1", got)
			}
			for _, req := range []tiles.Request{{}, {User: "alice"}, {}, {User: "bob"}} {
				out, err := s.Fetch(t.Context(), req)
				if err != nil {
					t.Fatalf("Fetch(%+v) error = %v; want nil", req, err)
				}
				want := `""`
				if tc.personalised {
					want = `"` + req.User + `"`
				}
				if got := string(out.Data); got != want {
					t.Errorf("Fetch(%+v) data = %s; want %s", req, got, want)
				}
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("Content called %d times; want %d", got, tc.wantCalls)
			}
		})
	}
}

// TestContentErrors: a tile whose content cannot be made fails New (for
// the shared content) or Fetch (for a visitor's), naming the tile.
func TestContentErrors(t *testing.T) {
	errBoom := errors.New("boom")
	failingFor := func(bad string) sim.Def {
		return sim.Def{Name: "broken", Personalised: true,
			Content: func(_ *catalogue.Catalogue, req tiles.Request) (json.RawMessage, error) {
				if req.User == bad {
					return nil, errBoom
				}
				return json.RawMessage(`{}`), nil
			}}
	}

	t.Run("New", func(t *testing.T) {
		s, err := sim.New(failingFor(""), catalogue.Default(), sim.Backend{})
		if !errors.Is(err, errBoom) || !strings.HasPrefix(err.Error(), "broken: ") {
			t.Errorf("New = %v, %v; want an error wrapping %v, prefixed with the tile's name", s, err, errBoom)
		}
	})

	t.Run("Fetch", func(t *testing.T) {
		s := newSim(t, failingFor("bad"), catalogue.Default(), sim.Backend{})
		out, err := s.Fetch(t.Context(), tiles.Request{User: "bad"})
		if !errors.Is(err, errBoom) || !strings.HasPrefix(err.Error(), "broken: ") {
			t.Errorf("Fetch = %+v, %v; want an error wrapping %v, prefixed with the tile's name", out, err, errBoom)
		}
		if _, err := s.Fetch(t.Context(), tiles.Request{User: "good"}); err != nil {
			t.Errorf("Fetch(good) error = %v; want nil", err)
		}
	})
}

// TestFetchTail: a share TailRate of fetches take Tail instead of Latency.
func TestFetchTail(t *testing.T) {
	c := catalogue.Default()
	def := tilestest.Builtin(t, "products")
	tests := []struct {
		name string
		b    sim.Backend // Rand from rand
		rand []float64
		want time.Duration
	}{
		{"in the tail", sim.Backend{Latency: 50 * time.Millisecond, Tail: time.Second, TailRate: 0.01},
			[]float64{0.005}, time.Second},
		{"at the tail rate", sim.Backend{Latency: 50 * time.Millisecond, Tail: time.Second, TailRate: 0.01},
			[]float64{0.01}, 50 * time.Millisecond},
		{"outside the tail", sim.Backend{Latency: 50 * time.Millisecond, Tail: time.Second, TailRate: 0.01},
			[]float64{0.9}, 50 * time.Millisecond},
		{"no tail: rand unused", sim.Backend{Latency: 50 * time.Millisecond, TailRate: 0.01},
			nil, 50 * time.Millisecond},
		{"tail, then fail drawn separately", sim.Backend{Latency: 50 * time.Millisecond, Tail: time.Second, TailRate: 0.01, Fail: 0.5},
			[]float64{0.001, 0.9}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := tt.b
				b.Rand = randSequence(t, tt.rand...)
				s := newSim(t, def, c, b)
				start := time.Now()
				if _, err := s.Fetch(t.Context(), tiles.Request{}); err != nil {
					t.Fatalf("Fetch error = %v; want nil", err)
				}
				if got := time.Since(start); got != tt.want {
					t.Errorf("Fetch took %v; want %v", got, tt.want)
				}
			})
		})
	}
}

// TestFetchCancelled: Fetch returns as soon as its context ends, with an
// error wrapping ctx.Err() (never a simulated failure), as tiles.Fetcher
// requires.
func TestFetchCancelled(t *testing.T) {
	c := catalogue.Default()
	def := tilestest.Builtin(t, "banners")
	cancelAfter := func(d time.Duration) func(context.Context) (context.Context, context.CancelFunc) {
		return func(p context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(p)
			time.AfterFunc(d, cancel)
			return ctx, cancel
		}
	}
	deadline := func(d time.Duration) func(context.Context) (context.Context, context.CancelFunc) {
		return func(p context.Context) (context.Context, context.CancelFunc) { return context.WithTimeout(p, d) }
	}
	cancelled := func(p context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(p)
		cancel()
		return ctx, cancel
	}
	tests := []struct {
		name    string
		latency time.Duration
		ctx     func(parent context.Context) (context.Context, context.CancelFunc)
		after   time.Duration // when Fetch returns
		wantErr error
	}{
		{"cancel", 5 * time.Second, cancelAfter(10 * time.Millisecond), 10 * time.Millisecond, context.Canceled},
		{"deadline", 5 * time.Second, deadline(30 * time.Millisecond), 30 * time.Millisecond, context.DeadlineExceeded},
		{"already cancelled", 5 * time.Second, cancelled, 0, context.Canceled},
		{"already cancelled, no latency", 0, cancelled, 0, context.Canceled},
		{"already cancelled, negative latency", -time.Second, cancelled, 0, context.Canceled},
		{"deadline after the latency", 250 * time.Millisecond, deadline(time.Hour), 250 * time.Millisecond, nil},
		{"negative latency", -time.Second, deadline(time.Hour), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// fail 1 with a rand that would fail: a cancelled fetch must
				// report the cancellation, not a simulated failure.
				s := newSim(t, def, c, sim.Backend{Latency: tt.latency, Fail: 1, Rand: func() float64 { return 0 }})
				ctx, cancel := tt.ctx(t.Context())
				defer cancel()
				start := time.Now()
				out, err := s.Fetch(ctx, tiles.Request{})
				if got := time.Since(start); got != tt.after {
					t.Errorf("Fetch returned after %v; want %v", got, tt.after)
				}
				if tt.wantErr == nil {
					if !errors.Is(err, sim.ErrSimulated) {
						t.Errorf("Fetch error = %v; want the simulated failure once the latency has passed", err)
					}
					return
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Fetch error = %v; want %v", err, tt.wantErr)
				}
				if errors.Is(err, sim.ErrSimulated) {
					t.Errorf("Fetch error = %v; want no simulated failure", err)
				}
				if !strings.HasPrefix(err.Error(), def.Name+": ") {
					t.Errorf("error %q; want it prefixed with %q", err, def.Name+": ")
				}
				if out.Data != nil {
					t.Errorf("data = %s; want nil", out.Data)
				}
			})
		})
	}
}

func TestDescribe(t *testing.T) {
	c := catalogue.Default()
	tests := []struct {
		name string
		tile string
		b    sim.Backend
		want tiles.Info
	}{
		{"personalised", "recommendations", sim.Backend{Latency: 120 * time.Millisecond, Fail: 0.25},
			tiles.Info{Name: "recommendations", Source: "simulator", Latency: 120 * time.Millisecond, FailRate: 0.25, Personalised: true}},
		{"with a tail", "products", sim.Backend{Latency: 80 * time.Millisecond, Tail: time.Second, TailRate: 0.01},
			tiles.Info{Name: "products", Source: "simulator", Latency: 80 * time.Millisecond, Tail: time.Second, TailRate: 0.01}},
		{"a rate without a tail is none", "banners", sim.Backend{Latency: 40 * time.Millisecond, TailRate: 0.01},
			tiles.Info{Name: "banners", Source: "simulator", Latency: 40 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, tilestest.Builtin(t, tt.tile), c, tt.b)
			if got, want := s.Name(), tt.tile; got != want {
				t.Errorf("Name() = %q; want %q", got, want)
			}
			if got := s.Describe(); got != tt.want {
				t.Errorf("Describe() = %+v; want %+v", got, tt.want)
			}
		})
	}
}
