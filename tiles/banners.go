package tiles

import "time"

// BannersData is the banners tile's content.
type BannersData struct {
	Items []Banner `json:"items"`
}

var bannersTile = Def{
	Name:    "banners",
	Latency: 40 * time.Millisecond,
	Content: func(c *Catalogue, _ Request) any {
		return BannersData{Items: c.Banners}
	},
}
