// Package tiles is Vitrine's domain: the Fetcher interface every tile's
// backend implements, the Request a tile is fetched for, the typed Outcome a
// fetch returns and the error vocabulary.
package tiles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Fetcher is one tile's backend. Fetch must return promptly once ctx is done,
// with an error wrapping ctx.Err(). A failure is the error; an Outcome is
// something to show.
type Fetcher interface {
	Name() string
	Fetch(ctx context.Context, req Request) (Outcome, error)
}

// Wait blocks for d or until ctx is done, and then returns ctx.Err(): it is
// how a simulated backend, or endpoint, takes its time.
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

// Status is what became of one tile of a page.
type Status string

// The statuses a tile can have. Only StatusOK counts towards a complete page.
const (
	StatusOK       Status = "ok"
	StatusStale    Status = "stale"    // cached content past its freshness
	StatusFallback Status = "fallback" // the tile's static default
	StatusTimeout  Status = "timeout"
	StatusError    Status = "error"
)

// Outcome is what a fetch has to show: the tile's data as JSON, carried
// verbatim to the page.
type Outcome struct {
	Data   json.RawMessage
	Status Status        // ok, stale or fallback
	Age    time.Duration // how old stale content is
	Cause  error         // why fresh content was not served, if it was not

	// Cache is what a backend that speaks HTTP caching said.
	Cache Caching
	// NotModified says the content behind Request.Validators is unchanged
	// (an HTTP 304): Data is empty and the cached content is renewed.
	NotModified bool
	// Cookies are the backend's Set-Cookie lines, carried only by the
	// outcome of a fetch made for this request: never cached, never shared.
	Cookies []string
}

// Caching is what a backend said of how long its answer stays fresh, and
// its validators.
type Caching struct {
	// Set says the backend gave a freshness; otherwise the tile's TTL applies.
	Set     bool
	MaxAge  time.Duration
	NoStore bool // never cache this answer
	Validators
	// Tags are the backend's surrogate keys for this answer (CheckTag), by
	// which a purge finds it; at most MaxTags.
	Tags []string
}

// The bounds of a tag: MaxTags on an entry, in a tile's config or in one
// purge, each of at most MaxTagBytes.
const (
	MaxTags     = 32
	MaxTagBytes = 128
)

// CheckTag reports whether tag is a tag: 1 to MaxTagBytes bytes of visible
// ASCII but the comma, the separators of Surrogate-Key and Cache-Tag. Its
// error quotes the tag, clipped.
func CheckTag(tag string) error {
	if tag == "" || len(tag) > MaxTagBytes || strings.IndexFunc(tag, func(r rune) bool {
		return r <= ' ' || r > '~' || r == ','
	}) >= 0 {
		return fmt.Errorf("%q is not a tag (1 to %d bytes of visible ASCII, no space or comma)",
			Clip(tag, 32), MaxTagBytes)
	}
	return nil
}

// Validators identify one version of a backend's content (HTTP ETag and
// Last-Modified, as the backend sent them).
type Validators struct {
	ETag, LastModified string
}

// BackendError is the error of a backend that answered with a status other
// than 2xx. A primary tile's 404 or 410 makes the page a 404 or 410.
type BackendError struct {
	Tile string
	Code int
}

func (e *BackendError) Error() string {
	return fmt.Sprintf("%s: backend answered %d", e.Tile, e.Code)
}

// Gone reports whether the backend said the content does not exist (404 or
// 410): an answer, not a failure of the backend.
func (e *BackendError) Gone() bool { return e.Code == 404 || e.Code == 410 }

// Fresh is the Outcome of a successful fetch of data.
func Fresh(data json.RawMessage) Outcome { return Outcome{Data: data, Status: StatusOK} }

// ErrPageDeadline is the cause of a page's context when its deadline ends
// it: the page ran out of time, which says nothing of a backend's health.
var ErrPageDeadline = errors.New("page deadline")

// Request carries the parameters of one page or tile request that tiles may
// depend on. The zero Request is valid: an anonymous visitor.
type Request struct {
	// User personalises tiles such as recommendations; "" means anonymous.
	User string
	// UserKey stands for User in cache keys: its keyed hash, which the
	// resilience layers set; never the id itself.
	UserKey string
	// ID identifies the client request (X-Request-Id) to every backend; no
	// content depends on it.
	ID string
	// Validators, set when refreshing held content, let a backend answer
	// NotModified.
	Validators Validators
	// Forwarded holds the values of the shopper's request that some tile
	// forwards (Forward.Capture); each tile receives only its own.
	Forwarded []Passed
	// VaryKey stands for a tile's forwarded values in cache keys: their
	// keyed hash, which the resilience layers set; "" when it has none.
	VaryKey string
	// Arrived is when the request reached the server: a page's deadline
	// counts from it. Zero: from the start of the page.
	Arrived time.Time
	// Shed asks for what a tile can answer without its backend (what it
	// has cached, else its fallback): the page waited too long to ask.
	Shed bool
	// Params are the page's path parameters, by name, checked against their
	// patterns: a tile's URL may use some, and its cache key holds those.
	Params map[string]string
}

var userPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// NewRequest validates raw parameters and returns the Request for them. An
// empty user is the same as none. The error is an EINVALID *Error naming
// the bad parameter; it never quotes the value, which may be someone's id.
func NewRequest(user string) (Request, error) {
	if user != "" && !userPattern.MatchString(user) {
		return Request{}, Errorf(EINVALID, "user: must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -; got %s",
			badUser(user))
	}
	return Request{User: user}, nil
}

// badUser says what is wrong with user, an invalid value, without quoting
// it: its length, or its first bad character's class and place.
func badUser(user string) string {
	if len(user) > 64 {
		return fmt.Sprintf("%d bytes", len(user))
	}
	i := strings.IndexFunc(user, func(r rune) bool {
		return r != '_' && r != '-' && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && !('0' <= r && r <= '9')
	})
	class := "punctuation or a symbol"
	switch r, _ := utf8.DecodeRuneInString(user[i:]); {
	case r == utf8.RuneError:
		class = "bytes that are not UTF-8"
	case unicode.IsSpace(r):
		class = "a space"
	case unicode.IsControl(r):
		class = "a control character"
	case r > unicode.MaxASCII:
		class = "a letter or sign outside ASCII"
	}
	return fmt.Sprintf("%s at byte %d", class, i+1)
}

// Info describes a tile for GET /tiles. Each layer fills in what it knows.
type Info struct {
	Name         string
	Personalised bool
	Timeout      time.Duration
	// Source names where the content comes from: "simulator", or the HTTP
	// backend's label (its tile's name unless configured), which clients may see.
	Source string
	// Host is the HTTP backend's host:port, which only the operator port shows.
	Host string
	// The simulated backend: its latency, failure rate, and a heavy tail
	// (a share TailRate of fetches take Tail).
	Latency  time.Duration
	FailRate float64
	Tail     time.Duration
	TailRate float64
	Policy   *PolicyInfo // nil when the tile has none
}

// PolicyInfo is how a tile is cached and protected.
type PolicyInfo struct {
	TTL, MaxStale   time.Duration // TTL 0: not cached
	Coalesced       bool
	Hedge           string        // "off", "after 200ms", "p95, within ..."
	BreakerFailures int           // 0: no breaker
	MaxDetached     int           // fetches that may outlive their callers at once
	Bulkhead        int           // requests in flight to the backend at once
	BackendTTL      bool          // the backend's Cache-Control sets freshness
	MaxTTL          time.Duration // with BackendTTL, the most freshness the backend may give
	Fallback        bool
}

// Describer is implemented by fetchers that can describe themselves.
type Describer interface {
	Describe() Info
}

// Error codes: a small vocabulary that web/ turns into HTTP statuses.
const (
	EINVALID  = "invalid"   // bad input from the client
	ENOTFOUND = "not_found" // no such tile or route
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

// Clip shortens s, a value from a client or the command line, to at most n
// bytes and an ellipsis, for an error message to quote. It never cuts a
// UTF-8 character.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
