package tiles

import (
	"encoding/json"
	"time"
)

// BannersData is the banners tile's content.
type BannersData struct {
	Items []Banner `json:"items"`
	raw   []byte   // the JSON encoding, when computed once for everyone
}

// MarshalJSON returns the encoding computed once, if there is one.
func (d BannersData) MarshalJSON() ([]byte, error) {
	if d.raw != nil {
		return d.raw, nil
	}
	type plain BannersData
	return json.Marshal(plain(d))
}

var bannersTile = Def{
	Name:    "banners",
	Latency: 40 * time.Millisecond,
	Content: func(c *Catalogue, _ Request) any {
		return memo(c, "banners", func() BannersData { return BannersData{Items: c.Banners} }, func(d *BannersData, raw []byte) { d.raw = raw })
	},
}
