package tiles_test

import (
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"vitrine/tiles"
)

func TestDefaultCatalogue(t *testing.T) {
	raw, err := os.ReadFile("catalogue.json")
	if err != nil {
		t.Fatalf("reading the embedded file: %v", err)
	}
	if _, err := tiles.ParseCatalogue(raw); err != nil {
		t.Fatalf("ParseCatalogue(catalogue.json) = %v; want nil", err)
	}
	c := tiles.DefaultCatalogue() // panics if the embedded copy is broken

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
			if p.Price <= 0 || p.PriceMinor <= 0 {
				t.Errorf("Price = %v (minor %d); want > 0", p.Price, p.PriceMinor)
			}
			if got, want := p.Price, float64(p.PriceMinor)/math.Pow10(tiles.MinorDigits(p.Currency)); got != want {
				t.Errorf("Price = %v; want %v (from price_minor %d %s)", got, want, p.PriceMinor, p.Currency)
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
		c, err := tiles.ParseCatalogue([]byte(product(ok + `,
			{"id": "p2", "name": "Tea", "category": "kitchen", "price_minor": 1500, "currency": "JPY", "rating": 3}`)))
		if err != nil {
			t.Fatalf("ParseCatalogue = %v; want nil", err)
		}
		if got, want := len(c.Products), 2; got != want {
			t.Fatalf("len(Products) = %d; want %d", got, want)
		}
		if got, want := c.Products[0].Price, 49.9; got != want {
			t.Errorf("EUR price = %v; want %v", got, want)
		}
		if got, want := c.Products[1].Price, 1500.0; got != want {
			t.Errorf("JPY price = %v; want %v", got, want)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tiles.ParseCatalogue([]byte(tt.in))
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

func TestMinorDigits(t *testing.T) {
	tests := []struct {
		currency string
		want     int
	}{
		{"EUR", 2}, {"USD", 2}, {"JPY", 0}, {"XXX", 2}, {"", 2},
	}
	for _, tt := range tests {
		t.Run(tt.currency, func(t *testing.T) {
			if got := tiles.MinorDigits(tt.currency); got != tt.want {
				t.Errorf("MinorDigits(%q) = %d; want %d", tt.currency, got, tt.want)
			}
		})
	}
}
