package aggregator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// greeting is a tile that answers at once.
type greeting struct{}

func (greeting) Name() string { return "greeting" }

func (greeting) Fetch(_ context.Context, req tiles.Request) (tiles.Outcome, error) {
	data, err := json.Marshal("hello " + req.User)
	if err != nil {
		return tiles.Outcome{}, err
	}
	return tiles.Fresh(data), nil
}

// weather is a tile whose backend is down.
type weather struct{}

func (weather) Name() string { return "weather" }

func (weather) Fetch(context.Context, tiles.Request) (tiles.Outcome, error) {
	return tiles.Outcome{}, errors.New("backend unavailable")
}

// A page fetches every tile at once. A tile that fails becomes that tile's
// status and cause; the page itself still succeeds, but is not complete.
func Example() {
	agg, err := aggregator.New([]tiles.Fetcher{greeting{}, weather{}}, aggregator.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	page := agg.Page(context.Background(), tiles.Request{User: "alice"})
	for _, r := range page.Results { // page order
		if r.Cause != nil {
			fmt.Printf("%s %s: %v\n", r.Name, r.Status, r.Cause)
			continue
		}
		fmt.Printf("%s %s: %s\n", r.Name, r.Status, r.Data)
	}
	fmt.Println("complete:", page.Complete)
	// Output:
	// greeting ok: "hello alice"
	// weather error: weather: backend unavailable
	// complete: false
}
