package tiles_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/tiles"
)

func TestWait(t *testing.T) {
	tests := []struct {
		name     string
		d        time.Duration
		cancel   bool // cancel ctx before calling Wait
		want     error
		wantTime time.Duration
	}{
		{"zero", 0, false, nil, 0},
		{"negative", -time.Second, false, nil, 0},
		{"positive", 250 * time.Millisecond, false, nil, 250 * time.Millisecond},
		{"zero, cancelled", 0, true, context.Canceled, 0},
		{"negative, cancelled", -time.Second, true, context.Canceled, 0},
		{"positive, cancelled", time.Hour, true, context.Canceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancel {
					cancel()
				}
				start := time.Now()
				err := tiles.Wait(ctx, tt.d)
				if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
					t.Errorf("Wait(%v) = %v; want %v", tt.d, err, tt.want)
				}
				if got := time.Since(start); got != tt.wantTime {
					t.Errorf("Wait(%v) took %v; want %v", tt.d, got, tt.wantTime)
				}
			})
		})
	}

	t.Run("cancelled while waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := tiles.Wait(ctx, time.Hour)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Wait = %v; want %v", err, context.DeadlineExceeded)
			}
			if got, want := time.Since(start), 30*time.Millisecond; got != want {
				t.Errorf("Wait took %v; want %v", got, want)
			}
		})
	})
}

func TestSimulatedFetch(t *testing.T) {
	c := tiles.DefaultCatalogue()
	def := tiles.Builtins()[2] // recommendations: personalised
	req := tiles.Request{User: "alice"}

	tests := []struct {
		name    string
		latency time.Duration
		fail    float64
		rand    func() float64 // nil: must not be called
		wantErr error
	}{
		{"ok", 80 * time.Millisecond, 0, nil, nil},
		{"no latency", 0, 0, nil, nil},
		{"rand above fail rate", 80 * time.Millisecond, 0.5, func() float64 { return 0.7 }, nil},
		{"rand at fail rate", 80 * time.Millisecond, 0.5, func() float64 { return 0.5 }, nil},
		{"rand below fail rate", 80 * time.Millisecond, 0.5, func() float64 { return 0.2 }, tiles.ErrSimulated},
		{"always fails", 10 * time.Millisecond, 1, func() float64 { return 0.999 }, tiles.ErrSimulated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rand := tt.rand
				if rand == nil {
					rand = func() float64 { t.Error("rand called; want it unused when fail is 0"); return 0 }
				}
				s := tiles.Simulate(def, c, tt.latency, tt.fail).WithRand(rand)
				start := time.Now()
				data, err := s.Fetch(t.Context(), req)
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
					if data != nil {
						t.Errorf("data = %v; want nil with an error", data)
					}
					return
				}
				if err != nil {
					t.Fatalf("Fetch error = %v; want nil", err)
				}
				if want := def.Content(c, req); !reflect.DeepEqual(data, want) {
					t.Errorf("data = %+v; want %+v", data, want)
				}
			})
		})
	}
}

func TestSimulatedFetchCancelled(t *testing.T) {
	c := tiles.DefaultCatalogue()
	def := tiles.Builtins()[0]
	tests := []struct {
		name    string
		after   time.Duration // when ctx ends
		ctx     func(parent context.Context, after time.Duration) (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"cancel", 10 * time.Millisecond, func(p context.Context, d time.Duration) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(p)
			time.AfterFunc(d, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", 30 * time.Millisecond, func(p context.Context, d time.Duration) (context.Context, context.CancelFunc) {
			return context.WithTimeout(p, d)
		}, context.DeadlineExceeded},
		{"already cancelled", 0, func(p context.Context, d time.Duration) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(p)
			cancel()
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// fail 1 with a rand that would fail: a cancelled fetch must
				// report the cancellation, not a simulated failure.
				s := tiles.Simulate(def, c, 5*time.Second, 1).WithRand(func() float64 { return 0 })
				ctx, cancel := tt.ctx(t.Context(), tt.after)
				defer cancel()
				start := time.Now()
				data, err := s.Fetch(ctx, tiles.Request{})
				if got := time.Since(start); got != tt.after {
					t.Errorf("Fetch returned after %v; want %v (not the 5s latency)", got, tt.after)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Fetch error = %v; want %v", err, tt.wantErr)
				}
				if errors.Is(err, tiles.ErrSimulated) {
					t.Errorf("Fetch error = %v; want no simulated failure", err)
				}
				if data != nil {
					t.Errorf("data = %v; want nil", data)
				}
			})
		})
	}
}

func TestSimulatedDescribe(t *testing.T) {
	def := tiles.Builtins()[2]
	s := tiles.Simulate(def, tiles.DefaultCatalogue(), 120*time.Millisecond, 0.25)
	if got, want := s.Name(), def.Name; got != want {
		t.Errorf("Name() = %q; want %q", got, want)
	}
	want := tiles.Info{Name: def.Name, LatencyMS: 120, FailRate: 0.25, Personalised: true}
	if got := s.Describe(); got != want {
		t.Errorf("Describe() = %+v; want %+v", got, want)
	}
}
