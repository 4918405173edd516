package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/maypok86/otter/v2"
	"golang.org/x/time/rate"
)

// Algorithms are the signatures a token may carry: asymmetric ones only, so
// that "none" and an HMAC keyed with a public key are refused.
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// The key set's fetch: its bounds, how often an unknown kid may refetch it,
// and how often it is refetched anyway (to drop revoked keys).
const (
	MaxJWKSBytes     = 1 << 20
	JWKSTimeout      = 5 * time.Second
	UnknownKIDRetry  = time.Minute
	JWKSRefreshEvery = time.Hour
	clockSkew        = 30 * time.Second
	// VerifiedFor is how long a verified token is believed (never past its
	// expiry) before its signature is checked again: a key the provider
	// revokes stops naming shoppers within it.
	VerifiedFor = time.Minute
	maxVerified = 10_000 // tokens remembered at once
)

// JWTOptions configure a JWT source. JWKS, Issuer and Audience are required.
type JWTOptions struct {
	JWKS     string // the URL of the identity provider's key set
	Issuer   string // the iss a token must carry
	Audience string // one of its aud
	Claim    string // the claim that is the shopper's id; "" is sub
	Cookie   string // read the token from this cookie, not from Authorization
	// Client fetches the key set, within MaxJWKSBytes and JWKSTimeout;
	// nil: http.DefaultClient's transport.
	Client *http.Client
	Logger *slog.Logger // the key set's failed fetches; nil: slog.Default()
}

// JWT verifies a bearer token against an identity provider's key set. The
// keys are fetched at start, then hourly and on an unknown kid (at most
// once per UnknownKIDRetry); a failed fetch keeps the last good keys.
type JWT struct {
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
	claim  string
	cookie string
	// seen holds recently verified tokens by their SHA-256 (never the token
	// itself), so that a shopper's every page does not pay for a signature.
	seen *otter.Cache[[sha256.Size]byte, verified]
}

// verified is a verified token's id, believed until until.
type verified struct {
	id    string
	until time.Time
}

// NewJWT fetches the key set once (a failure is logged, not returned: the
// provider may come up later) and refetches it until ctx ends.
func NewJWT(ctx context.Context, o JWTOptions) (*JWT, error) {
	if o.JWKS == "" || o.Issuer == "" || o.Audience == "" {
		return nil, errors.New("identity: a JWT source needs jwks, issuer and audience")
	}
	if o.Claim == "" {
		o.Claim = "sub"
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{o.JWKS}, keyfunc.Override{
		Client:            carefulClient(o.Client),
		HTTPTimeout:       JWKSTimeout,
		RefreshInterval:   JWKSRefreshEvery,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(UnknownKIDRetry), 1),
		// An unknown kid past the limit waits for it only if it comes within
		// JWKSTimeout; else the token is refused at once.
		RateLimitWaitMax: JWKSTimeout,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "identity: JWKS fetch failed; the last good keys stay", "err", reason(err))
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("identity: jwks: %s", reason(err))
	}
	// The cache's maintenance runs inline: it starts no goroutine.
	seen := otter.Must(&otter.Options[[sha256.Size]byte, verified]{MaximumSize: maxVerified,
		Executor: func(fn func()) { fn() }})
	return &JWT{keys: keys, claim: o.Claim, cookie: o.Cookie, seen: seen, parser: jwt.NewParser(
		jwt.WithValidMethods(Algorithms), jwt.WithIssuer(o.Issuer), jwt.WithAudience(o.Audience),
		jwt.WithExpirationRequired(), jwt.WithLeeway(clockSkew),
	)}, nil
}

// Identify returns the id claim of a verified token. A missing token is
// Absent, one past its expiry Expired, any other failure Invalid.
func (j *JWT) Identify(r *http.Request) (string, Result, error) {
	raw := j.token(r)
	if raw == "" {
		return "", Absent, nil
	}
	sum := sha256.Sum256([]byte(raw))
	if v, ok := j.seen.GetIfPresent(sum); ok && time.Now().Before(v.until) {
		return v.id, Valid, nil
	}
	claims := jwt.MapClaims{}
	_, err := j.parser.ParseWithClaims(raw, claims, j.keys.KeyfuncCtx(r.Context()))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", Expired, nil
	case err != nil:
		return "", Invalid, nil
	}
	id, _ := claims[j.claim].(string)
	id, res, err := checked(id)
	if exp, _ := claims.GetExpirationTime(); res == Valid && exp != nil {
		until := time.Now().Add(VerifiedFor)
		if end := exp.Add(clockSkew); end.Before(until) {
			until = end
		}
		j.seen.Set(sum, verified{id: id, until: until})
	}
	return id, res, err
}

// token is the request's bearer token, from its cookie if one is named.
func (j *JWT) token(r *http.Request) string {
	if j.cookie != "" {
		c, err := r.Cookie(j.cookie)
		if err != nil {
			return ""
		}
		return c.Value
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// errJWKS is a failed round trip to the key set, in words without its address.
var errJWKS = errors.New("JWKS endpoint unreachable")

// errJWKSSize is a key set over MaxJWKSBytes.
var errJWKSSize = fmt.Errorf("JWKS over %d KiB", MaxJWKSBytes>>10)

// carefulClient is c (its redirect rules and pool) with a timeout, a body
// bound, and transport errors that name no address.
func carefulClient(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{}
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	return &http.Client{Transport: careful{next}, CheckRedirect: c.CheckRedirect, Timeout: JWKSTimeout}
}

type careful struct{ next http.RoundTripper }

func (t careful) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, errJWKS
	}
	resp.Body = &bounded{resp.Body, MaxJWKSBytes}
	return resp, nil
}

// bounded fails a read past n bytes.
type bounded struct {
	io.ReadCloser
	n int64
}

func (b *bounded) Read(p []byte) (int, error) {
	if int64(len(p)) > b.n+1 {
		p = p[:b.n+1] // one more, to tell a body of exactly n from a longer one
	}
	n, err := b.ReadCloser.Read(p)
	if int64(n) > b.n {
		return int(b.n), errJWKSSize
	}
	b.n -= int64(n)
	return n, err
}

// reason is err without the URL that http.Client's errors quote.
func reason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "JWKS endpoint timed out"
		}
		return ue.Err.Error()
	}
	return err.Error()
}
