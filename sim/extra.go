package sim

import (
	"encoding/json"
	"time"

	"vitrine/catalogue"
	"vitrine/tiles"
)

// Extra returns the tiles that `vitrine backends` serves besides the
// built-in ones: tiles the Vitrine server does not know, which a page gets
// from its configuration alone (examples/fourth-tile.yaml). Today one: a
// shop notice, drawn by the page's generic view.
func Extra() []tiles.Def {
	return []tiles.Def{{Name: "notice", Latency: 30 * time.Millisecond, Content: notice}}
}

// notice is the shop's current notice: constant, like every tile's content
// a function of its inputs only.
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
