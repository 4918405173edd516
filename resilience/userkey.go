package resilience

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sync"
)

// UserKeys turns a user id into the keyed hash that stands for it in the
// memory cache, the flights and the shared tier, so that no key holds the id
// in clear: the first 128 bits of HMAC-SHA256 under a secret, base64url.
// Replicas that share a tier must share the secret to share entries.
type UserKeys struct{ macs sync.Pool }

// NewUserKeys returns the UserKeys of secret; an empty one is replaced by a
// random secret, which no other process knows.
func NewUserKeys(secret []byte) *UserKeys {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret) // never fails: it crashes the program instead
	}
	k := &UserKeys{}
	k.macs.New = func() any { return hmac.New(sha256.New, secret) }
	return k
}

// processKeys are the UserKeys of a tile wrapped without Options.UserKeys:
// one random secret for the whole process.
var processKeys = sync.OnceValue(func() *UserKeys { return NewUserKeys(nil) })

// Key returns the keyed hash of user, 22 characters of base64url.
func (k *UserKeys) Key(user string) string {
	mac := k.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write([]byte(user))
	var sum [sha256.Size]byte
	b := mac.Sum(sum[:0])
	k.macs.Put(mac)
	return base64.RawURLEncoding.EncodeToString(b[:16])
}
