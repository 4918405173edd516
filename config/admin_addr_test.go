package config_test

import (
	"testing"

	"vitrine/config"
)

// TestParseAdminAddr: -admin-addr and VITRINE_ADMIN_ADDR set the operator
// port; unset (the default) or empty, there is none.
func TestParseAdminAddr(t *testing.T) {
	tests := []parseCase{
		{name: "unset by default", want: defaults()},
		{name: "flag", args: []string{"-admin-addr", "127.0.0.1:9090"},
			want: with(func(c *config.Config) { c.AdminAddr = "127.0.0.1:9090" })},
		{name: "flag with =", args: []string{"--admin-addr=10.0.0.5:9090"},
			want: with(func(c *config.Config) { c.AdminAddr = "10.0.0.5:9090" })},
		{name: "empty flag is unset", args: []string{"-admin-addr", ""}, want: defaults()},
		{name: "empty flag beats the variable", args: []string{"-admin-addr="},
			env: map[string]string{"VITRINE_ADMIN_ADDR": "127.0.0.1:9090"}, want: defaults()},
		{name: "VITRINE_ADMIN_ADDR", env: map[string]string{"VITRINE_ADMIN_ADDR": "127.0.0.1:9090"},
			want: with(func(c *config.Config) { c.AdminAddr = "127.0.0.1:9090" })},
		{name: "empty VITRINE_ADMIN_ADDR is unset", env: map[string]string{"VITRINE_ADMIN_ADDR": ""}, want: defaults()},
		{name: "flag overrides VITRINE_ADMIN_ADDR", args: []string{"-admin-addr", ":9091"},
			env:  map[string]string{"VITRINE_ADMIN_ADDR": ":9090"},
			want: with(func(c *config.Config) { c.AdminAddr = ":9091" })},

		// Addresses that do not collide with -addr.
		{name: "both port 0", args: []string{"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0"},
			want: with(func(c *config.Config) { c.Addr, c.AdminAddr = "127.0.0.1:0", "127.0.0.1:0" })},
		{name: "same host, other port", args: []string{"-addr", ":8080", "-admin-addr", "localhost:9090"},
			want: with(func(c *config.Config) { c.Addr, c.AdminAddr = ":8080", "localhost:9090" })},
		{name: "same port, other interface", args: []string{"-addr", "203.0.113.5:8080", "-admin-addr", "10.0.0.5:8080"},
			want: with(func(c *config.Config) { c.Addr, c.AdminAddr = "203.0.113.5:8080", "10.0.0.5:8080" })},
		{name: "same port, other name", args: []string{"-addr", "shop.example:8080", "-admin-addr", "localhost:8080"},
			want: with(func(c *config.Config) { c.Addr, c.AdminAddr = "shop.example:8080", "localhost:8080" })},
	}
	checkParse(t, tests)
}

// TestParseAdminAddrErrors: a bad operator address, or one where -addr
// already listens, stops the program before it listens, naming the flag.
func TestParseAdminAddrErrors(t *testing.T) {
	tests := []errorCase{
		{name: "not host:port", args: []string{"-admin-addr", "9090"}, says: []string{`"9090" is not host:port`}},
		{name: "port out of range", args: []string{"-admin-addr=:70000"}, says: []string{`port must be 0 to 65535; got "70000"`}},
		{name: "port not a number", args: []string{"-admin-addr", "localhost:metrics"}, says: []string{`port must be 0 to 65535; got "metrics"`}},
		{name: "newline", args: []string{"-admin-addr", "a\nb"}, says: []string{`\n`}},
		{name: "bad VITRINE_ADMIN_ADDR", env: map[string]string{"VITRINE_ADMIN_ADDR": "x:y"},
			from: "VITRINE_ADMIN_ADDR", says: []string{`"x:y" port must be 0 to 65535; got "y"`}},

		// The same listener as -addr.
		{name: "same as the default -addr", args: []string{"-admin-addr", "localhost:8080"},
			says: []string{`"localhost:8080"`, "-addr"}},
		{name: "same as -addr", args: []string{"-addr", "127.0.0.1:8081", "-admin-addr", "127.0.0.1:8081"},
			says: []string{`"127.0.0.1:8081"`, "-addr"}},
		{name: "same port, -addr on every interface", args: []string{"-addr", ":8081", "-admin-addr", "127.0.0.1:8081"},
			says: []string{"-addr \":8081\""}},
		{name: "same port, admin on every interface", args: []string{"-addr", "10.0.0.5:8081", "-admin-addr", "0.0.0.0:8081"},
			says: []string{`"0.0.0.0:8081"`}},
		{name: "same port, IPv6 wildcard", args: []string{"-addr", "127.0.0.1:8081", "-admin-addr", "[::]:8081"},
			says: []string{`"[::]:8081"`}},
		{name: "localhost is loopback", args: []string{"-addr", "localhost:8081", "-admin-addr", "[::1]:8081"},
			says: []string{`"[::1]:8081"`}},
		{name: "same name in another case", args: []string{"-addr", "Shop.Example:8081", "-admin-addr", "shop.example:8081"},
			says: []string{`"shop.example:8081"`}},
		{name: "same port written differently", args: []string{"-addr", "127.0.0.1:08081", "-admin-addr", "127.0.0.1:8081"},
			says: []string{`"127.0.0.1:8081"`}},
		{name: "same as -addr, from the variables", env: map[string]string{"VITRINE_ADDR": ":7000", "VITRINE_ADMIN_ADDR": ":7000"},
			from: "VITRINE_ADMIN_ADDR", says: []string{`":7000"`}},
	}
	checkParseErrors(t, "-admin-addr", tests)
}
