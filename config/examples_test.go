package config_test

import (
	"encoding/json"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"testing"

	"vitrine/catalogue"
	"vitrine/config"
	"vitrine/sim"
)

// TestExamples loads every file in examples/: each must parse, and the
// tiles it fetches over HTTP must be ones `vitrine backends` serves on
// localhost:9000, so that every example runs as its comment says.
func TestExamples(t *testing.T) {
	checks := map[string]func(t *testing.T, c config.Config){
		"http.yaml": func(t *testing.T, c config.Config) {
			if got, want := names(c), []string{"banners", "products", "recommendations"}; !slices.Equal(got, want) {
				t.Errorf("tiles = %q; want %q", got, want)
			}
			for _, tile := range c.Tiles {
				if tile.URL == "" {
					t.Errorf("%s has no url; want every tile over HTTP", tile.Name)
				}
			}
			if !c.Tiles[1].Primary || !c.Tiles[2].Personalised {
				t.Errorf("products primary, recommendations personalised = %t, %t; want true, true", c.Tiles[1].Primary, c.Tiles[2].Personalised)
			}
		},
		"fourth-tile.yaml": func(t *testing.T, c config.Config) {
			if got := names(c); len(got) != 4 || slices.Contains([]string{"banners", "products", "recommendations"}, got[3]) {
				t.Fatalf("tiles = %q; want the three built-ins and one more", got)
			}
			fourth := c.Tiles[3]
			if fourth.View != "json" || fourth.URL == "" || !json.Valid(fourth.Fallback) {
				t.Errorf("fourth tile = %+v; want view json, a url and a JSON fallback", fourth)
			}
		},
		"jwt.yaml": func(t *testing.T, c config.Config) {
			id := c.Identity
			if id.Source != "jwt" || id.JWKS != "http://localhost:9000"+sim.DemoJWKSPath || id.Issuer != sim.DemoIssuer ||
				id.Audience != sim.DemoAudience || !c.Tiles[2].Personalised {
				t.Errorf("identity = %+v; want jwt from the demo provider of vitrine backends", id)
			}
		},
		"shop.yaml": func(t *testing.T, c config.Config) {
			var paths []string
			for _, p := range c.Pages {
				paths = append(paths, p.Path)
			}
			if want := []string{"/home", "/sale", "/c/{slug}"}; !slices.Equal(paths, want) {
				t.Fatalf("pages %q; want %q", paths, want)
			}
			home, category := c.Pages[0], c.Pages[2]
			if !slices.ContainsFunc(home.Tiles, func(pt config.PageTile) bool { return pt.Name == "categories" && pt.View == "links" }) {
				t.Errorf("the homepage's tiles %+v; want the category index drawn as links, for a visitor to click through", home.Tiles)
			}
			if category.Primary != "category" || !category.Params["slug"].MatchString("outdoor") {
				t.Errorf("category page %+v; want category primary and the default slug pattern", category)
			}
			for _, tile := range c.Tiles {
				if want := tile.Name == "category"; slices.Equal(tile.Params, []string{"slug"}) != want {
					t.Errorf("%s uses parameters %q; want {slug} only in category's url", tile.Name, tile.Params)
				}
			}
		},
		"simulated.yaml": func(t *testing.T, c config.Config) {
			want := defaults()
			want.File, want.Check = c.File, true
			checkConfig(t, c, want)
		},
	}
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples (%v)", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c, err := config.Parse([]string{"-config", path, "-check"}, env(nil))
			if err != nil {
				t.Fatalf("Parse error = %v; want nil", err)
			}
			for _, tile := range c.Tiles {
				checkServed(t, tile)
			}
			check, ok := checks[filepath.Base(path)]
			if !ok {
				t.Fatalf("no check for this example; add one to TestExamples")
			}
			check(t, c)
		})
	}
}

// checkServed fails unless tile is simulated or fetched from a route of
// `vitrine backends -addr localhost:9000`.
func checkServed(t *testing.T, tile config.Tile) {
	t.Helper()
	if tile.URL == "" {
		return
	}
	u, err := url.Parse(tile.URL)
	var routes []string
	for _, d := range append(sim.Builtins(), sim.Extra()...) {
		routes = append(routes, "/"+d.Name)
		if d.Item != nil { // a collection: /NAME/KEY too, the key a slug or a page's parameter
			if dir, key := path.Split(u.Path); dir == "/"+d.Name+"/" && (catalogue.SlugPattern.MatchString(key) || key == "{slug}") {
				routes = append(routes, u.Path)
			}
		}
	}
	if err != nil || u.Host != "localhost:9000" || !slices.Contains(routes, u.Path) {
		t.Errorf("%s: url %q is not a route of vitrine backends on localhost:9000", tile.Name, tile.URL)
	}
}

func names(c config.Config) []string {
	var n []string
	for _, t := range c.Tiles {
		n = append(n, t.Name)
	}
	return n
}
