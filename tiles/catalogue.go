package tiles

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sync"
)

//go:embed catalogue.json
var catalogueJSON []byte

// Product is one item of the catalogue.
type Product struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Category string  `json:"category"`
	Price    float64 `json:"price"` // in major units, e.g. 49.9 for EUR 49.90
	// PriceMinor is the price in the currency's minor unit (cents; yen have
	// none): the exact figure, free of float rounding.
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

	// Content that is the same for everyone, computed and encoded once by
	// ParseCatalogue's catalogues (a hand-built one computes it each time).
	memos *sync.Map // content name -> content with its JSON encoding
}

// memo returns the content build makes, computed and JSON-encoded once per
// catalogue for content that is the same for everyone: the page then
// copies bytes instead of encoding the same products on every request.
// setRaw stores the encoding in the content.
func memo[T any](c *Catalogue, name string, build func() T, setRaw func(*T, []byte)) T {
	if c.memos == nil { // a hand-built catalogue: no memo
		return build()
	}
	if v, ok := c.memos.Load(name); ok {
		return v.(T)
	}
	v := build()
	if raw, err := json.Marshal(v); err == nil {
		setRaw(&v, raw)
	}
	actual, _ := c.memos.LoadOrStore(name, v)
	return actual.(T)
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

// DefaultCatalogue returns the catalogue embedded in the binary. It panics if
// the embedded file is broken, which a test catches before any release.
func DefaultCatalogue() *Catalogue {
	c, err := ParseCatalogue(catalogueJSON)
	if err != nil {
		panic(err)
	}
	return c
}

// ParseCatalogue decodes and checks a catalogue in the embedded file's format.
func ParseCatalogue(b []byte) (*Catalogue, error) {
	var c Catalogue
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	if len(c.Products) == 0 || len(c.Banners) == 0 {
		return nil, fmt.Errorf("catalogue: needs products and banners; got %d and %d", len(c.Products), len(c.Banners))
	}
	seen := map[string]bool{}
	for i := range c.Products {
		p := &c.Products[i]
		if p.ID == "" || seen[p.ID] {
			return nil, fmt.Errorf("catalogue: product %d: missing or duplicate id %q", i, p.ID)
		}
		seen[p.ID] = true
		if p.Currency == "" || p.PriceMinor < 0 {
			return nil, fmt.Errorf("catalogue: product %s: bad price %d %q", p.ID, p.PriceMinor, p.Currency)
		}
		p.Price = float64(p.PriceMinor) / math.Pow10(MinorDigits(p.Currency))
	}
	c.memos = &sync.Map{}
	return &c, nil
}
