package tiles_test

import (
	"slices"
	"testing"
	"time"

	"vitrine/tiles"
)

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
	defs := tiles.Builtins()
	if got := len(defs); got != len(want) {
		t.Fatalf("len(Builtins()) = %d; want %d", got, len(want))
	}
	c := tiles.DefaultCatalogue()
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
			if d.Content == nil || d.Content(c, tiles.Request{}) == nil {
				t.Errorf("Content(anonymous) = nil; want data")
			}
		})
	}
	if got, want := tiles.Names(), []string{"banners", "products", "recommendations"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v; want %v", got, want)
	}

	defs[0].Name = "changed"
	if got := tiles.Builtins()[0].Name; got != "banners" {
		t.Errorf("after changing a returned Def, Builtins()[0].Name = %q; want %q (a copy)", got, "banners")
	}
}

func TestBuiltinContent(t *testing.T) {
	c := tiles.DefaultCatalogue()
	defs := map[string]tiles.Def{}
	for _, d := range tiles.Builtins() {
		defs[d.Name] = d
	}

	t.Run("banners", func(t *testing.T) {
		got, ok := defs["banners"].Content(c, tiles.Request{User: "alice"}).(tiles.BannersData)
		if !ok {
			t.Fatalf("Content is %T; want tiles.BannersData", got)
		}
		if !slices.Equal(got.Items, c.Banners) {
			t.Errorf("Items = %v; want the catalogue's banners %v", got.Items, c.Banners)
		}
	})

	t.Run("products", func(t *testing.T) {
		got, ok := defs["products"].Content(c, tiles.Request{}).(tiles.ProductsData)
		if !ok {
			t.Fatalf("Content is %T; want tiles.ProductsData", got)
		}
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
		again := defs["products"].Content(c, tiles.Request{User: "bob"}).(tiles.ProductsData)
		if !slices.Equal(ids(again.Items), ids(got.Items)) {
			t.Errorf("featured for bob = %v; want the same as anonymous %v", ids(again.Items), ids(got.Items))
		}
	})

	t.Run("recommendations", func(t *testing.T) {
		got, ok := defs["recommendations"].Content(c, tiles.Request{User: "alice"}).(tiles.RecommendationsData)
		if !ok {
			t.Fatalf("Content is %T; want tiles.RecommendationsData", got)
		}
		if want := tiles.Recommend(c, "alice"); !slices.Equal(ids(got.Items), ids(want.Items)) {
			t.Errorf("Items = %v; want Recommend(alice) = %v", ids(got.Items), ids(want.Items))
		}
	})
}
