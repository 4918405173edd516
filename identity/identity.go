// Package identity says who the shopper of a request is: a Source reads
// the request's credential (the user parameter, a bearer token, a signed
// cookie or a trusted proxy's header) and returns the shopper's id, or ""
// for an anonymous shopper, and how the credential fared.
package identity

import (
	"net/http"

	"vitrine/tiles"
)

// Result is how a request's credential fared, a label of vitrine_identity_total.
type Result string

// The results. Only Valid comes with an id.
const (
	Valid   Result = "valid"
	Absent  Result = "absent"  // no credential: an anonymous shopper
	Invalid Result = "invalid" // malformed, forged, or an id that breaks the rules
	Expired Result = "expired" // well signed, but past its expiry
)

// Results are every Result, for metrics that show each from the start.
var Results = []Result{Valid, Absent, Invalid, Expired}

// Source reads the shopper's id from a request. Only Query refuses a
// request (an error: a 400); the others answer a bad credential with an
// anonymous shopper and its Result.
type Source interface {
	Identify(r *http.Request) (id string, res Result, err error)
}

// Query believes the user parameter: anyone can claim any id, which suits
// the simulated catalogue and the tutorial only. A malformed id, or one
// given twice, refuses the request.
type Query struct{}

// Identify returns ?user= if it is a well-formed id.
func (Query) Identify(r *http.Request) (string, Result, error) {
	users := r.URL.Query()["user"]
	switch {
	case len(users) == 0 || len(users) == 1 && users[0] == "":
		return "", Absent, nil
	case len(users) > 1:
		return "", Invalid, tiles.Errorf(tiles.EINVALID, "user: given %d times; give it once", len(users))
	}
	if _, err := tiles.NewRequest(users[0]); err != nil {
		return "", Invalid, err
	}
	return users[0], Valid, nil
}

// checked is id if it keeps the rules of an id (tiles.NewRequest's), as a
// verified credential's must too.
func checked(id string) (string, Result, error) {
	if _, err := tiles.NewRequest(id); err != nil || id == "" {
		return "", Invalid, nil
	}
	return id, Valid, nil
}

// Observed is s, telling observe the Result of every request.
func Observed(s Source, observe func(Result)) Source { return observed{s, observe} }

type observed struct {
	Source
	observe func(Result)
}

func (o observed) Identify(r *http.Request) (string, Result, error) {
	id, res, err := o.Source.Identify(r)
	o.observe(res)
	return id, res, err
}

// Vary names the request headers s reads the shopper from, which a response
// that depends on the shopper lists in Vary; none for Query (the id is in
// the URL).
func Vary(s Source) []string {
	switch s := s.(type) {
	case observed:
		return Vary(s.Source)
	case *JWT:
		if s.cookie != "" {
			return []string{"Cookie"}
		}
		return []string{"Authorization"}
	case *Cookie:
		return []string{"Cookie"}
	case *Header:
		return []string{s.name}
	}
	return nil
}
