package config_test

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"vitrine/config"
)

const key32 = "0123456789abcdef0123456789abcdef"

// TestParseIdentity: -identity, VITRINE_IDENTITY, VITRINE_IDENTITY_KEYS and
// the file's identity: set the source, flags over variables over the file.
func TestParseIdentity(t *testing.T) {
	const jwt = "identity:\n  source: jwt\n  jwks: http://idp:9000/jwks\n  issuer: https://login\n  audience: v\n"
	tests := []struct {
		name, file string
		args       []string
		env        map[string]string
		want       config.Identity
	}{
		{name: "query by default", want: config.Identity{Source: "query"}},
		{name: "a source alone", file: "identity: query\n", want: config.Identity{Source: "query"}},
		{name: "jwt", file: jwt, want: config.Identity{Source: "jwt", JWKS: "http://idp:9000/jwks",
			Issuer: "https://login", Audience: "v"}},
		{name: "the flag over the file", file: jwt, args: []string{"-identity", "query"},
			want: config.Identity{Source: "query", JWKS: "http://idp:9000/jwks", Issuer: "https://login", Audience: "v"}},
		{name: "cookie keys from the variable", file: "identity: {source: cookie, cookie: sid}\n",
			env:  map[string]string{"VITRINE_IDENTITY_KEYS": key32 + ", " + strings.ToUpper(key32)},
			want: config.Identity{Source: "cookie", Cookie: "sid", Keys: []string{key32, strings.ToUpper(key32)}}},
		{name: "header", file: "identity: {source: header, header: X-User, trusted: [127.0.0.1, 10.0.0.0/8]}\n",
			want: config.Identity{Source: "header", Header: "X-User",
				Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file + "tiles: [{name: banners}]\n"
			got, err := config.Parse(append([]string{"-config", writeConfig(t, file)}, tt.args...), env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Identity, tt.want) {
				t.Errorf("got %+v; want %+v", got.Identity, tt.want)
			}
		})
	}
}

// TestParseIdentityErrors: a bad value, or a source without what it needs,
// is placed in the file or on the flag, and never shows a key.
func TestParseIdentityErrors(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		env        map[string]string
		want       string
	}{
		{name: "unknown source", args: []string{"-identity", "oauth"},
			want: `-identity: "oauth" is not an identity source (query, jwt, cookie, header)`},
		{name: "jwt without a file", args: []string{"-identity", "jwt"},
			want: `-identity: jwt needs jwks: the URL of the identity provider's key set`},
		{name: "from the variable", env: map[string]string{"VITRINE_IDENTITY": "header"},
			want: `-identity (from VITRINE_IDENTITY): header needs header and trusted`},
		{name: "jwt without issuer", file: "identity:\n  source: jwt\n  jwks: http://idp/jwks\n",
			want: `FILE:2:3: identity: jwt needs issuer and audience`},
		{name: "bad jwks", file: "identity:\n  jwks: ftp://idp/jwks\n", want: `FILE:2:9: identity.jwks: "ftp://idp/jwks"`},
		{name: "unknown key", file: "identity:\n  secret: x\n", want: `FILE:2:3: identity.secret: unknown key`},
		{name: "bad trusted", file: "identity:\n  trusted: [10.0.0.0/8, localhost]\n",
			want: `FILE:2:25: identity.trusted[1]: "localhost" is not an address or a CIDR`},
		{name: "bad header", file: "identity:\n  header: X User\n", want: `FILE:2:11: identity.header: "X User" is not`},
		{name: "short key", args: []string{"-identity-keys", key32 + ",hunter2"},
			want: "-identity-keys: key 2 is 7 bytes; give at least 32"},
		{name: "cookie without keys", file: "identity: {source: cookie, cookie: sid}\n",
			want: "FILE:1:12: identity: cookie needs keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file+"tiles: [{name: banners}]\n")
			_, err := config.Parse(append([]string{"-config", path}, tt.args...), env(tt.env))
			if err == nil {
				t.Fatal("got no error")
			}
			if got := strings.ReplaceAll(err.Error(), path, "FILE"); !strings.HasPrefix(got, tt.want) ||
				strings.Contains(got, "hunter2") {
				t.Errorf("got %q; want it to start with %q", got, tt.want)
			}
		})
	}
}
