package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vitrine/config"
	"vitrine/identity"
	"vitrine/sim"
	"vitrine/tiles"
)

// bearer is a transport that sends token as a bearer token.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// TestIdentityJWT: over the wire, with examples/jwt.yaml against `vitrine
// backends` (its demo key set), the token names the shopper and ?user= is
// ignored; no token, or a bad one, is an anonymous 200; the metric counts.
func TestIdentityJWT(t *testing.T) {
	base := startBackends(t, "-latency", "banners=0s,products=0s,recommendations=0s").base
	args, _ := exampleArgs(t, "examples/jwt.yaml", base)
	in := start(t, args...)
	alice, anyone := wantData(t, tiles.Request{User: "alice"})["recommendations"], wantData(t, tiles.Request{})["recommendations"]
	tests := []struct {
		name   string
		client *http.Client
		want   string
	}{
		{"alice's token and ?user=bob", &http.Client{Transport: bearer(sim.DemoToken("alice", time.Minute))}, alice},
		{"no token and ?user=bob", http.DefaultClient, anyone},
		{"a forged token", &http.Client{Transport: bearer(sim.DemoToken("alice", time.Minute) + "x")}, anyone},
		{"an expired token", &http.Client{Transport: bearer(sim.DemoToken("alice", -time.Hour))}, anyone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var page struct {
				Tiles map[string]struct{ Data json.RawMessage }
			}
			if code := getJSON(t, tt.client, in.base+"/home?user=bob", &page); code != http.StatusOK {
				t.Fatalf("status %d; want 200", code)
			}
			if got := string(page.Tiles["recommendations"].Data); got != tt.want {
				t.Errorf("recommendations: got %s; want %s", got, tt.want)
			}
		})
	}
	resp, err := http.Get(in.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`vitrine_identity_total{result="valid"} 1`, `vitrine_identity_total{result="absent"} 1`,
		`vitrine_identity_total{result="invalid"} 1`, `vitrine_identity_total{result="expired"} 1`} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestIdentityQueryWarns: with -identity query, one Warn line at start says
// that anyone can claim any id, when a tile is fetched over HTTP only.
func TestIdentityQueryWarns(t *testing.T) {
	base := startBackends(t).base
	for _, tt := range []struct {
		name string
		args []string
		want int
	}{
		{"tiles over HTTP", []string{"-backend", tilesAt(base)}, 1},
		{"simulated tiles", nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := start(t, tt.args...)
			if got := strings.Count(in.stderr.String(), "anyone can claim any id"); got != tt.want {
				t.Errorf("got %d warnings; want %d (stderr %q)", got, tt.want, in.stderr.String())
			}
		})
	}
}

// TestIdentityCookieAndHeader: over the wire, a signed cookie or a trusted
// proxy's header names the shopper, not ?user=; a forged one is anonymous.
func TestIdentityCookieAndHeader(t *testing.T) {
	base := startBackends(t, "-latency", "banners=0s,products=0s,recommendations=0s").base
	alice, anyone := wantData(t, tiles.Request{User: "alice"})["recommendations"], wantData(t, tiles.Request{})["recommendations"]
	const key = "0123456789abcdef0123456789abcdef"
	cookie, err := identity.NewCookie("sid", []string{key}).Sign("alice")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, identity string
		args           []string
		header, want   string
	}{
		{"cookie", "{source: cookie, cookie: sid}", []string{"-identity-keys", key}, "Cookie: sid=" + cookie, alice},
		{"forged cookie", "{source: cookie, cookie: sid}", []string{"-identity-keys", key}, "Cookie: sid=x" + cookie, anyone},
		{"trusted header", "{source: header, header: X-User-Id, trusted: [127.0.0.1]}", nil, "X-User-Id: alice", alice},
		{"untrusted header", "{source: header, header: X-User-Id, trusted: [10.0.0.0/8]}", nil, "X-User-Id: alice", anyone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "identity.yaml")
			yaml := "identity: " + tt.identity + "\ntiles:\n  - name: recommendations\n    url: " + base +
				"/recommendations\n    personalised: true\n"
			if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			in := start(t, append([]string{"-config", file}, tt.args...)...)
			name, value, _ := strings.Cut(tt.header, ": ")
			req, _ := http.NewRequest(http.MethodGet, in.base+"/home?user=bob", nil)
			req.Header.Set(name, value)
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var page struct {
				Tiles map[string]struct{ Data json.RawMessage }
			}
			json.NewDecoder(resp.Body).Decode(&page)
			if got := string(page.Tiles["recommendations"].Data); resp.StatusCode != http.StatusOK || got != tt.want {
				t.Errorf("got %d %s; want 200 %s", resp.StatusCode, got, tt.want)
			}
		})
	}
}

// TestToken: `vitrine token` prints a token of the demo provider for -user,
// and refuses an id that breaks the rules.
func TestToken(t *testing.T) {
	var out strings.Builder
	if err := runToken(t.Context(), []string{"-user", "alice", "-ttl", "1m"}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if token := strings.TrimSpace(out.String()); strings.Count(token, ".") != 2 || strings.ContainsAny(token, " =") {
		t.Errorf("printed %q; want one JWT", out.String())
	}
	var ce *config.Error
	if err := runToken(t.Context(), []string{"-user", "a b"}, noEnv, io.Discard, io.Discard); !errors.As(err, &ce) {
		t.Errorf("-user 'a b': got %v; want a *config.Error", err)
	}
}
