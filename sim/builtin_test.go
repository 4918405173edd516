package sim_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
)

// content returns def's data for req, decoded into T, failing the test
// unless it is valid JSON of T's shape.
func content[T any](t *testing.T, def sim.Def, c *catalogue.Catalogue, req tiles.Request) T {
	t.Helper()
	data, err := def.Content(c, req)
	if err != nil {
		t.Fatalf("%s: Content(%+v) error = %v; want nil", def.Name, req, err)
	}
	if !json.Valid(data) {
		t.Fatalf("%s: Content(%+v) = %q; want valid JSON", def.Name, req, data)
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: Content(%+v) = %s; want a %T: %v", def.Name, req, data, v, err)
	}
	return v
}

func ids(ps []catalogue.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestBuiltins(t *testing.T) {
	want := []struct {
		name         string
		latency      time.Duration
		personalised bool
	}{
		{"banners", 40 * time.Millisecond, false},
		{"products", 80 * time.Millisecond, false},
		{"recommendations", 120 * time.Millisecond, true},
	}
	defs := sim.Builtins()
	if got := len(defs); got != len(want) {
		t.Fatalf("len(Builtins()) = %d; want %d", got, len(want))
	}
	c := catalogue.Default()
	for i, w := range want {
		d := defs[i]
		t.Run(w.name, func(t *testing.T) {
			if d.Name != w.name {
				t.Errorf("Name = %q; want %q", d.Name, w.name)
			}
			if d.Latency != w.latency {
				t.Errorf("Latency = %v; want %v", d.Latency, w.latency)
			}
			if d.Personalised != w.personalised {
				t.Errorf("Personalised = %v; want %v", d.Personalised, w.personalised)
			}
			if d.Content == nil {
				t.Fatalf("Content = nil; want a function")
			}
			for _, req := range []tiles.Request{{}, {User: "alice"}} {
				data, err := d.Content(c, req)
				if err != nil || !json.Valid(data) || len(data) < len("{}") {
					t.Errorf("Content(%+v) = %q, %v; want a JSON value, nil", req, data, err)
				}
			}
		})
	}
	if got, want := sim.Names(), []string{"banners", "products", "recommendations"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v; want %v", got, want)
	}

	defs[0].Name = "changed"
	if got := sim.Builtins()[0].Name; got != "banners" {
		t.Errorf("after changing a returned Def, Builtins()[0].Name = %q; want %q (a copy)", got, "banners")
	}
}

func TestBuiltinContent(t *testing.T) {
	c := catalogue.Default()
	defs := map[string]sim.Def{}
	for _, d := range sim.Builtins() {
		defs[d.Name] = d
	}

	t.Run("banners", func(t *testing.T) {
		got := content[catalogue.Banners](t, defs["banners"], c, tiles.Request{User: "alice"})
		if !slices.Equal(got.Items, c.Banners) {
			t.Errorf("Items = %v; want the catalogue's banners %v", got.Items, c.Banners)
		}
	})

	t.Run("products", func(t *testing.T) {
		got := content[catalogue.Products](t, defs["products"], c, tiles.Request{})
		if n, want := len(got.Items), 12; n != want {
			t.Fatalf("len(Items) = %d; want %d", n, want)
		}
		if got.Title == "" {
			t.Error("Title is empty")
		}
		seen, cats := map[string]bool{}, map[string]bool{}
		for _, p := range c.Products {
			cats[p.Category] = false
		}
		for _, p := range got.Items {
			if seen[p.ID] {
				t.Errorf("product %s featured twice", p.ID)
			}
			seen[p.ID] = true
			cats[p.Category] = true
		}
		for cat, shown := range cats {
			if !shown {
				t.Errorf("category %q missing from the featured grid", cat)
			}
		}
		for i, p := range got.Items {
			if want := c.Featured().Items[i]; p != want {
				t.Errorf("item %d = %+v; want Featured's %+v", i, p, want)
			}
		}
		again := content[catalogue.Products](t, defs["products"], c, tiles.Request{User: "bob"})
		if !slices.Equal(ids(again.Items), ids(got.Items)) {
			t.Errorf("featured for bob = %v; want the same as anonymous %v", ids(again.Items), ids(got.Items))
		}
	})

	t.Run("recommendations", func(t *testing.T) {
		for _, user := range []string{"alice", ""} {
			got := content[catalogue.Recommendations](t, defs["recommendations"], c, tiles.Request{User: user})
			want := c.Recommend(user)
			if !slices.Equal(got.Items, want.Items) || got.User != want.User || got.Reason != want.Reason {
				t.Errorf("Content(%q) = %+v; want Recommend(%q) = %+v", user, got, user, want)
			}
		}
	})
}
