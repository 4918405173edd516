// Package catalogue provides the shop's content shipped in the binary (its
// products and banners) and the selections the built-in tiles make from it:
// the featured grid, the bestsellers and each visitor's recommendations. It
// is pure data: no tile, no fetch, no clock.
package catalogue

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed catalogue.json
var catalogueJSON []byte

// Product is one item of the catalogue.
type Product struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	// PriceMinor is the price in the currency's minor unit (cents; yen have
	// none): exact, where a float would round.
	PriceMinor int64   `json:"price_minor"`
	Currency   string  `json:"currency"` // ISO 4217
	Rating     float64 `json:"rating"`   // 0 to 5
	Image      string  `json:"image"`    // path of the product's picture
}

// Banner is one promotional banner.
type Banner struct {
	ID       string `json:"id"`
	Headline string `json:"headline"`
	Text     string `json:"text"`
	Link     string `json:"link"`
	Theme    string `json:"theme"`
}

// Catalogue is the shop's content that the built-in tiles draw on.
type Catalogue struct {
	Banners  []Banner  `json:"banners"`
	Products []Product `json:"products"`
}

// minorDigits is how many minor-unit digits a currency has (ISO 4217).
var minorDigits = map[string]int{"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0}

// MinorDigits says how many decimal places the currency's prices have.
func MinorDigits(currency string) int {
	if d, ok := minorDigits[currency]; ok {
		return d
	}
	return 2
}

// Default returns the catalogue embedded in the binary. It panics if the
// embedded file is broken, which a test catches before any release.
func Default() *Catalogue {
	c, err := Parse(catalogueJSON)
	if err != nil {
		panic(err)
	}
	return c
}

// Parse decodes and checks a catalogue in the embedded file's format.
func Parse(b []byte) (*Catalogue, error) {
	var c Catalogue
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	if len(c.Products) == 0 || len(c.Banners) == 0 {
		return nil, fmt.Errorf("catalogue: needs products and banners; got %d and %d", len(c.Products), len(c.Banners))
	}
	seen := map[string]bool{}
	for i, p := range c.Products {
		if p.ID == "" || seen[p.ID] {
			return nil, fmt.Errorf("catalogue: product %d: missing or duplicate id %q", i, p.ID)
		}
		seen[p.ID] = true
		if p.Currency == "" || p.PriceMinor < 0 {
			return nil, fmt.Errorf("catalogue: product %s: bad price %d %q", p.ID, p.PriceMinor, p.Currency)
		}
	}
	return &c, nil
}
