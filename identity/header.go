package identity

import (
	"net/http"
	"net/netip"
	"slices"
)

// Header reads the shopper's id from a header set by an authenticating
// proxy in front of Vitrine, believed only from the proxy's addresses.
type Header struct {
	name    string
	trusted []netip.Prefix
}

// NewHeader reads the header name from peers within trusted.
func NewHeader(name string, trusted []netip.Prefix) *Header {
	return &Header{name: http.CanonicalHeaderKey(name), trusted: trusted}
}

// Identify returns the header's id if the request's peer is trusted. From
// anyone else the header is removed from the request, which is then anonymous.
func (h *Header) Identify(r *http.Request) (string, Result, error) {
	values := r.Header.Values(h.name)
	switch {
	case len(values) == 0:
		return "", Absent, nil
	case !h.trust(r.RemoteAddr):
		r.Header.Del(h.name)
		return "", Absent, nil
	case len(values) > 1:
		return "", Invalid, nil
	}
	return checked(values[0])
}

// trust reports whether the peer at addr (host:port) is within the trusted prefixes.
func (h *Header) trust(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	return slices.ContainsFunc(h.trusted, func(p netip.Prefix) bool { return p.Contains(ip) })
}
