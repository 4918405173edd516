package tiles

import (
	"encoding/json"
	"slices"
	"time"

	"vitrine/catalogue"
)

// Def defines a built-in tile: its name, the latency its simulated backend
// has by default, and the content it serves from the catalogue.
type Def struct {
	Name    string
	Latency time.Duration
	// Personalised tiles depend on Request.User (and are cached per user).
	Personalised bool
	// Content is the tile's data for req: a pure function of the catalogue
	// and the request, so equal requests get equal data.
	Content func(c *catalogue.Catalogue, req Request) (json.RawMessage, error)
}

// builtins lists the built-in tiles in page order. A new tile is one more
// Def here.
var builtins = []Def{
	{Name: "banners", Latency: 40 * time.Millisecond, Content: func(c *catalogue.Catalogue, _ Request) (json.RawMessage, error) {
		return json.Marshal(c.AllBanners())
	}},
	{Name: "products", Latency: 80 * time.Millisecond, Content: func(c *catalogue.Catalogue, _ Request) (json.RawMessage, error) {
		return json.Marshal(c.Featured())
	}},
	{Name: "recommendations", Latency: 120 * time.Millisecond, Personalised: true, Content: func(c *catalogue.Catalogue, req Request) (json.RawMessage, error) {
		return json.Marshal(c.Recommend(req.User))
	}},
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
