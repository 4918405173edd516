package tiles

import (
	"cmp"
	"encoding/json"

	"slices"
	"time"
)

// RecommendationsData is the recommendations tile's content.
type RecommendationsData struct {
	User   string    `json:"user,omitempty"`
	Reason string    `json:"reason"`
	Items  []Product `json:"items"`
	raw    []byte    // the JSON encoding, when computed once for everyone
}

// MarshalJSON returns the encoding computed once, if there is one.
func (d RecommendationsData) MarshalJSON() ([]byte, error) {
	if d.raw != nil {
		return d.raw, nil
	}
	type plain RecommendationsData
	return json.Marshal(plain(d))
}

// recommendedCount is how many products a visitor is recommended.
const recommendedCount = 6

var recommendationsTile = Def{
	Name:         "recommendations",
	Latency:      120 * time.Millisecond,
	Personalised: true,
	Content: func(c *Catalogue, req Request) any {
		return Recommend(c, req.User)
	},
}

// Recommend returns user's picks: a deterministic function of the user name
// over the catalogue. Each user has a favourite category (from a hash of the
// name) and gets its best-rated products first, then a stable, user-specific
// shuffle of the rest; an anonymous visitor gets the best-rated products.
func Recommend(c *Catalogue, user string) RecommendationsData {
	if user == "" || len(c.Products) == 0 { // no products: no category to favour
		anon := func() RecommendationsData {
			return RecommendationsData{Reason: "Most loved by our customers", Items: bestRated(c)}
		}
		if user != "" {
			d := anon()
			d.User = user
			return d
		}
		return memo(c, "recommendations", anon, func(d *RecommendationsData, raw []byte) { d.raw = raw })
	}
	seed := fnv64(user)
	var cats []string
	for _, p := range c.Products {
		if !slices.Contains(cats, p.Category) {
			cats = append(cats, p.Category)
		}
	}
	fav := cats[seed%uint64(len(cats))]
	// The sort keys are computed once per product, not once per comparison.
	type ranked struct {
		p   *Product
		fav bool
		key uint64
	}
	rs := make([]ranked, len(c.Products))
	for i := range c.Products {
		p := &c.Products[i]
		rs[i] = ranked{p: p, fav: p.Category == fav, key: fnv64(user, "/", p.ID)}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if a.fav != b.fav {
			if a.fav {
				return -1
			}
			return 1
		}
		if a.fav { // both favourites: best first
			if c := cmp.Compare(b.p.Rating, a.p.Rating); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.key, b.key)
	})
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
	return RecommendationsData{User: user, Reason: "Because you like " + fav, Items: picks}
}

// bestRated returns the catalogue's best-rated products: the anonymous
// visitor's recommendations.
func bestRated(c *Catalogue) []Product {
	ps := slices.Clone(c.Products)
	slices.SortStableFunc(ps, func(a, b Product) int { return cmp.Compare(b.Rating, a.Rating) })
	return ps[:min(recommendedCount, len(ps))]
}

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
