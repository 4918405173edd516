// Package tiles provides the homepage tiles: the Fetcher interface every tile
// implements, the request a tile is fetched for, the embedded catalogue the
// built-in tiles draw on, and a simulator that gives each built-in tile the
// latency and failure rate of a real backend.
package tiles

import (
	"context"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"
)

// Fetcher is one tile's backend. Fetch must return promptly once ctx is done,
// with an error wrapping ctx.Err(): the aggregator relies on it to keep a slow
// tile from holding the page (and its goroutine) past the tile's deadline.
type Fetcher interface {
	Name() string
	Fetch(ctx context.Context, req Request) (any, error)
}

// Request carries the parameters of one page or tile request that tiles may
// depend on. The zero Request is valid: an anonymous visitor.
type Request struct {
	// User personalises tiles such as recommendations; "" means anonymous.
	User string
}

var userPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// NewRequest validates raw parameters and returns the Request for them. An
// empty user is the same as none. The error is an *Error with code EINVALID
// that names the bad parameter, so a bad value never reaches a fetcher.
func NewRequest(user string) (Request, error) {
	if user != "" && !userPattern.MatchString(user) {
		return Request{}, Errorf(EINVALID, "user: must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -; got %q", Clip(user, 80))
	}
	return Request{User: user}, nil
}

// Clip shortens s to at most n bytes and an ellipsis for an error message, so
// that a hostile value cannot bloat it. It never cuts a UTF-8 character in half.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// Info describes a tile for GET /tiles. Fetchers that implement Describer add
// their own details; the aggregator fills in the rest.
type Info struct {
	Name      string  `json:"name"`
	LatencyMS float64 `json:"latency_ms"`
	FailRate  float64 `json:"fail_rate"`
	// TailMS is the heavy-tail latency a share TailRate of fetches take.
	TailMS       float64 `json:"tail_ms,omitempty"`
	TailRate     float64 `json:"tail_rate,omitempty"`
	TimeoutMS    float64 `json:"timeout_ms"`
	Personalised bool    `json:"personalised"`
	URL          string  `json:"url"`
	// Policy is how the tile is cached and protected, when it is.
	Policy *PolicyInfo `json:"policy,omitempty"`
}

// PolicyInfo describes a tile's resilience policy for GET /tiles.
type PolicyInfo struct {
	CacheTTLMS      float64 `json:"cache_ttl_ms"` // 0: not cached
	MaxStaleMS      float64 `json:"max_stale_ms"`
	Coalesced       bool    `json:"coalesced"`
	Hedge           string  `json:"hedge"`
	BreakerFailures int     `json:"breaker_failures"` // 0: no breaker
	Fallback        bool    `json:"fallback"`
}

// Describer is implemented by fetchers that can describe themselves.
type Describer interface {
	Describe() Info
}

// Error codes: a small vocabulary that web/ turns into HTTP statuses.
const (
	EINVALID  = "invalid"   // bad input from the client
	ENOTFOUND = "not_found" // no such tile or route
	ETIMEOUT  = "timeout"   // a tile did not answer in time
	EINTERNAL = "internal"  // anything else
)

// Error is an error with a machine-readable code and a message a person can
// act on.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Served is what a decorating fetcher (a cache, a fallback) returns as data
// when it answers with something other than fresh content from the backend.
// The aggregator reports its Status and Age instead of "ok".
type Served struct {
	Data   any
	Status string        // "stale" or "fallback"
	Age    time.Duration // how old stale content is
	Cause  error         // why fresh content was not served, if known
}
