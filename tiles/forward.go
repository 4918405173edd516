package tiles

import (
	"net/http"
	"strings"
)

// Forward is what a tile receives of the shopper's request besides the
// request id and traceparent, which every tile gets: nothing unless named.
// Headers holds canonical header names. A personalised tile receives the
// user as the query parameter user, or as the header UserHeader if set.
type Forward struct {
	Headers, Cookies, Query []string
	UserHeader              string
}

// Empty reports whether f forwards nothing of the shopper's request.
func (f Forward) Empty() bool {
	return len(f.Headers) == 0 && len(f.Cookies) == 0 && len(f.Query) == 0
}

// Union is f with g's names added, each once: what some tile of a page forwards.
func (f Forward) Union(g Forward) Forward {
	add := func(to, from []string) []string {
		for _, n := range from {
			if !contains(to, n) {
				to = append(to, n)
			}
		}
		return to
	}
	return Forward{Headers: add(f.Headers, g.Headers), Cookies: add(f.Cookies, g.Cookies), Query: add(f.Query, g.Query)}
}

// Origin is where a forwarded value comes from in the shopper's request.
type Origin uint8

// The origins of forwarded values.
const (
	FromHeader Origin = iota + 1
	FromCookie
	FromQuery
)

// Passed is one value of the shopper's request that some tile forwards.
type Passed struct {
	From        Origin
	Name, Value string
}

// Capture returns the values of r that f names and r carries: a header's
// values joined by ", ", a cookie's or query parameter's first value. It
// returns nil, allocating nothing, when f is empty.
func (f Forward) Capture(r *http.Request) []Passed {
	if f.Empty() {
		return nil
	}
	var out []Passed
	for _, n := range f.Headers {
		if v := r.Header.Values(n); len(v) > 0 {
			out = append(out, Passed{FromHeader, n, strings.Join(v, ", ")})
		}
	}
	for _, n := range f.Cookies {
		if c, err := r.Cookie(n); err == nil {
			out = append(out, Passed{FromCookie, n, c.Value})
		}
	}
	if len(f.Query) > 0 {
		q := r.URL.Query()
		for _, n := range f.Query {
			if q.Has(n) {
				out = append(out, Passed{FromQuery, n, q.Get(n)})
			}
		}
	}
	return out
}

// Each calls fn with each value of req that f allows, in the order captured.
func (f Forward) Each(req Request, fn func(Passed)) {
	for _, p := range req.Forwarded {
		var names []string
		switch p.From {
		case FromHeader:
			names = f.Headers
		case FromCookie:
			names = f.Cookies
		case FromQuery:
			names = f.Query
		}
		if contains(names, p.Name) {
			fn(p)
		}
	}
}

func contains(names []string, n string) bool {
	for _, m := range names {
		if m == n {
			return true
		}
	}
	return false
}
