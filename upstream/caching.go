package upstream

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"vitrine/tiles"
)

// maxAgeCap is where a delta-seconds value saturates (RFC 9111 section
// 1.2.2): larger values mean "practically forever", not an overflow.
const maxAgeCap = math.MaxInt32

// caching reads how an answer may be cached from its headers, as a shared
// cache: s-maxage wins over max-age; no-cache means stale at once; private
// is ignored (personalised tiles are cached per user) and so is Expires. A
// max-age that does not parse leaves the tile's configured TTL.
func caching(h http.Header) tiles.Caching {
	c := tiles.Caching{Validators: tiles.Validators{
		ETag:         h.Get("ETag"),
		LastModified: h.Get("Last-Modified"),
	}}
	maxAge, sMaxAge, noStore, noCache := -1, -1, false, false
	for _, line := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store":
				noStore = true
			case "no-cache":
				noCache = true
			case "max-age":
				maxAge = deltaSeconds(value)
			case "s-maxage":
				sMaxAge = deltaSeconds(value)
			}
		}
	}
	switch {
	case noStore:
		c.Set, c.NoStore = true, true
	case noCache:
		c.Set = true
	case sMaxAge >= 0:
		c.Set, c.MaxAge = true, time.Duration(sMaxAge)*time.Second
	case maxAge >= 0:
		c.Set, c.MaxAge = true, time.Duration(maxAge)*time.Second
	}
	return c
}

// tags reads the answer's surrogate keys: Surrogate-Key's, separated by
// spaces, and Cache-Tag's, by commas. It keeps the first tiles.MaxTags
// distinct tags that tiles.CheckTag accepts and says how many it dropped.
func tags(h http.Header) (kept []string, dropped int) {
	add := func(t string) {
		switch {
		case t == "" || slices.Contains(kept, t):
		case len(kept) == tiles.MaxTags || tiles.CheckTag(t) != nil:
			dropped++
		default:
			kept = append(kept, t)
		}
	}
	for _, line := range h.Values("Surrogate-Key") {
		for t := range strings.FieldsSeq(line) {
			add(t)
		}
	}
	for _, line := range h.Values("Cache-Tag") {
		for t := range strings.SplitSeq(line, ",") {
			add(strings.TrimSpace(t))
		}
	}
	return kept, dropped
}

// deltaSeconds parses a directive's non-negative number of seconds, quoted
// or not; -1 means it does not parse.
func deltaSeconds(v string) int {
	v = strings.Trim(strings.TrimSpace(v), `"`)
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > maxAgeCap {
		return maxAgeCap // only digits: too large to parse is still "forever"
	}
	return int(n)
}
