package resilience

import (
	"strconv"
	"strings"
	"sync"

	"vitrine/tiles"
)

// DefaultForwardMax is the default of Policy.ForwardMax.
const DefaultForwardMax = 100

// varyKey is the keyed hash of the values of req that p.Forward forwards,
// as Vary would key a response on them, and of the page parameters p.Params
// names; "" when req has none of them. Each value is length-prefixed, so
// that no value can pose as two.
func varyKey(keys *UserKeys, p Policy, req tiles.Request) string {
	var b strings.Builder
	add := func(kind byte, name, value string) {
		b.WriteByte(kind)
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(len(value)))
		b.WriteByte(':')
		b.WriteString(value)
	}
	p.Forward.Each(req, func(v tiles.Passed) { add('0'+byte(v.From), v.Name, v.Value) })
	for _, name := range p.Params {
		if v, ok := req.Params[name]; ok {
			add('p', name, v)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return keys.Key(b.String())
}

// varied bounds a tile's cache by its forwarded values: the first
// ForwardMax distinct ones (their keys) are cached; a request with another
// is fetched below the cache layers (still through breaker, hedging and
// bulkhead, with the fallback), neither read from nor written to a cache.
type varied struct {
	base
	max      int
	uncached tiles.Fetcher
	mu       sync.Mutex
	seen     map[string]struct{}
}

// newVaried returns the varied of a tile whose linked layers are ls.
func newVaried(b base, p Policy, ls []layer) *varied {
	v := &varied{base: b, max: p.ForwardMax, seen: map[string]struct{}{}}
	for _, l := range ls {
		if s, ok := l.(*store); ok {
			v.uncached = s.next
		}
	}
	if p.Fallback != nil {
		fb := &fallback{base: b, data: p.Fallback}
		fb.next, v.uncached = v.uncached, fb
	}
	return v
}

// admit reports whether the values of key may be cached, and counts a
// refusal.
func (v *varied) admit(key string) bool {
	if key == "" {
		return true
	}
	v.mu.Lock()
	_, ok := v.seen[key]
	if !ok && len(v.seen) < v.max {
		v.seen[key], ok = struct{}{}, true
	}
	v.mu.Unlock()
	if !ok {
		v.rec.ForwardUncached(v.name)
	}
	return ok
}
