package identity_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/identity"
)

const (
	oldKey = "old-key-0123456789abcdef01234567"
	newKey = "new-key-0123456789abcdef01234567"
)

// withCookie is a request carrying the cookie sid=value.
func withCookie(value string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/home?user=bob", nil)
	r.AddCookie(&http.Cookie{Name: "sid", Value: value})
	return r
}

// TestCookie: a cookie signed with any of the keys names the shopper; a
// tampered or foreign one is invalid, no cookie anonymous.
func TestCookie(t *testing.T) {
	src := identity.NewCookie("sid", []string{newKey, oldKey})
	sign := func(key, id string) string {
		v, err := identity.NewCookie("sid", []string{key}).Sign(id)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	valid := sign(newKey, "alice")
	tampered := []byte(valid)
	tampered[len(tampered)/2] ^= 1
	tests := []struct {
		name string
		r    *http.Request
		id   string
		res  identity.Result
	}{
		{"signed with the first key", withCookie(valid), "alice", identity.Valid},
		{"signed with a rotated-out key", withCookie(sign(oldKey, "carol")), "carol", identity.Valid},
		{"tampered", withCookie(string(tampered)), "", identity.Invalid},
		{"signed with another key", withCookie(sign(strings.Repeat("x", 32), "alice")), "", identity.Invalid},
		{"an id that breaks the rules", withCookie(sign(newKey, "bob smith")), "", identity.Invalid},
		{"no cookie", httptest.NewRequest(http.MethodGet, "/home?user=bob", nil), "", identity.Absent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, src, tt.r, tt.id, tt.res) })
	}
}

// TestHeader: the proxy's header names the shopper only from a trusted
// peer; from anyone else it is removed and the shopper is anonymous.
func TestHeader(t *testing.T) {
	src := identity.NewHeader("x-user-id", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	req := func(peer string, ids ...string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/home?user=bob", nil)
		r.RemoteAddr = peer
		for _, id := range ids {
			r.Header.Add("X-User-Id", id)
		}
		return r
	}
	tests := []struct {
		name string
		r    *http.Request
		id   string
		res  identity.Result
	}{
		{"trusted peer", req("10.1.2.3:4567", "alice"), "alice", identity.Valid},
		{"trusted peer over IPv6-mapped IPv4", req("[::ffff:10.1.2.3]:4567", "alice"), "alice", identity.Valid},
		{"untrusted peer", req("192.0.2.1:4567", "alice"), "", identity.Absent},
		{"no header", req("10.1.2.3:4567"), "", identity.Absent},
		{"twice", req("10.1.2.3:4567", "alice", "eve"), "", identity.Invalid},
		{"an id that breaks the rules", req("10.1.2.3:4567", "al ice"), "", identity.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, src, tt.r, tt.id, tt.res)
			if tt.res == identity.Absent && tt.r.Header.Get("X-User-Id") != "" {
				t.Error("the untrusted header is still on the request")
			}
		})
	}
}

// TestCookieExpired: a cookie signed more than 30 days ago is expired.
func TestCookieExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := identity.NewCookie("sid", []string{newKey})
		v, _ := src.Sign("alice")
		check(t, src, withCookie(v), "alice", identity.Valid)
		time.Sleep(31 * 24 * time.Hour)
		check(t, src, withCookie(v), "", identity.Expired)
	})
}
