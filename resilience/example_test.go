package resilience_test

import (
	"context"
	"fmt"

	"vitrine/resilience"
	"vitrine/tiles"
)

// A recommendations backend that fails every fetch still gives the shopper
// something: with the default policy and nothing cached, the bestsellers.
func ExampleWrap() {
	cat := tiles.DefaultCatalogue()
	var def tiles.Def
	for _, d := range tiles.Builtins() {
		if d.Name == "recommendations" {
			def = d
		}
	}
	failing := tiles.Simulate(def, cat, 0, 1) // fails every fetch, at once
	tile := resilience.Wrap(failing, resilience.DefaultPolicy(def, cat), resilience.Options{})
	defer tile.Close()

	data, err := tile.Fetch(context.Background(), tiles.Request{User: "ann"})
	served := data.(*tiles.Served)
	fmt.Println(served.Status, "-", served.Data.(tiles.RecommendationsData).Reason, "-", err)
	fmt.Println("because:", served.Cause)
	// Output:
	// fallback - Most loved by our customers - <nil>
	// because: recommendations: backend unavailable (simulated failure)
}
