package tiles

import (
	"cmp"
	"hash/fnv"
	"slices"
	"time"
)

// RecommendationsData is the recommendations tile's content.
type RecommendationsData struct {
	User   string    `json:"user,omitempty"`
	Reason string    `json:"reason"`
	Items  []Product `json:"items"`
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
	ps := slices.Clone(c.Products)
	if user == "" || len(ps) == 0 { // no products: no category to favour
		slices.SortStableFunc(ps, func(a, b Product) int { return cmp.Compare(b.Rating, a.Rating) })
		return RecommendationsData{User: user, Reason: "Most loved by our customers", Items: ps[:min(recommendedCount, len(ps))]}
	}
	seed := fnv64(user)
	var cats []string
	for _, p := range ps {
		if !slices.Contains(cats, p.Category) {
			cats = append(cats, p.Category)
		}
	}
	fav := cats[seed%uint64(len(cats))]
	key := func(p Product) uint64 { return fnv64(user + "/" + p.ID) }
	slices.SortStableFunc(ps, func(a, b Product) int {
		if fa, fb := a.Category == fav, b.Category == fav; fa != fb {
			if fa {
				return -1
			}
			return 1
		}
		if a.Category == fav { // both favourites: best first
			if c := cmp.Compare(b.Rating, a.Rating); c != 0 {
				return c
			}
		}
		return cmp.Compare(key(a), key(b))
	})
	// Three from the favourite category, the rest from the shuffled others,
	// so picks differ between users even when they share a favourite.
	picks := make([]Product, 0, recommendedCount)
	for _, p := range ps {
		if p.Category == fav && len(picks) < recommendedCount/2 {
			picks = append(picks, p)
		}
	}
	for _, p := range ps {
		if p.Category != fav && len(picks) < recommendedCount {
			picks = append(picks, p)
		}
	}
	// Too few other products (a small catalogue): top up with favourites.
	for _, p := range ps {
		if p.Category == fav && len(picks) < recommendedCount && !slices.ContainsFunc(picks, func(q Product) bool { return q.ID == p.ID }) {
			picks = append(picks, p)
		}
	}
	return RecommendationsData{User: user, Reason: "Because you like " + fav, Items: picks}
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
