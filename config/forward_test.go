package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"vitrine/config"
	"vitrine/tiles"
)

// TestParseForward: a tile's forward: lands in its Forward, header names
// canonical; a tile without one forwards nothing.
func TestParseForward(t *testing.T) {
	path := writeConfig(t, `
tiles:
  - name: basket
    url: http://x/basket
    personalised: true
    forward:
      headers: [accept-language, X-Shop]
      cookies: [cart]
      query: [q]
      user: header:x-user-id
      max-values: 20
  - name: recommendations
    forward: {user: "query:user"}
  - name: banners
`)
	c, err := config.Parse([]string{"-config", path}, env(nil))
	if err != nil {
		t.Fatalf("Parse error = %v; want nil", err)
	}
	want := config.Forward{Forward: tiles.Forward{Headers: []string{"Accept-Language", "X-Shop"},
		Cookies: []string{"cart"}, Query: []string{"q"}, UserHeader: "X-User-Id"}, MaxValues: 20}
	if got := tile(c, "basket").Forward; !reflect.DeepEqual(got, want) {
		t.Errorf("basket's Forward = %+v; want %+v", got, want)
	}
	for _, name := range []string{"recommendations", "banners"} {
		if got := tile(c, name).Forward; !reflect.DeepEqual(got, config.Forward{}) {
			t.Errorf("%s's Forward = %+v; want none", name, got)
		}
	}
}

// TestParseForwardErrors: a bad forward: is refused at its place.
func TestParseForwardErrors(t *testing.T) {
	const tile = "tiles:\n  - name: w\n    url: http://x/\n    forward:\n      "
	tests := []struct{ name, file, want string }{
		{"unknown key", tile + "header: [A]\n",
			`FILE:5:7: tiles[0].forward.header: unknown key (forward's keys: headers, cookies, query, user, max-values)`},
		{"hop-by-hop header", tile + "headers: [Accept, connection]\n",
			`FILE:5:25: tiles[0].forward.headers[1]: Connection is never forwarded: hop-by-hop headers, ` +
				`Authorization and Cookie stay with Vitrine (name cookies under cookies:)`},
		{"proxy header", tile + "headers: [Proxy-Foo]\n", `FILE:5:17: tiles[0].forward.headers[0]: Proxy-Foo is never forwarded`},
		{"authorization", tile + "headers: [Authorization]\n", `FILE:5:17: tiles[0].forward.headers[0]: Authorization is never`},
		{"cookie as a header", tile + "headers: [Cookie]\n", `FILE:5:17: tiles[0].forward.headers[0]: Cookie is never`},
		{"bad header name", tile + "headers: ['a b']\n", `FILE:5:17: tiles[0].forward.headers[0]: "a b" is not a header`},
		{"not a list", tile + "headers: Accept\n", `FILE:5:16: string was used where sequence is expected`},
		{"bad user", tile + "user: cookie:sid\n",
			`FILE:5:13: tiles[0].forward.user: "cookie:sid" is not how the id reaches the tile (header:NAME, or query:user)`},
		{"user as another parameter", tile + "user: query:uid\n",
			`FILE:5:13: tiles[0].forward.user: "query:uid": the id goes as the query parameter user (query:user)`},
		{"user of a tile not personalised", tile + "user: header:X-User-Id\n",
			`FILE:5:13: tiles[0].forward: this tile is not personalised, so it never receives the shopper's id`},
		{"user of banners", "tiles:\n  - name: banners\n    forward: {user: 'query:user'}\n",
			`FILE:3:21: tiles[0].forward: this tile is not personalised, so it never receives the shopper's id`},
		{"cookies of a tile not personalised", tile + "cookies: [cart]\n",
			`FILE:5:7: tiles[0].forward: this tile is not personalised, so it never receives cookies`},
		{"the identity's header", "identity: {source: header, header: x-user-id, trusted: [127.0.0.1]}\n" +
			"tiles:\n  - name: recommendations\n    forward: {headers: [X-User-Id]}\n",
			`FILE: tiles[0].forward: the header X-User-Id carries the shopper's identity and is never forwarded`},
		{"the identity's cookie", "identity: {source: jwt, jwks: 'http://x/k', issuer: i, audience: a, token-cookie: sid}\n" +
			"tiles:\n  - name: recommendations\n    forward: {cookies: [sid]}\n",
			`FILE: tiles[0].forward: the cookie sid carries the shopper's identity`},
		{"zero max-values", tile + "max-values: 0\n", `FILE:5:19: tiles[0].forward.max-values: "0" is not a whole number > 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file)
			_, err := config.Parse([]string{"-config", path}, env(nil))
			if ce := (*config.Error)(nil); !errors.As(err, &ce) {
				t.Fatalf("Parse error = %T %v; want a *config.Error", err, err)
			}
			if got, want := err.Error(), strings.ReplaceAll(tt.want, "FILE", path); !strings.HasPrefix(got, want) {
				t.Errorf("Error() = %q;\nwant it to start %q", got, want)
			}
		})
	}
}
