package identity_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"vitrine/identity"
)

const (
	issuer   = "https://login.test"
	audience = "vitrine"
)

// keys are the test's signing keys, generated once.
var keys = sync.OnceValue(func() map[string]crypto.Signer {
	r1, _ := rsa.GenerateKey(rand.Reader, 2048)
	r2, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return map[string]crypto.Signer{"rsa-1": r1, "rsa-2": r2, "ec-1": ec}
})

// octSecret is the symmetric key of kid oct-1.
var octSecret = []byte("a secret that the key set gives away")

// provider is an identity provider's key set endpoint: it serves the keys
// named in kids, or 503 while down, and counts its fetches.
type provider struct {
	mu      sync.Mutex
	kids    []string
	down    bool
	fetches int
}

func (p *provider) set(down bool, kids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down, p.kids = down, kids
}

func (p *provider) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches
}

func (p *provider) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetches++
	if p.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var set []map[string]string
	b64 := base64.RawURLEncoding.EncodeToString
	for _, kid := range p.kids {
		if kid == "oct-1" { // a symmetric key, which no key set should publish
			set = append(set, map[string]string{"kty": "oct", "kid": kid, "use": "sig", "k": b64(octSecret)})
			continue
		}
		switch k := keys()[kid].Public().(type) {
		case *rsa.PublicKey:
			set = append(set, map[string]string{"kty": "RSA", "kid": kid, "use": "sig",
				"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
		case *ecdsa.PublicKey:
			b, _ := k.Bytes()
			set = append(set, map[string]string{"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
				"x": b64(b[1:33]), "y": b64(b[33:])})
		}
	}
	json.NewEncoder(w).Encode(map[string]any{"keys": set})
}

// claims are a valid token's for alice, with changes.
func claims(change func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{"iss": issuer, "aud": audience, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	if change != nil {
		change(c)
	}
	return c
}

// sign returns a token for c, signed by the key kid with method m.
func sign(t *testing.T, m jwt.SigningMethod, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(keys()[kid])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bearer is a request carrying token, if any, as a bearer token.
func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/home?user=bob", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// newJWT is a JWT source on the key set at url, fetched with client,
// logging to log (nil: nowhere), until the test ends.
func newJWT(t *testing.T, ctx context.Context, url string, client *http.Client, log *bytes.Buffer,
	change func(*identity.JWTOptions)) *identity.JWT {
	t.Helper()
	if log == nil {
		log = &bytes.Buffer{}
	}
	o := identity.JWTOptions{JWKS: url, Issuer: issuer, Audience: audience, Client: client,
		Logger: slog.New(slog.NewTextHandler(log, nil))}
	if change != nil {
		change(&o)
	}
	j, err := identity.NewJWT(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// serve starts p's endpoint; the client closes its connections when the test ends.
func serve(t *testing.T, p http.Handler) (string, *http.Client) {
	srv := httptest.NewServer(p)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() { client.CloseIdleConnections(); srv.Close() })
	return srv.URL, client
}

func check(t *testing.T, src identity.Source, r *http.Request, wantID string, wantRes identity.Result) {
	t.Helper()
	id, res, err := src.Identify(r)
	if id != wantID || res != wantRes || err != nil {
		t.Errorf("got %q, %s, %v; want %q, %s, nil", id, res, err, wantID, wantRes)
	}
}

// TestJWT: only a token signed by the key set's keys with an asymmetric
// algorithm, for this issuer and audience, unexpired, names the shopper.
func TestJWT(t *testing.T) {
	url, client := serve(t, &provider{kids: []string{"rsa-1", "ec-1", "oct-1"}})
	src := newJWT(t, t.Context(), url, client, nil, nil)
	oct := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
	oct.Header["kid"] = "oct-1"
	symmetric, _ := oct.SignedString(octSecret)
	pub, _ := x509.MarshalPKIXPublicKey(keys()["rsa-1"].Public())
	hmacKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	hmac := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
	hmac.Header["kid"] = "rsa-1"
	forged, _ := hmac.SignedString(hmacKey)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil))
	none.Header["kid"] = "rsa-1"
	unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	rs := func(change func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodRS256, "rsa-1", claims(change))
	}
	tests := []struct {
		name, token, id string
		res             identity.Result
	}{
		{"RS256", rs(nil), "alice", identity.Valid},
		{"ES256", sign(t, jwt.SigningMethodES256, "ec-1", claims(nil)), "alice", identity.Valid},
		{"PS256", sign(t, jwt.SigningMethodPS256, "rsa-1", claims(nil)), "alice", identity.Valid},
		{"no token", "", "", identity.Absent},
		{"garbage", "not.a.token", "", identity.Invalid},
		{"expired", rs(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), "", identity.Expired},
		{"no expiry", rs(func(c jwt.MapClaims) { delete(c, "exp") }), "", identity.Invalid},
		{"wrong issuer", rs(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }), "", identity.Invalid},
		{"wrong audience", rs(func(c jwt.MapClaims) { c["aud"] = "another-app" }), "", identity.Invalid},
		{"alg none", unsigned, "", identity.Invalid},
		{"HMAC keyed with the RSA public key", forged, "", identity.Invalid},
		{"HMAC with a symmetric key of the set", symmetric, "", identity.Invalid},
		{"signed by a key not in the set", sign(t, jwt.SigningMethodRS256, "rsa-2", claims(nil)), "", identity.Invalid},
		{"id breaks the rules", rs(func(c jwt.MapClaims) { c["sub"] = "bob smith" }), "", identity.Invalid},
		{"no id", rs(func(c jwt.MapClaims) { delete(c, "sub") }), "", identity.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, src, bearer(tt.token), tt.id, tt.res) })
	}
}

// TestJWTClaimAndCookie: the id is the configured claim, and the token may
// come from a named cookie, Authorization then being ignored.
func TestJWTClaimAndCookie(t *testing.T) {
	url, client := serve(t, &provider{kids: []string{"rsa-1"}})
	src := newJWT(t, t.Context(), url, client, nil, func(o *identity.JWTOptions) { o.Claim, o.Cookie = "uid", "session" })
	token := sign(t, jwt.SigningMethodRS256, "rsa-1", claims(func(c jwt.MapClaims) { c["uid"] = "carol" }))
	r := bearer(token)
	check(t, src, r, "", identity.Absent)
	r.AddCookie(&http.Cookie{Name: "session", Value: token})
	check(t, src, r, "carol", identity.Valid)
}

// TestJWTRotation: a token with an unknown kid refetches the key set, at
// most once a minute, so that rotated keys are learnt without restart.
func TestJWTRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &provider{kids: []string{"rsa-1"}}
		client := &http.Client{Transport: handlerTransport{p}}
		src := newJWT(t, t.Context(), "http://idp.test/jwks", client, nil, nil)
		rotated := bearer(sign(t, jwt.SigningMethodRS256, "rsa-2", claims(nil)))
		if got := p.count(); got != 1 {
			t.Fatalf("got %d fetches at start; want 1", got)
		}
		check(t, src, rotated, "", identity.Invalid) // refetched: still unknown
		p.set(false, "rsa-1", "rsa-2")
		check(t, src, rotated, "", identity.Invalid) // within the minute: no refetch
		if got := p.count(); got != 2 {
			t.Fatalf("got %d fetches; want 2: one at start, one for the unknown kid", got)
		}
		time.Sleep(time.Minute)
		check(t, src, rotated, "alice", identity.Valid)
		check(t, src, bearer(sign(t, jwt.SigningMethodRS256, "rsa-1", claims(nil))), "alice", identity.Valid)
		if got := p.count(); got != 3 {
			t.Errorf("got %d fetches; want 3", got)
		}
	})
}

// handlerTransport answers a client's requests with a handler, in memory.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// TestJWTKeySetDown: once the key set endpoint fails, the keys fetched
// before it still verify, and the failure is logged without its address.
func TestJWTKeySetDown(t *testing.T) {
	p := &provider{kids: []string{"rsa-1"}}
	url, client := serve(t, p)
	var log bytes.Buffer
	src := newJWT(t, t.Context(), url, client, &log, nil)
	p.set(true)
	check(t, src, bearer(sign(t, jwt.SigningMethodRS256, "rsa-2", claims(nil))), "", identity.Invalid)
	check(t, src, bearer(sign(t, jwt.SigningMethodRS256, "rsa-1", claims(nil))), "alice", identity.Valid)
	if got := p.count(); got != 2 {
		t.Errorf("got %d fetches; want 2: at start, then the failed one for the unknown kid", got)
	}
	if !strings.Contains(log.String(), "JWKS fetch failed") || strings.Contains(log.String(), "127.0.0.1") {
		t.Errorf("log %q: want the failed fetch, without the endpoint's address", log.String())
	}
}

// TestJWTKeySetBounded: a key set too big to be one, or an unreachable
// endpoint, gives no keys, and the log names no address.
func TestJWTKeySetBounded(t *testing.T) {
	huge := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"keys":[` + strings.Repeat(" ", identity.MaxJWKSBytes) + `]}`))
	})
	url, client := serve(t, huge)
	dead := httptest.NewServer(huge)
	dead.Close()
	for _, tt := range []struct{ name, url, says string }{
		{"over the size limit", url, "JWKS over 1024 KiB"},
		{"unreachable", dead.URL, "JWKS endpoint unreachable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			src := newJWT(t, t.Context(), tt.url, client, &log, nil)
			check(t, src, bearer(sign(t, jwt.SigningMethodRS256, "rsa-1", claims(nil))), "", identity.Invalid)
			if !strings.Contains(log.String(), tt.says) || strings.Contains(log.String(), "127.0.0.1") {
				t.Errorf("log %q: want %q, without the endpoint's address", log.String(), tt.says)
			}
		})
	}
}

// TestJWTVerifiedTokens: a verified token is believed for VerifiedFor
// without its signature being checked again, so a key the provider drops
// stops naming the shopper within that time, and never past the token's
// expiry.
func TestJWTVerifiedTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &provider{kids: []string{"rsa-1"}}
		client := &http.Client{Transport: handlerTransport{p}}
		src := newJWT(t, t.Context(), "http://idp.test/jwks", client, nil, nil)
		old := bearer(sign(t, jwt.SigningMethodRS256, "rsa-1", claims(nil)))
		check(t, src, old, "alice", identity.Valid)
		p.set(false, "rsa-2") // rsa-1 revoked; a token of rsa-2 makes the source learn it
		check(t, src, bearer(sign(t, jwt.SigningMethodRS256, "rsa-2", claims(nil))), "alice", identity.Valid)
		check(t, src, old, "alice", identity.Valid) // believed, not checked again
		time.Sleep(identity.VerifiedFor)
		check(t, src, old, "", identity.Invalid) // checked again: its key is gone

		soon := bearer(sign(t, jwt.SigningMethodRS256, "rsa-2",
			claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(10 * time.Second).Unix() })))
		check(t, src, soon, "alice", identity.Valid)
		time.Sleep(41 * time.Second) // past its expiry and the 30 s skew, within VerifiedFor
		check(t, src, soon, "", identity.Expired)
	})
}

// BenchmarkJWT: naming the shopper of a page from a token seen before (the
// common case: a shopper's every page) and from a token never seen.
func BenchmarkJWT(b *testing.B) {
	p := &provider{kids: []string{"rsa-1", "ec-1"}}
	srv := httptest.NewServer(p)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := identity.NewJWT(ctx, identity.JWTOptions{JWKS: srv.URL, Issuer: issuer, Audience: audience,
		Client: client, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodRS256, jwt.SigningMethodES256} {
		kid := map[string]string{"RS256": "rsa-1", "ES256": "ec-1"}[m.Alg()]
		b.Run(m.Alg()+"/seen", func(b *testing.B) {
			r := bearer(withKid(b, m, kid))
			b.ReportAllocs()
			for b.Loop() {
				if _, res, _ := src.Identify(r); res != identity.Valid {
					b.Fatal(res)
				}
			}
		})
		b.Run(m.Alg()+"/new", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				r := bearer(withKid(b, m, kid, func(c jwt.MapClaims) { c["jti"] = i }))
				b.StartTimer()
				if _, res, _ := src.Identify(r); res != identity.Valid {
					b.Fatal(res)
				}
			}
		})
	}
}

// withKid is a token for alice signed by kid with m.
func withKid(tb testing.TB, m jwt.SigningMethod, kid string, change ...func(jwt.MapClaims)) string {
	tok := jwt.NewWithClaims(m, claims(func(c jwt.MapClaims) {
		for _, f := range change {
			f(c)
		}
	}))
	tok.Header["kid"] = kid
	s, err := tok.SignedString(keys()[kid])
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
