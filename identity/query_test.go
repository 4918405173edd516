package identity_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"vitrine/identity"
)

// TestQuery: the user parameter is believed if well formed; a malformed one,
// or one given twice, refuses the request.
func TestQuery(t *testing.T) {
	tests := []struct {
		query, id string
		res       identity.Result
		refused   bool
	}{
		{"", "", identity.Absent, false},
		{"user=", "", identity.Absent, false},
		{"user=bob", "bob", identity.Valid, false},
		{"user=bob%20smith", "", identity.Invalid, true},
		{"user=bob&user=eve", "", identity.Invalid, true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			id, res, err := identity.Query{}.Identify(httptest.NewRequest(http.MethodGet, "/home?"+tt.query, nil))
			if id != tt.id || res != tt.res || (err != nil) != tt.refused {
				t.Errorf("got %q, %s, %v; want %q, %s, refused %v", id, res, err, tt.id, tt.res, tt.refused)
			}
		})
	}
}

// TestObserved: every request's result is told, whatever it is.
func TestObserved(t *testing.T) {
	var got []identity.Result
	src := identity.Observed(identity.Query{}, func(r identity.Result) { got = append(got, r) })
	for _, q := range []string{"user=bob", "", "user=a+b"} {
		src.Identify(httptest.NewRequest(http.MethodGet, "/home?"+q, nil))
	}
	if want := []identity.Result{identity.Valid, identity.Absent, identity.Invalid}; len(got) != 3 ||
		got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("got %v; want %v", got, want)
	}
}
