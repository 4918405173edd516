package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"vitrine/config"
	"vitrine/identity"
	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/upstream"
)

// identity builds the -identity source, its results counted. With query, an
// HTTP tile makes it warn once: anyone can claim any id to a real backend.
func (a app) identity(ctx context.Context) (identity.Source, error) {
	id := a.cfg.Identity
	var src identity.Source = identity.Query{}
	switch id.Source {
	case "query":
		if slices.ContainsFunc(a.cfg.Tiles, func(t config.Tile) bool { return t.URL != "" }) {
			a.logger.Warn("identity: -identity query believes ?user=, so anyone can claim any id to the " +
				"personalised backends; use jwt, cookie or header (docs/identity.md)")
		}
	case "jwt":
		j, err := identity.NewJWT(ctx, identity.JWTOptions{JWKS: id.JWKS, Issuer: id.Issuer, Audience: id.Audience,
			Claim: id.Claim, Cookie: id.TokenCookie, Client: upstream.NewClient(), Logger: a.logger})
		if err != nil {
			return nil, err
		}
		src = j
	case "cookie":
		src = identity.NewCookie(id.Cookie, id.Keys)
	case "header":
		src = identity.NewHeader(id.Header, id.Trusted)
	}
	return identity.Observed(src, a.m.Identified), nil
}

// tokenFlags are `vitrine token`'s flags.
func tokenFlags(user *string, ttl *time.Duration) *flag.FlagSet {
	fs := flag.NewFlagSet("vitrine token", flag.ContinueOnError)
	fs.StringVar(user, "user", "alice", "the shopper's `id` the token names")
	fs.DurationVar(ttl, "ttl", time.Hour, "how long the token is valid")
	return fs
}

// runToken prints a token for -user signed with the demo key that `vitrine
// backends` serves (sim.DemoToken): for trying -identity jwt locally only.
func runToken(_ context.Context, args []string, _ func(string) string, stdout, _ io.Writer) error {
	var user string
	var ttl time.Duration
	fs := tokenFlags(&user, &ttl)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return config.ErrHelp
	} else if err != nil {
		return &config.Error{Flag: "token", Msg: err.Error()}
	}
	if _, err := tiles.NewRequest(user); err != nil || user == "" {
		return &config.Error{Flag: "-user", Msg: "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -"}
	}
	fmt.Fprintln(stdout, sim.DemoToken(user, ttl))
	return nil
}

// tokenUsage writes `vitrine token`'s usage to w.
func tokenUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: vitrine token [-user ID] [-ttl DURATION]\n\nPrints a JWT for the demo identity "+
		"provider of `vitrine backends` (examples/jwt.yaml). Its key is public: for local trying only.\n\n")
	var user string
	var ttl time.Duration
	fs := tokenFlags(&user, &ttl)
	fs.SetOutput(w)
	fs.PrintDefaults()
}
