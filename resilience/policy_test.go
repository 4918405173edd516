package resilience

import (
	"strings"
	"testing"
	"time"

	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// TestDefaultPolicy checks the default policy of each built-in tile's
// latency. Its fallback is the tile's content, which the caller (package
// main) sets and tests.
func TestDefaultPolicy(t *testing.T) {
	for _, def := range sim.Builtins() {
		t.Run(def.Name, func(t *testing.T) {
			p := DefaultPolicy(def.Latency, def.Personalised)
			if err := p.Validate(); err != nil {
				t.Fatalf("default policy invalid: %v", err)
			}
			if p.Personalised != def.Personalised {
				t.Errorf("Personalised: got %t; want %t", p.Personalised, def.Personalised)
			}
			if p.Fallback != nil {
				t.Errorf("fallback: got %s; want none (the caller's to set)", p.Fallback)
			}
			if p.TTL <= 0 || p.MaxStale < p.StaleWhileRevalidate || p.FetchTimeout <= p.HedgeMax {
				t.Errorf("incoherent durations: %+v", p)
			}
			if p.HedgeMin <= def.Latency {
				t.Errorf("HedgeMin %s: want above the backend's usual %s, so ordinary fetches are not hedged", p.HedgeMin, def.Latency)
			}
			if p.MaxDetached != DefaultMaxDetached {
				t.Errorf("MaxDetached: got %d; want %d", p.MaxDetached, DefaultMaxDetached)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       Policy
		wantErr string // "" for valid
	}{
		{"zero policy", Policy{}, ""},
		{"negative TTL", Policy{TTL: -time.Second}, "TTL must not be negative"},
		{"negative MaxStale", Policy{MaxStale: -1}, "MaxStale"},
		{"hedge cap above 1", Policy{HedgeCap: 1.5}, "HedgeCap must be in [0, 1]"},
		{"adaptive without bounds", Policy{HedgeAdaptive: true}, "adaptive hedging needs"},
		{"adaptive with max below min", Policy{HedgeAdaptive: true, HedgeMin: time.Second, HedgeMax: time.Millisecond}, "HedgeMin <= HedgeMax"},
		{"negative breaker failures", Policy{BreakerFailures: -1}, "BreakerFailures"},
		{"negative max entries", Policy{MaxEntries: -5}, "MaxEntries"},
		{"negative max bytes", Policy{MaxBytes: -1}, "MaxBytes must not be negative"},
		{"negative max detached", Policy{MaxDetached: -1}, "MaxDetached must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v; want valid", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWrapPanicsOnBadPolicy(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"banners"`) {
			t.Errorf("got panic %v; want one naming the tile", r)
		}
	}()
	Wrap(newBackend(0, "").fetcher("banners"), Policy{TTL: -1}, Options{})
}

func TestWithDefaults(t *testing.T) {
	p := Policy{StaleWhileRevalidate: time.Hour, MaxStale: time.Minute}.withDefaults()
	if p.StaleWhileRevalidate != time.Minute {
		t.Errorf("StaleWhileRevalidate: got %s; want capped at MaxStale %s", p.StaleWhileRevalidate, time.Minute)
	}
	if p.MaxEntries != DefaultMaxEntries || p.MaxBytes != DefaultMaxBytes || p.FetchTimeout != DefaultFetchTimeout || p.HedgeCap != DefaultHedgeCap ||
		p.BreakerOpen != DefaultBreakerOpen || p.BreakerProbes != 1 || p.MaxDetached != DefaultMaxDetached || p.Bulkhead != DefaultBulkhead {
		t.Errorf("defaults not filled: %+v", p)
	}
}

func TestDescribe(t *testing.T) {
	def := sim.Builtins()[0]
	backend, err := sim.New(def, catalogue.Default(), sim.Backend{Latency: 40 * time.Millisecond, Fail: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{TTL: 30 * time.Second, MaxStale: time.Minute, HedgeDelay: 200 * time.Millisecond, BreakerFailures: 5}
	tile := Wrap(backend, p, Options{})
	defer tile.Close()
	got, inner := tile.Describe(), backend.Describe()
	if got.Policy == nil {
		t.Fatal("Describe: no policy")
	}
	wantPolicy := tiles.PolicyInfo{TTL: 30 * time.Second, MaxStale: time.Minute, Coalesced: true, Hedge: "after 200ms",
		BreakerFailures: 5, MaxDetached: DefaultMaxDetached, Bulkhead: DefaultBulkhead}
	if *got.Policy != wantPolicy {
		t.Errorf("Describe policy: got %+v; want %+v", *got.Policy, wantPolicy)
	}
	got.Policy = nil
	if got != inner {
		t.Errorf("Describe: got %+v; want the inner %+v", got, inner)
	}
	if got, want := tile.Name(), def.Name; got != want {
		t.Errorf("Name: got %q; want %q", got, want)
	}

	plain := Wrap(newBackend(0, "").fetcher("x"), Policy{Personalised: true, Direct: true, HedgeAdaptive: true,
		HedgeMin: 10 * time.Millisecond, HedgeMax: 40 * time.Millisecond, MaxDetached: 7, Fallback: tilestest.String("default"),
		BackendTTL: true}, Options{})
	defer plain.Close()
	info := plain.Describe()
	if info.Policy == nil {
		t.Fatal("Describe without a describer: no policy")
	}
	wantPolicy = tiles.PolicyInfo{Hedge: "p95, within 10ms to 40ms", MaxDetached: 7, Bulkhead: DefaultBulkhead, Fallback: true,
		BackendTTL: true, MaxTTL: DefaultMaxTTL}
	if *info.Policy != wantPolicy {
		t.Errorf("Describe without a describer, policy: got %+v; want %+v", *info.Policy, wantPolicy)
	}
	info.Policy = nil
	if want := (tiles.Info{Name: "x", Personalised: true}); info != want {
		t.Errorf("Describe without a describer: got %+v; want %+v", info, want)
	}
}
