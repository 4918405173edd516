// Package catalogue provides the shop's content shipped in the binary (its
// products and banners) and the selections the built-in tiles make from it.
// It is pure data: no tile, no fetch, no clock.
package catalogue

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

//go:embed catalogue.json
var catalogueJSON []byte

// Product is one item of the catalogue.
type Product struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	// PriceMinor is the price in the currency's minor unit (cents; yen have
	// none).
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

// Default returns the catalogue embedded in the binary; it panics if the
// embedded file is broken.
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
		if !SlugPattern.MatchString(p.Category) {
			return nil, fmt.Errorf("catalogue: product %s: category %q is not 1 to 64 of a-z, 0-9 and -", p.ID, p.Category)
		}
	}
	return &c, nil
}

// Banners is the banners tile's content.
type Banners struct {
	Items []Banner `json:"items"`
}

// Products is the products tile's content: the featured grid.
type Products struct {
	Title string    `json:"title"`
	Items []Product `json:"items"`
}

// Recommendations is the recommendations tile's content.
type Recommendations struct {
	User   string    `json:"user,omitempty"`
	Reason string    `json:"reason"`
	Items  []Product `json:"items"`
}

// SlugPattern is what a category's name is: it names the category's page
// (/c/SLUG) and its backend resource (/category/SLUG) as it is.
var SlugPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// Category is a category tile's content: the shape of Products, so that a
// page draws it as the grid, and its slug.
type Category struct {
	Slug  string    `json:"slug"`
	Title string    `json:"title"`
	Items []Product `json:"items"`
}

// CategoryLink is one entry of the category index.
type CategoryLink struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
	Count int    `json:"count"` // how many products it has
	Link  string `json:"link"`  // its page: /c/SLUG, the path of the contract's category pages
}

// Categories is the category index: every category, in the order of its
// first product in the catalogue.
type Categories struct {
	Title string         `json:"title"`
	Items []CategoryLink `json:"items"`
}

const (
	featuredCount    = 12 // how many products the grid shows
	recommendedCount = 6  // how many products a visitor is recommended
)

// AllBanners returns the banners tile's content.
func (c *Catalogue) AllBanners() Banners { return Banners{Items: c.Banners} }

// Categories returns the category index. The categories are those of the
// products, each titled after its slug.
func (c *Catalogue) Categories() Categories {
	var out []CategoryLink
	for _, p := range c.Products {
		i := slices.IndexFunc(out, func(l CategoryLink) bool { return l.Slug == p.Category })
		if i < 0 {
			i, out = len(out), append(out, CategoryLink{Slug: p.Category, Title: title(p.Category),
				Link: "/c/" + p.Category})
		}
		out[i].Count++
	}
	return Categories{Title: "Shop by category", Items: out}
}

// Category returns the category slug's page: its best-rated products first,
// at most as many as the featured grid; false when no product has it.
func (c *Catalogue) Category(slug string) (Category, bool) {
	var ps []Product
	for _, p := range c.Products {
		if p.Category == slug {
			ps = append(ps, p)
		}
	}
	if ps == nil {
		return Category{}, false
	}
	slices.SortStableFunc(ps, byRating)
	return Category{Slug: slug, Title: title(slug), Items: ps[:min(featuredCount, len(ps))]}, true
}

// title is a slug as a title: "garden-tools" is "Garden tools".
func title(slug string) string {
	s := strings.ReplaceAll(slug, "-", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// Featured picks the best-rated product of each category in turn, so the
// grid shows the whole range rather than twelve items of one kind.
func (c *Catalogue) Featured() Products {
	byCat := map[string][]Product{}
	var cats []string
	for _, p := range c.Products {
		if _, ok := byCat[p.Category]; !ok {
			cats = append(cats, p.Category)
		}
		byCat[p.Category] = append(byCat[p.Category], p)
	}
	for _, ps := range byCat {
		slices.SortStableFunc(ps, byRating)
	}
	out := make([]Product, 0, featuredCount)
	for round := 0; len(out) < featuredCount; round++ {
		added := false
		for _, cat := range cats {
			if ps := byCat[cat]; round < len(ps) && len(out) < featuredCount {
				out = append(out, ps[round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return Products{Title: "Featured this week", Items: out}
}

// Recommend returns user's picks, a function of the name: three of the
// best-rated products of the user's favourite category (from a hash of the
// name), then a user-specific shuffle of the rest. An anonymous visitor
// ("") gets the bestsellers.
func (c *Catalogue) Recommend(user string) Recommendations {
	if user == "" || len(c.Products) == 0 { // no products: no category to favour
		return Recommendations{User: user, Reason: "Most loved by our customers", Items: c.bestRated()}
	}
	fav := c.favourite(user)
	rs := rank(c.Products, user, fav)
	// Three from the favourite category, the rest from the shuffled others,
	// so picks differ between users even when they share a favourite.
	picks := make([]Product, 0, recommendedCount)
	taken := make([]bool, len(rs))
	take := func(want func(r ranked) bool) {
		for i, r := range rs {
			if !taken[i] && len(picks) < recommendedCount && want(r) {
				picks, taken[i] = append(picks, *r.p), true
			}
		}
	}
	take(func(r ranked) bool { return r.fav && len(picks) < recommendedCount/2 })
	take(func(r ranked) bool { return !r.fav })
	// Too few other products (a small catalogue): top up with favourites.
	take(func(r ranked) bool { return r.fav })
	return Recommendations{User: user, Reason: "Because you like " + fav, Items: picks}
}

// favourite is user's favourite category, picked by a hash of the name.
func (c *Catalogue) favourite(user string) string {
	var cats []string
	for _, p := range c.Products {
		if !slices.Contains(cats, p.Category) {
			cats = append(cats, p.Category)
		}
	}
	return cats[fnv64(user)%uint64(len(cats))]
}

// ranked is a product with its sort keys, computed once per product.
type ranked struct {
	p   *Product
	fav bool
	key uint64
}

// rank orders products for user: the favourite category first, best-rated
// first, then the others in a user-specific shuffle.
func rank(products []Product, user, fav string) []ranked {
	rs := make([]ranked, len(products))
	for i := range products {
		p := &products[i]
		rs[i] = ranked{p: p, fav: p.Category == fav, key: fnv64(user, "/", p.ID)}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if a.fav != b.fav {
			if a.fav {
				return -1
			}
			return 1
		}
		if a.fav {
			if c := byRating(*a.p, *b.p); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.key, b.key)
	})
	return rs
}

// bestRated returns the catalogue's best-rated products.
func (c *Catalogue) bestRated() []Product {
	ps := slices.Clone(c.Products)
	slices.SortStableFunc(ps, byRating)
	return ps[:min(recommendedCount, len(ps))]
}

// byRating orders products best-rated first.
func byRating(a, b Product) int { return cmp.Compare(b.Rating, a.Rating) }

// fnv64 hashes the concatenation of parts with FNV-1a, without allocating.
func fnv64(parts ...string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, s := range parts {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
	}
	return h
}
