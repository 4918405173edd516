package tiles_test

import (
	"net/http/httptest"
	"reflect"
	"testing"

	"vitrine/tiles"
)

// TestCapture: only the named values are read, a header's values joined;
// with no names nothing is read and nothing allocated.
func TestCapture(t *testing.T) {
	r := httptest.NewRequest("GET", "/home?q=shoes&q=boots&x=1", nil)
	r.Header.Add("Accept-Language", "de")
	r.Header.Add("Accept-Language", "en;q=0.5")
	r.Header.Set("Cookie", "cart=c1; session=s")
	r.Header.Set("X-Other", "o")
	fw := tiles.Forward{Headers: []string{"Accept-Language", "X-Absent"}, Cookies: []string{"cart"}, Query: []string{"q"}}
	want := []tiles.Passed{{From: tiles.FromHeader, Name: "Accept-Language", Value: "de, en;q=0.5"},
		{From: tiles.FromCookie, Name: "cart", Value: "c1"}, {From: tiles.FromQuery, Name: "q", Value: "shoes"}}
	if got := fw.Capture(r); !reflect.DeepEqual(got, want) {
		t.Errorf("Capture = %+v; want %+v", got, want)
	}
	var only []tiles.Passed
	tiles.Forward{Cookies: []string{"cart"}}.Each(tiles.Request{Forwarded: want}, func(p tiles.Passed) {
		only = append(only, p)
	})
	if len(only) != 1 || only[0].Name != "cart" {
		t.Errorf("Each of the cookie rule = %+v; want the cart cookie alone", only)
	}
	if n := testing.AllocsPerRun(100, func() { _ = tiles.Forward{}.Capture(r) }); n != 0 {
		t.Errorf("Capture without rules: %g allocations; want 0", n)
	}
}
