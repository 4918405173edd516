package sim

import (
	"encoding/json"
	"slices"
	"time"

	"vitrine/catalogue"
	"vitrine/tiles"
)

// Def defines a tile the simulator serves: its name, the latency its
// simulated backend has by default, and the content it serves from the
// catalogue.
type Def struct {
	Name    string
	Latency time.Duration
	// Personalised tiles depend on Request.User (and are cached per user).
	Personalised bool
	// Content is the tile's data for req: a pure function of the catalogue
	// and the request, so equal requests get equal data.
	Content func(c *catalogue.Catalogue, req tiles.Request) (json.RawMessage, error)
}

// builtins lists the built-in tiles in page order. A new tile is one more
// Def here.
var builtins = []Def{
	{Name: "banners", Latency: 40 * time.Millisecond, Content: banners},
	{Name: "products", Latency: 80 * time.Millisecond, Content: products},
	{Name: "recommendations", Latency: 120 * time.Millisecond, Personalised: true, Content: recommendations},
}

func banners(c *catalogue.Catalogue, _ tiles.Request) (json.RawMessage, error) {
	return json.Marshal(c.AllBanners())
}

func products(c *catalogue.Catalogue, _ tiles.Request) (json.RawMessage, error) {
	return json.Marshal(c.Featured())
}

func recommendations(c *catalogue.Catalogue, req tiles.Request) (json.RawMessage, error) {
	return json.Marshal(c.Recommend(req.User))
}

// Builtins returns the built-in tile definitions in page order.
func Builtins() []Def { return slices.Clone(builtins) }

// Names returns the names of the built-in tiles in page order.
func Names() []string {
	names := make([]string, len(builtins))
	for i, d := range builtins {
		names[i] = d.Name
	}
	return names
}

// Extra returns the tiles that `vitrine backends` serves besides the
// built-in ones, which a page gets from its configuration alone
// (examples/fourth-tile.yaml): a shop notice.
func Extra() []Def {
	return []Def{{Name: "notice", Latency: 30 * time.Millisecond, Content: notice}}
}

// notice is the shop's current notice.
func notice(*catalogue.Catalogue, tiles.Request) (json.RawMessage, error) {
	return json.Marshal(struct {
		Title string   `json:"title"`
		Text  string   `json:"text"`
		Until string   `json:"until"`
		Terms []string `json:"terms"`
	}{
		Title: "Free delivery this week",
		Text:  "Every order ships free until Sunday.",
		Until: "2026-12-06",
		Terms: []string{"Mainland addresses", "No minimum basket"},
	})
}
