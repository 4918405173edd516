package catalogue_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"vitrine/catalogue"
)

func TestDefaultCatalogue(t *testing.T) {
	raw, err := os.ReadFile("catalogue.json")
	if err != nil {
		t.Fatalf("reading the embedded file: %v", err)
	}
	if _, err := catalogue.Parse(raw); err != nil {
		t.Fatalf("ParseCatalogue(catalogue.json) = %v; want nil", err)
	}
	c := catalogue.Default() // panics if the embedded copy is broken

	if got, want := len(c.Products), 24; got < want {
		t.Errorf("len(Products) = %d; want >= %d", got, want)
	}
	if got, want := len(c.Banners), 3; got < want {
		t.Errorf("len(Banners) = %d; want >= %d", got, want)
	}

	currency := regexp.MustCompile(`^[A-Z]{3}$`)
	cats := map[string]int{}
	ids := map[string]bool{}
	for _, p := range c.Products {
		t.Run(p.ID, func(t *testing.T) {
			if ids[p.ID] {
				t.Errorf("id %q appears twice", p.ID)
			}
			ids[p.ID] = true
			if p.Name == "" {
				t.Error("Name is empty")
			}
			if p.Category == "" {
				t.Error("Category is empty")
			}
			if p.Image == "" {
				t.Error("Image is empty")
			}
			if !currency.MatchString(p.Currency) {
				t.Errorf("Currency = %q; want an ISO 4217 code", p.Currency)
			}
			if p.PriceMinor <= 0 {
				t.Errorf("PriceMinor = %d; want > 0", p.PriceMinor)
			}
			if p.Rating < 0 || p.Rating > 5 {
				t.Errorf("Rating = %v; want in [0, 5]", p.Rating)
			}
		})
		cats[p.Category]++
	}
	if got, want := len(cats), 4; got < want {
		t.Errorf("%d categories (%v); want >= %d", got, cats, want)
	}
	for _, b := range c.Banners {
		if b.ID == "" || b.Headline == "" || b.Link == "" {
			t.Errorf("banner %+v: want id, headline and link", b)
		}
	}
}

func TestParseCatalogue(t *testing.T) {
	const banners = `"banners": [{"id": "b1", "headline": "Sale"}]`
	product := func(fields string) string {
		return `{` + banners + `, "products": [` + fields + `]}`
	}
	const ok = `{"id": "p1", "name": "Pan", "category": "kitchen", "price_minor": 4990, "currency": "EUR", "rating": 4.5, "image": "/p1.svg"}`

	t.Run("valid", func(t *testing.T) {
		c, err := catalogue.Parse([]byte(product(ok + `,
			{"id": "p2", "name": "Tea", "category": "kitchen", "price_minor": 1500, "currency": "JPY", "rating": 3}`)))
		if err != nil {
			t.Fatalf("ParseCatalogue = %v; want nil", err)
		}
		if got, want := len(c.Products), 2; got != want {
			t.Fatalf("len(Products) = %d; want %d", got, want)
		}
		if got, want := c.Products[0].PriceMinor, int64(4990); got != want {
			t.Errorf("EUR PriceMinor = %d; want %d", got, want)
		}
		if got, want := c.Products[1].PriceMinor, int64(1500); got != want {
			t.Errorf("JPY PriceMinor = %d; want %d", got, want)
		}
		if got, want := c.Banners[0].Headline, "Sale"; got != want {
			t.Errorf("banner headline = %q; want %q", got, want)
		}
	})

	tests := []struct {
		name string
		in   string
		want string // in the error message
	}{
		{"empty input", ``, "catalogue"},
		{"not JSON", `products: []`, "catalogue"},
		{"truncated", product(ok)[:40], "catalogue"},
		{"trailing garbage", product(ok) + `}`, "catalogue"},
		{"wrong type", `{"banners": 3, "products": []}`, "catalogue"},
		{"empty object", `{}`, "needs products and banners"},
		{"no products", `{` + banners + `, "products": []}`, "needs products and banners"},
		{"no banners", `{"banners": [], "products": [` + ok + `]}`, "needs products and banners"},
		{"missing id", product(`{"name": "Pan", "price_minor": 100, "currency": "EUR"}`), "missing or duplicate id"},
		{"duplicate id", product(ok + `,` + ok), `duplicate id "p1"`},
		{"missing currency", product(`{"id": "p1", "price_minor": 100}`), "bad price"},
		{"negative price", product(`{"id": "p1", "price_minor": -1, "currency": "EUR"}`), "bad price"},
		{"category not a slug", product(`{"id": "p1", "price_minor": 1, "currency": "EUR", "category": "Big Pans"}`),
			`category "Big Pans"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := catalogue.Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseCatalogue(%q) = %+v, nil; want an error", tt.in, c)
			}
			if c != nil {
				t.Errorf("catalogue = %+v; want nil with an error", c)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q; want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestProductJSON: a product is encoded with its exact price in minor
// units only, never as a float that would round.
func TestProductJSON(t *testing.T) {
	p := catalogue.Product{ID: "p1", Name: "Pan", Category: "kitchen", PriceMinor: 4990, Currency: "EUR", Rating: 4.5, Image: "/p1.svg"}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	if _, ok := fields["price"]; ok {
		t.Errorf("Product JSON = %s; want no float \"price\"", b)
	}
	if got, want := fields["price_minor"], 4990.0; got != want {
		t.Errorf("price_minor = %v; want %v", got, want)
	}
	var back catalogue.Product
	if err := json.Unmarshal(b, &back); err != nil || back != p {
		t.Errorf("decoding %s = %+v, %v; want %+v", b, back, err, p)
	}
}

func TestMinorDigits(t *testing.T) {
	tests := []struct {
		currency string
		want     int
	}{
		{"EUR", 2}, {"USD", 2}, {"JPY", 0}, {"XXX", 2}, {"", 2},
	}
	for _, tt := range tests {
		t.Run(tt.currency, func(t *testing.T) {
			if got := catalogue.MinorDigits(tt.currency); got != tt.want {
				t.Errorf("MinorDigits(%q) = %d; want %d", tt.currency, got, tt.want)
			}
		})
	}
}

func TestAllBanners(t *testing.T) {
	c := catalogue.Default()
	got := c.AllBanners()
	if len(got.Items) != len(c.Banners) {
		t.Fatalf("len(Items) = %d; want the catalogue's %d banners", len(got.Items), len(c.Banners))
	}
	for i, b := range got.Items {
		if b != c.Banners[i] {
			t.Errorf("item %d = %+v; want %+v", i, b, c.Banners[i])
		}
	}
}

// TestFeatured: twelve distinct products covering every category, the
// best-rated of each category first.
func TestFeatured(t *testing.T) {
	c := catalogue.Default()
	before := ids(c.Products)
	got := c.Featured()
	if got.Title == "" {
		t.Error("Title is empty")
	}
	if n, want := len(got.Items), 12; n != want {
		t.Fatalf("len(Items) = %d; want %d", n, want)
	}
	best := map[string]catalogue.Product{} // the best-rated of each category
	for _, p := range c.Products {
		if b, ok := best[p.Category]; !ok || p.Rating > b.Rating {
			best[p.Category] = p
		}
	}
	seen := map[string]bool{}
	for i, p := range got.Items {
		if seen[p.ID] {
			t.Errorf("product %s featured twice", p.ID)
		}
		seen[p.ID] = true
		if i < len(best) && p.Rating != best[p.Category].Rating {
			t.Errorf("item %d is %s rated %v; want the best of %q, rated %v", i, p.ID, p.Rating, p.Category, best[p.Category].Rating)
		}
	}
	for cat := range best {
		if !slices.ContainsFunc(got.Items[:len(best)], func(p catalogue.Product) bool { return p.Category == cat }) {
			t.Errorf("category %q missing from the first round of the featured grid %v", cat, ids(got.Items))
		}
	}
	if again := c.Featured(); !slices.Equal(ids(again.Items), ids(got.Items)) {
		t.Errorf("second call = %v; want %v: not deterministic", ids(again.Items), ids(got.Items))
	}
	if got := ids(c.Products); !slices.Equal(got, before) {
		t.Errorf("catalogue order after Featured = %v; want %v", got, before)
	}
}

// TestCategories: the index lists each product category once with its
// count, and each category's page holds exactly its products, best-rated first.
func TestCategories(t *testing.T) {
	c := catalogue.Default()
	index := c.Categories()
	total := 0
	for _, l := range index.Items {
		total += l.Count
		if l.Link != "/c/"+l.Slug {
			t.Errorf("%s: link %q; want /c/%s", l.Slug, l.Link, l.Slug)
		}
	}
	if len(index.Items) < 4 || total != len(c.Products) {
		t.Fatalf("index = %+v; want every category, counts adding up to %d products", index, len(c.Products))
	}
	tests := []struct {
		slug, title string
		ok          bool
	}{
		{"outdoor", "Outdoor", true},
		{"kitchen", "Kitchen", true},
		{"nothing-here", "", false},
		{"", "", false},
		{"Outdoor", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			got, ok := c.Category(tt.slug)
			if ok != tt.ok || got.Title != tt.title {
				t.Fatalf("Category(%q) = %q, %t; want %q, %t", tt.slug, got.Title, ok, tt.title, tt.ok)
			}
			if !ok {
				return
			}
			if len(got.Items) == 0 || got.Slug != tt.slug {
				t.Errorf("Category(%q) = %+v; want its slug and products", tt.slug, got)
			}
			for i, p := range got.Items {
				if p.Category != tt.slug {
					t.Errorf("item %s is in %q; want %q", p.ID, p.Category, tt.slug)
				}
				if i > 0 && p.Rating > got.Items[i-1].Rating {
					t.Errorf("item %s rated %v after %v; want best-rated first", p.ID, p.Rating, got.Items[i-1].Rating)
				}
			}
		})
	}
}
