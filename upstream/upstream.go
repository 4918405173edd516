// Package upstream fetches a tile's content from an HTTP service, as a
// careful gateway does: one shared client; the user sent only to
// personalised tiles; conditional requests and Cache-Control honoured;
// redirects kept on the backend's host; a bounded head and JSON (or HTML)
// body; and errors that never name the backend's URL, host or address.
package upstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"vitrine/tiles"
)

// The size limits of a tile that does not set its own.
const (
	DefaultMaxBody        = 1 << 20
	DefaultMaxHeaderBytes = 64 << 10 // the response head: status line and header fields
)

// Options configure one HTTP tile.
type Options struct {
	Name         string // the tile's name, prefix of every error ("products: ...")
	URL          string // absolute http or https URL, without user or password
	Personalised bool   // forward Request.User as the user query parameter, or as Forward.UserHeader
	// Forward names what of the shopper's request (Request.Forwarded) the
	// backend receives; cookies and the user only if Personalised.
	Forward tiles.Forward
	MaxBody int64 // body size limit; 0 means DefaultMaxBody
	// MaxHeaderBytes bounds the response head, with the package's clients
	// (NewClient, NewTracedClient); 0 means DefaultMaxHeaderBytes.
	MaxHeaderBytes int64
	// HTML: the backend answers a text/html fragment, carried as a JSON string.
	HTML bool
	// Client is shared by every tile; nil means the package's own
	// (NewClient). Whatever the client, redirects stay on the backend's host.
	Client *http.Client
	Logger *slog.Logger // nil discards
	// Label names the backend where clients may see it (Describe's Source);
	// "" means the tile's name. The host is never shown to clients.
	Label string
	// Observe, when set, is called once per fetch that reached for the
	// backend, with the tile, the backend's host and the result: the status
	// code ("200", "304") or a failure's label (errors.go, body.go).
	Observe func(tile, host, result string)
}

// Fetcher is a tiles.Fetcher whose content comes from an HTTP service.
type Fetcher struct {
	name, host   string
	label        string
	url          url.URL    // parsed once: each request copies it
	templated    bool       // its path uses page parameters ({name})
	query        url.Values // the URL's own query, merged with user
	personalised bool
	forward      tiles.Forward
	html         bool
	accept       string
	maxBody      int64
	maxHead      int64
	client       *http.Client
	log          *slog.Logger
	observe      func(tile, host, result string)
	tagsCut      atomic.Bool // a backend's tags were cut once: logged
}

var (
	_ tiles.Fetcher   = (*Fetcher)(nil)
	_ tiles.Describer = (*Fetcher)(nil)
)

// New returns the fetcher for o, or an error if o.URL is not one CheckURL
// accepts.
func New(o Options) (*Fetcher, error) {
	if o.Name == "" {
		return nil, errors.New("upstream: a tile needs a name")
	}
	u, err := parseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("%s: url: %w", o.Name, err)
	}
	if o.MaxBody < 0 || o.MaxHeaderBytes < 0 {
		return nil, fmt.Errorf("%s: size limits must not be negative; got body %d, head %d",
			o.Name, o.MaxBody, o.MaxHeaderBytes)
	}
	f := &Fetcher{
		name: o.Name, host: u.Host, label: cmp.Or(o.Label, o.Name), url: *u, query: u.Query(),
		personalised: o.Personalised, forward: o.Forward, html: o.HTML, accept: "application/json",
		maxBody: cmp.Or(o.MaxBody, DefaultMaxBody), maxHead: cmp.Or(o.MaxHeaderBytes, DefaultMaxHeaderBytes),
		log: cmp.Or(o.Logger, slog.New(slog.DiscardHandler)), observe: o.Observe,
		templated: placeholder.MatchString(u.Path),
	}
	if f.html {
		f.accept = "text/html"
	}
	c := o.Client
	if c == nil {
		c = defaultClient()
	}
	cc := *c
	cc.CheckRedirect = checkRedirect
	f.client = &cc
	return f, nil
}

// CheckURL reports whether raw is a URL New accepts. Its errors do not
// quote the URL, which may hold a secret.
func CheckURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

// parseURL accepts an absolute http or https URL with a host and no user
// information (credentials belong in headers, not in a URL that is logged).
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("must be an absolute http or https URL; got scheme %q", tiles.Clip(u.Scheme, 20))
	case u.User != nil:
		return nil, errors.New("must not carry a user or password")
	case u.Hostname() == "":
		return nil, errors.New("has no host")
	case u.Fragment != "":
		return nil, errors.New("must not have a fragment (#...)")
	}
	if p := u.Port(); p != "" {
		if err := CheckPort(p, 1); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// CheckPort reports whether port is a number from min (0 where 0 picks a
// free port, else 1) to 65535: the one rule for every port Vitrine is given.
func CheckPort(port string, min int) error {
	if n, err := strconv.Atoi(port); err != nil || n < min || n > 65535 {
		return fmt.Errorf("port must be %d to 65535; got %q", min, tiles.Clip(port, 20))
	}
	return nil
}

// Name returns the tile's name.
func (f *Fetcher) Name() string { return f.name }

// Describe names the tile's source by its label, and gives the URL's host
// for the operator, never its path or query, which may be private.
func (f *Fetcher) Describe() tiles.Info {
	return tiles.Info{Name: f.name, Personalised: f.personalised, Source: f.label, Host: f.host}
}

// Fetch asks the backend for the tile's content. It returns when the answer
// is complete or ctx ends: a body still trickling in at the deadline is a
// timeout, whose error wraps ctx.Err().
func (f *Fetcher) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	resp, err := f.client.Do(f.newRequest(ctx, req))
	if err != nil {
		return tiles.Outcome{}, f.transportError(ctx, req, err)
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusNotModified && req.Validators != (tiles.Validators{}):
		drain(resp.Body)
		f.report("304")
		return tiles.Outcome{NotModified: true, Cache: f.caching(resp.Header), Cookies: cookies(resp.Header)}, nil
	case code < 200 || code > 299:
		drain(resp.Body)
		level := slog.LevelDebug // 404 and the like are answers
		if code >= 500 {
			level = slog.LevelWarn
		}
		f.logFailure(ctx, req, level, strconv.Itoa(code), "non-2xx answer")
		return tiles.Outcome{}, &tiles.BackendError{Tile: f.name, Code: code}
	}
	data, fail, err := f.readData(resp)
	if err != nil {
		return tiles.Outcome{}, f.transportError(ctx, req, err)
	}
	if fail.result != "" {
		f.logFailure(ctx, req, slog.LevelWarn, fail.result, fail.reason)
		return tiles.Outcome{}, fmt.Errorf("%s: %s", f.name, fail.reason)
	}
	f.report(strconv.Itoa(resp.StatusCode))
	return tiles.Outcome{Data: data, Status: tiles.StatusOK, Cache: f.caching(resp.Header),
		Cookies: cookies(resp.Header)}, nil
}

// caching is what the answer's headers say of its caching, its tags
// included; the first answer whose tags are cut is logged.
func (f *Fetcher) caching(h http.Header) tiles.Caching {
	c := caching(h)
	var dropped int
	if c.Tags, dropped = tags(h); dropped > 0 && !f.tagsCut.Swap(true) {
		f.log.Warn("backend tags dropped: more than the most a tile keeps, or not tags; logged once per tile",
			"tile", f.name, "dropped", dropped, "max_tags", tiles.MaxTags, "max_tag_bytes", tiles.MaxTagBytes)
	}
	return c
}

// cookies are the answer's Set-Cookie lines, for web/ to pass on or drop.
func cookies(h http.Header) []string { return h.Values("Set-Cookie") }

// newRequest builds the GET for req: the user and cookies only for a
// personalised tile, the values its Forward names, the request id, and the
// validators of content the cache holds.
func (f *Fetcher) newRequest(ctx context.Context, req tiles.Request) *http.Request {
	u := f.url
	if f.templated {
		u.Path, u.RawPath = fillPath(u.Path, req.Params)
	}
	hreq := (&http.Request{
		Method: http.MethodGet, URL: &u, Host: u.Host, Header: make(http.Header, 6),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}).WithContext(context.WithValue(ctx, headLimitKey{}, f.maxHead))
	h := hreq.Header
	f.forwardTo(&u, h, req)
	h.Set("Accept", f.accept)
	h.Set("User-Agent", "vitrine")
	if req.ID != "" {
		h.Set("X-Request-Id", req.ID)
	}
	if v := req.Validators.ETag; v != "" {
		h.Set("If-None-Match", v)
	}
	if v := req.Validators.LastModified; v != "" {
		h.Set("If-Modified-Since", v)
	}
	return hreq
}

// ParamName is what a page parameter's name is; {NAME} in a tile URL's
// path is filled with its value. config checks the names against it.
const ParamName = `[a-z][a-z0-9_]{0,31}`

// placeholder is a page parameter in a tile URL's path.
var placeholder = regexp.MustCompile(`\{(` + ParamName + `)\}`)

// fillPath returns the path template with each {name} replaced by the value
// of name in params ("" if none), and the same path escaped, each value by
// url.PathEscape: a value is one segment whatever it holds ("../x", "a/b").
func fillPath(template string, params map[string]string) (path, raw string) {
	var p, r strings.Builder
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(template, -1) {
		lit, v := template[last:m[0]], params[template[m[2]:m[3]]]
		p.WriteString(lit)
		p.WriteString(v)
		r.WriteString((&url.URL{Path: lit}).EscapedPath())
		r.WriteString(url.PathEscape(v))
		last = m[1]
	}
	lit := template[last:]
	p.WriteString(lit)
	r.WriteString((&url.URL{Path: lit}).EscapedPath())
	return p.String(), r.String()
}

// forwardTo adds to the URL u and the header h what the tile receives of
// the shopper's request, before Vitrine's own headers, which win.
func (f *Fetcher) forwardTo(u *url.URL, h http.Header, req tiles.Request) {
	user := f.personalised && req.User != ""
	if !user && (len(req.Forwarded) == 0 || f.forward.Empty()) {
		return
	}
	var q url.Values
	var cookies []string
	f.forward.Each(req, func(p tiles.Passed) {
		switch {
		case p.From == tiles.FromHeader:
			h.Set(p.Name, p.Value)
		case p.From == tiles.FromCookie && f.personalised:
			cookies = append(cookies, (&http.Cookie{Name: p.Name, Value: p.Value}).String())
		case p.From == tiles.FromQuery:
			if q == nil {
				q = maps.Clone(f.query) // never nil: url.URL.Query makes a map
			}
			q.Set(p.Name, p.Value)
		}
	})
	if len(cookies) > 0 {
		h.Set("Cookie", strings.Join(cookies, "; "))
	}
	if user && f.forward.UserHeader != "" {
		h.Set(f.forward.UserHeader, req.User)
	} else if user {
		if q == nil {
			q = maps.Clone(f.query)
		}
		q.Set("user", req.User)
	}
	if q != nil {
		u.RawQuery, u.ForceQuery = q.Encode(), false
	}
}

// transportError turns a failure to get a complete answer into the tile's
// error, wrapping ctx.Err() when ctx ended; the detail goes to the log.
func (f *Fetcher) transportError(ctx context.Context, req tiles.Request, err error) error {
	fail, cerr := classify(ctx, err)
	if fail.result == headTooLarge {
		fail.reason = "response head over " + size(f.maxHead)
	}
	if uerr, ok := errors.AsType[*url.Error](err); ok {
		err = uerr.Err // the URL it repeats may hold the user: log only the cause
	}
	if cerr == nil {
		f.logFailure(ctx, req, slog.LevelWarn, fail.result, err.Error())
		return fmt.Errorf("%s: %s", f.name, fail.reason)
	}
	// The caller's deadline ended it, not the backend's fault alone.
	f.logFailure(ctx, req, slog.LevelDebug, fail.result, err.Error())
	return fmt.Errorf("%s: %s: %w", f.name, fail.reason, cerr)
}

// logFailure logs and reports one failed fetch.
func (f *Fetcher) logFailure(ctx context.Context, req tiles.Request, level slog.Level, result, detail string) {
	f.report(result)
	f.log.LogAttrs(ctx, level, "backend fetch failed",
		slog.String("tile", f.name), slog.String("url", f.url.String()),
		slog.String("request_id", req.ID), slog.String("result", result),
		slog.String("error", detail))
}

func (f *Fetcher) report(result string) {
	if f.observe != nil {
		f.observe(f.name, f.host, result)
	}
}

// drain reads a bounded part of an unwanted body, so that its connection
// may be reused.
func drain(body io.Reader) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
}
