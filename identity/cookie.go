package identity

import (
	"net/http"
	"strings"

	"github.com/gorilla/securecookie"
)

// Cookie reads the shopper's id from a session cookie signed with HMAC
// (gorilla/securecookie, values unencoded), as a shop's login sets it.
// Several keys allow rotation: the first signs, every one verifies.
type Cookie struct {
	name   string
	codecs []securecookie.Codec
}

// NewCookie reads the cookie called name, signed with one of keys.
func NewCookie(name string, keys []string) *Cookie {
	var pairs [][]byte
	for _, k := range keys {
		pairs = append(pairs, []byte(k), nil) // no encryption: the id is not a secret from its shopper
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		c.(*securecookie.SecureCookie).SetSerializer(securecookie.NopEncoder{})
	}
	return &Cookie{name: name, codecs: codecs}
}

// Identify returns the id of a cookie signed with one of the keys. A cookie
// older than securecookie's 30 days is Expired, a forged one Invalid.
func (c *Cookie) Identify(r *http.Request) (string, Result, error) {
	ck, err := r.Cookie(c.name)
	if err != nil {
		return "", Absent, nil
	}
	var id []byte
	if err := securecookie.DecodeMulti(c.name, ck.Value, &id, c.codecs...); err != nil {
		// The library exports no such error; it checks the age after the signature.
		if strings.Contains(err.Error(), "expired timestamp") {
			return "", Expired, nil
		}
		return "", Invalid, nil
	}
	return checked(string(id))
}

// Sign returns the cookie value naming id, signed with the first key: what
// a shop's login sets.
func (c *Cookie) Sign(id string) (string, error) {
	return c.codecs[0].Encode(c.name, []byte(id))
}
