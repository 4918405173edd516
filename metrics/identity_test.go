package metrics

import (
	"testing"

	"vitrine/identity"
)

// TestIdentified: each result has its series from the start, and counts.
func TestIdentified(t *testing.T) {
	m := New()
	m.Identified(identity.Valid)
	m.Identified(identity.Expired)
	m.Identified(identity.Expired)
	body := scrape(t, m.Handler())
	for result, want := range map[string]string{"valid": "1", "absent": "0", "invalid": "0", "expired": "2"} {
		if got := value(body, `vitrine_identity_total{result="`+result+`"}`); got != want {
			t.Errorf("%s: got %q; want %q", result, got, want)
		}
	}
}

// TestCookiesDropped: dropped Set-Cookie lines count by tile.
func TestCookiesDropped(t *testing.T) {
	m := New()
	m.CookiesDropped("banners", 2)
	m.CookiesDropped("banners", 1)
	if got := value(scrape(t, m.Handler()), `vitrine_set_cookie_dropped_total{tile="banners"}`); got != "3" {
		t.Errorf("got %q; want 3", got)
	}
}
