package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"golang.org/x/net/http/httpguts"
)

// Identity is where the shopper's id comes from (-identity, the file's
// identity:), and what that source needs.
type Identity struct {
	Source      string // one of IdentitySources
	JWKS        string // jwt: the key set's URL
	Issuer      string // jwt: the iss a token must carry
	Audience    string // jwt: one of its aud
	Claim       string // jwt: the claim that is the id; "": sub
	TokenCookie string // jwt: read the token from this cookie, not Authorization
	Cookie      string // cookie: the signed session cookie's name
	Keys        []string
	Header      string         // header: the authenticating proxy's header
	Trusted     []netip.Prefix // header: the peers it is accepted from
}

// IdentitySources are the values of -identity.
var IdentitySources = []string{"query", "jwt", "cookie", "header"}

// MinKeyBytes is the shortest hash key of a signed cookie.
const MinKeyBytes = 32

func parseIdentitySource(s string) (string, error) {
	if s = strings.TrimSpace(s); !slices.Contains(IdentitySources, s) {
		return "", fmt.Errorf("%q is not an identity source (%s)", clip(s), strings.Join(IdentitySources, ", "))
	}
	return s, nil
}

// parseToken checks a header's or a cookie's name: an HTTP token.
func parseToken(s string) (string, error) {
	if !httpguts.ValidHeaderFieldName(s) {
		return "", fmt.Errorf("%q is not a header or cookie name (letters, digits and !#$%%&'*+-.^_`|~)", clip(s))
	}
	return s, nil
}

func parseWord(s string) (string, error) {
	if s = strings.TrimSpace(s); s == "" || strings.ContainsFunc(s, notWord) {
		return "", fmt.Errorf("%q is empty or holds a space", clip(s))
	}
	return s, nil
}

// parseKeys parses comma-separated hash keys, each at least MinKeyBytes
// long. Its messages never show a key.
func parseKeys(s string) ([]string, error) {
	keys := strings.Split(s, ",")
	for i, k := range keys {
		if keys[i] = strings.TrimSpace(k); len(keys[i]) < MinKeyBytes {
			return nil, fmt.Errorf("key %d is %d bytes; give at least %d (e.g. openssl rand -hex 32)",
				i+1, len(keys[i]), MinKeyBytes)
		}
	}
	return keys, nil
}

// parsePrefix parses a trusted peer: a CIDR, or one address.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("%q is not an address or a CIDR (e.g. 10.0.0.0/8, 127.0.0.1)", clip(s))
	}
	return p.Masked(), nil
}

// identity reads the file's identity: a source, or a mapping of the
// source and its settings.
func (f *file) identity(n ast.Node) error {
	id := &f.p.cfg.Identity
	if _, ok := n.(ast.MapNode); !ok {
		return scalar(n, func(s string) (err error) { id.Source, err = parseIdentitySource(s); return err })
	}
	f.p.identityAt = f.at(start(n), "")
	_, err := f.read(n, "identity", "identity's", []setting{
		field("source", &id.Source, parseIdentitySource),
		field("jwks", &id.JWKS, ParseBackendURL),
		field("issuer", &id.Issuer, parseWord),
		field("audience", &id.Audience, parseWord),
		field("claim", &id.Claim, parseWord),
		field("token-cookie", &id.TokenCookie, parseToken),
		field("cookie", &id.Cookie, parseToken),
		{key: "keys", node: func(n ast.Node) error {
			return f.each(n, "identity.keys", func(s string) (err error) {
				k, err := parseKeys(s)
				id.Keys = append(id.Keys, k...)
				return err
			})
		}},
		field("header", &id.Header, parseToken),
		{key: "trusted", node: func(n ast.Node) error {
			return f.each(n, "identity.trusted", func(s string) error {
				p, err := parsePrefix(s)
				id.Trusted = append(id.Trusted, p)
				return err
			})
		}},
	}, func(string) {})
	return err
}

// each hands each value of the sequence n, called path, to set.
func (f *file) each(n ast.Node, path string, set func(string) error) error {
	values, err := f.sequence(n, "is empty")
	for i := 0; err == nil && i < len(values); i++ {
		if err = scalar(f.resolve(values[i]), set); err != nil {
			err = f.fail(values[i], fmt.Sprintf("%s[%d]", path, i), err)
		}
	}
	return err
}

// need says what the source lacks, if anything.
func (id Identity) need() error {
	lacks := func(what, why string) error { return fmt.Errorf("%s needs %s: %s", id.Source, what, why) }
	switch {
	case id.Source == "jwt" && id.JWKS == "":
		return lacks("jwks", "the URL of the identity provider's key set")
	case id.Source == "jwt" && (id.Issuer == "" || id.Audience == ""):
		return lacks("issuer and audience", "the iss and aud its tokens carry, so that another's are refused")
	case id.Source == "cookie" && id.Cookie == "":
		return lacks("cookie", "the name of the signed session cookie")
	case id.Source == "cookie" && len(id.Keys) == 0:
		return lacks("keys", "its hash keys, best in VITRINE_IDENTITY_KEYS (comma-separated), first signs")
	case id.Source == "header" && (id.Header == "" || len(id.Trusted) == 0):
		return lacks("header and trusted", "the proxy's header and the CIDRs of the peers it may come from")
	}
	return nil
}

// checkIdentity checks the identity source once every source is read: a
// lack is placed at the file's identity:, else on -identity.
func (p *parser) checkIdentity(cmd []arg, getenv func(string) string) error {
	err := p.cfg.Identity.need()
	switch {
	case err == nil:
		return nil
	case p.identityAt != nil:
		e := *p.identityAt
		e.Msg = "identity: " + err.Error()
		return &e
	}
	e := &Error{Flag: "-identity", Msg: err.Error()}
	if getenv(EnvName("identity")) != "" && !slices.ContainsFunc(cmd, func(a arg) bool { return a.s.key == "identity" }) {
		e.Env = EnvName("identity")
	}
	return e
}
