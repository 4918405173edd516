package tiles

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"
)

// ProductsData is the products tile's content: the featured grid.
type ProductsData struct {
	Title string    `json:"title"`
	Items []Product `json:"items"`
	raw   []byte    // the JSON encoding, when computed once for everyone
}

// MarshalJSON returns the encoding computed once, if there is one.
func (d ProductsData) MarshalJSON() ([]byte, error) {
	if d.raw != nil {
		return d.raw, nil
	}
	type plain ProductsData
	return json.Marshal(plain(d))
}

// featuredCount is how many products the grid shows.
const featuredCount = 12

var productsTile = Def{
	Name:    "products",
	Latency: 80 * time.Millisecond,
	Content: func(c *Catalogue, _ Request) any {
		return memo(c, "products", func() ProductsData {
			return ProductsData{Title: "Featured this week", Items: featured(c)}
		}, func(d *ProductsData, raw []byte) { d.raw = raw })
	},
}

// featured picks the best-rated product of each category in turn, so the grid
// shows the whole range rather than twelve items of one kind.
func featured(c *Catalogue) []Product {
	byCat := map[string][]Product{}
	var cats []string
	for _, p := range c.Products {
		if _, ok := byCat[p.Category]; !ok {
			cats = append(cats, p.Category)
		}
		byCat[p.Category] = append(byCat[p.Category], p)
	}
	for _, ps := range byCat {
		slices.SortStableFunc(ps, func(a, b Product) int { return cmp.Compare(b.Rating, a.Rating) })
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
	return out
}
