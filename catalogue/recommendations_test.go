package catalogue_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"vitrine/catalogue"
)

func ids(ps []catalogue.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestRecommend(t *testing.T) {
	c := catalogue.Default()
	byID := map[string]catalogue.Product{}
	for _, p := range c.Products {
		byID[p.ID] = p
	}
	users := []string{"", "alice", "bob", "carol", "dave", "eve", "mallory", "a", "b", "A", "user_1", "user-2", strings.Repeat("z", 64)}
	for _, user := range users {
		t.Run("user="+user, func(t *testing.T) {
			got := c.Recommend(user)
			if n, want := len(got.Items), 6; n != want {
				t.Fatalf("len(Items) = %d; want %d", n, want)
			}
			if got.User != user {
				t.Errorf("User = %q; want %q", got.User, user)
			}
			if got.Reason == "" {
				t.Error("Reason is empty")
			}
			seen := map[string]bool{}
			for _, p := range got.Items {
				if seen[p.ID] {
					t.Errorf("product %s recommended twice: %v", p.ID, ids(got.Items))
				}
				seen[p.ID] = true
				if want, ok := byID[p.ID]; !ok || want != p {
					t.Errorf("item %+v is not the catalogue's product %+v", p, want)
				}
			}
			again := c.Recommend(user)
			if g, w := ids(again.Items), ids(got.Items); !slices.Equal(g, w) || again.Reason != got.Reason {
				t.Errorf("second call = %v (%q); want %v (%q): not deterministic", g, again.Reason, w, got.Reason)
			}
		})
	}

	t.Run("anonymous gets the best rated", func(t *testing.T) {
		got := c.Recommend("")
		byRating := slices.Clone(c.Products)
		slices.SortStableFunc(byRating, func(a, b catalogue.Product) int {
			switch {
			case a.Rating > b.Rating:
				return -1
			case a.Rating < b.Rating:
				return 1
			}
			return 0
		})
		if g, w := ids(got.Items), ids(byRating[:6]); !slices.Equal(g, w) {
			t.Errorf("Items = %v; want the six best rated %v", g, w)
		}
		if g, w := got.Reason, "Most loved by our customers"; g != w {
			t.Errorf("Reason = %q; want %q", g, w)
		}
	})

	t.Run("favourite category first", func(t *testing.T) {
		for _, user := range users[1:] {
			got := c.Recommend(user)
			fav := strings.TrimPrefix(got.Reason, "Because you like ")
			if fav == got.Reason {
				t.Fatalf("%s: Reason = %q; want it to name a category", user, got.Reason)
			}
			for i, p := range got.Items[:3] {
				if p.Category != fav {
					t.Errorf("%s: item %d is %s in %q; want the favourite %q", user, i, p.ID, p.Category, fav)
				}
			}
			for i, p := range got.Items[3:] {
				if p.Category == fav {
					t.Errorf("%s: item %d is %s in the favourite %q; want another category", user, i+3, p.ID, fav)
				}
			}
		}
	})

	t.Run("users differ", func(t *testing.T) {
		pairs := [][2]string{
			{"alice", "bob"}, {"carol", "dave"}, {"eve", "mallory"},
			{"a", "b"}, {"a", "A"}, {"user_1", "user-2"}, {"", "alice"},
		}
		for _, p := range pairs {
			a, b := c.Recommend(p[0]), c.Recommend(p[1])
			if slices.Equal(ids(a.Items), ids(b.Items)) {
				t.Errorf("Recommend(%q) and Recommend(%q) both = %v; want different picks", p[0], p[1], ids(a.Items))
			}
		}
	})

	t.Run("does not reorder the catalogue", func(t *testing.T) {
		before := ids(c.Products)
		c.Recommend("")
		c.Recommend("alice")
		if got := ids(c.Products); !slices.Equal(got, before) {
			t.Errorf("catalogue order after Recommend = %v; want %v", got, before)
		}
	})
}

func TestRecommendSmallCatalogues(t *testing.T) {
	small := func(cats ...string) *catalogue.Catalogue {
		c := &catalogue.Catalogue{}
		for i, cat := range cats {
			c.Products = append(c.Products, catalogue.Product{ID: fmt.Sprint("p", i), Category: cat, Rating: float64(i%5) + 0.5})
		}
		return c
	}
	tests := []struct {
		name string
		c    *catalogue.Catalogue
		want int // items
	}{
		{"empty", small(), 0},
		{"one product", small("books"), 1},
		{"fewer than six", small("books", "home", "books", "audio"), 4},
		{"one category", small("books", "books", "books", "books", "books", "books", "books", "books"), 6},
		{"two categories, one small", small("books", "books", "books", "books", "books", "books", "books", "home"), 6},
	}
	for _, tt := range tests {
		for _, user := range []string{"", "alice", "bob", "carol"} {
			t.Run(tt.name+"/user="+user, func(t *testing.T) {
				got := tt.c.Recommend(user)
				if n := len(got.Items); n != tt.want {
					t.Errorf("len(Items) = %d (%v); want %d", n, ids(got.Items), tt.want)
				}
				seen := map[string]bool{}
				for _, p := range got.Items {
					if seen[p.ID] {
						t.Errorf("product %s recommended twice: %v", p.ID, ids(got.Items))
					}
					seen[p.ID] = true
				}
				if got.User != user {
					t.Errorf("User = %q; want %q", got.User, user)
				}
			})
		}
	}
}
