package upstream_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"vitrine/tiles"
	"vitrine/upstream"
)

func Example() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=30")
		fmt.Fprintf(w, `{"for":%q}`, r.URL.Query().Get("user"))
	}))
	defer backend.Close()

	recs, err := upstream.New(upstream.Options{
		Name:         "recommendations",
		URL:          backend.URL + "/recommendations",
		Personalised: true, // so the user is forwarded
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := recs.Fetch(context.Background(), tiles.Request{User: "ann"})
	fmt.Println(string(out.Data), out.Status, out.Cache.MaxAge, err)

	backend.Close() // nothing listens there any more
	_, err = recs.Fetch(context.Background(), tiles.Request{})
	fmt.Println(err)
	// Output:
	// {"for":"ann"} ok 30s <nil>
	// recommendations: connection refused
}
