package web

import (
	"net/http"
	"strconv"
	"time"

	"vitrine/aggregator"
)

// pageHeaders decides what a page's header says of its tiles: whose
// Set-Cookie reaches the browser, and whether a shared cache may keep the
// page. The header-deciding tiles are the primary and those allowed to set
// cookies: a page's header waits for them.
type pageHeaders struct {
	primary  string
	deciders map[string]bool
	dropped  func(tile string, n int)
	// shared is the s-maxage, in seconds, of an anonymous page: the smallest
	// TTL of its tiles, or 0 (never shared) if one is personalised, sets
	// cookies or has no fixed TTL.
	shared int
}

func newPageHeaders(agg *aggregator.Aggregator, opts Options) *pageHeaders {
	h := &pageHeaders{primary: opts.Primary, deciders: map[string]bool{}, dropped: opts.CookiesDropped}
	if opts.Primary != "" {
		h.deciders[opts.Primary] = true
	}
	for _, name := range opts.SetCookie {
		h.deciders[name] = true
	}
	shared := -1
	for _, info := range agg.Tiles() {
		p := info.Policy
		if info.Personalised || h.deciders[info.Name] && info.Name != opts.Primary ||
			p == nil || p.BackendTTL || p.TTL < time.Second {
			shared = 0
			break
		}
		if s := int(p.TTL.Seconds()); shared < 0 || s < shared {
			shared = s
		}
	}
	h.shared = max(shared, 0)
	return h
}

// cookies are r's Set-Cookie lines if its tile may set cookies; the others
// are dropped and counted.
func (h *pageHeaders) cookies(r aggregator.Result) []string {
	if h.deciders[r.Name] {
		return r.Cookies
	}
	if len(r.Cookies) > 0 && h.dropped != nil {
		h.dropped(r.Name, len(r.Cookies))
	}
	return nil
}

// write sets the page's Set-Cookie lines and, for an anonymous 200 that
// sets none and whose tiles all allow it, a Cache-Control a shared cache
// may keep s-maxage; else the page stays "no-cache, private"
// (parseRequest's, which also says in Vary what the page depends on).
func (h *pageHeaders) write(hdr http.Header, cookies []string, user string, status int) {
	for _, c := range cookies {
		hdr.Add("Set-Cookie", c)
	}
	if user == "" && status == http.StatusOK && len(cookies) == 0 && h.shared > 0 {
		hdr.Set("Cache-Control", "public, max-age=0, s-maxage="+strconv.Itoa(h.shared))
	}
}
