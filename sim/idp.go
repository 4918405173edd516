package sim

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
)

// The demo identity provider of `vitrine backends`, for trying -identity
// jwt on one machine: its key is fixed and its private half is in this
// source, so anyone can sign any id with it. Never trust it in production.
const (
	DemoJWKSPath = "/.well-known/jwks.json"
	DemoIssuer   = "vitrine-demo"
	DemoAudience = "vitrine"
	demoKID      = "vitrine-demo-1"
)

var demoKey = ed25519.NewKeyFromSeed([]byte("vitrine demo key: local use only"))

var b64 = base64.RawURLEncoding.EncodeToString

// serveDemoJWKS answers the demo key set: the demo key's public half.
func serveDemoJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=3600")
	json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "OKP", "crv": "Ed25519",
		"use": "sig", "alg": "EdDSA", "kid": demoKID, "x": b64(demoKey.Public().(ed25519.PublicKey))}}})
}

// DemoToken returns a JWT naming user, valid for ttl from now, signed with
// the demo key (EdDSA) for DemoIssuer and DemoAudience.
func DemoToken(user string, ttl time.Duration) string {
	header, _ := json.Marshal(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": demoKID})
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": DemoIssuer, "aud": DemoAudience, "sub": user,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix()})
	signed := b64(header) + "." + b64(claims)
	return signed + "." + b64(ed25519.Sign(demoKey, []byte(signed)))
}
