package resilience_test

import (
	"context"
	"encoding/json"
	"fmt"

	"vitrine/catalogue"
	"vitrine/resilience"
	"vitrine/sim"
	"vitrine/tiles"
)

// A recommendations backend that fails every fetch still gives the shopper
// something: with the default policy, the bestsellers as its fallback and
// nothing cached, the bestsellers.
func ExampleWrap() {
	cat := catalogue.Default()
	var def sim.Def
	for _, d := range sim.Builtins() {
		if d.Name == "recommendations" {
			def = d
		}
	}
	failing, err := sim.New(def, cat, sim.Backend{Fail: 1}) // fails every fetch, at once
	if err != nil {
		panic(err)
	}
	bestsellers, err := def.Content(cat, tiles.Request{}) // what an anonymous visitor sees
	if err != nil {
		panic(err)
	}
	p := resilience.DefaultPolicy(def.Latency, def.Personalised)
	p.Fallback = bestsellers
	tile := resilience.Wrap(failing, p, resilience.Options{})
	defer tile.Close()

	out, err := tile.Fetch(context.Background(), tiles.Request{User: "ann"})
	var recs catalogue.Recommendations
	if err := json.Unmarshal(out.Data, &recs); err != nil {
		panic(err)
	}
	fmt.Println(out.Status, "-", recs.Reason, "-", err)
	fmt.Println("because:", out.Cause)
	// Output:
	// fallback - Most loved by our customers - <nil>
	// because: recommendations: backend unavailable (simulated failure)
}
