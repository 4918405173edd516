package rediscache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"

	"vitrine/rediscache"
	"vitrine/resilience"
)

// A replica that misses takes the key's lease, fetches, and stores; a
// second replica then finds the entry without a fetch of its own.
func Example() {
	m, _ := miniredis.Run()
	defer m.Close()
	client, _ := rediscache.Connect(rediscache.Settings{URL: "redis://" + m.Addr() + "/0"})
	cache := rediscache.New(rediscache.Options{Client: client})
	defer cache.Close()
	ctx, now := context.Background(), time.Now()

	first, _ := cache.Claim(ctx, "products", "", now, now.Add(time.Hour), 2*time.Second)
	fmt.Println("first replica: found", first.Found, "took the lease", first.Token != "")
	second, _ := cache.Claim(ctx, "products", "", now, now.Add(time.Hour), 2*time.Second)
	fmt.Println("second replica: found", second.Found, "took the lease", second.Token != "")

	// The first replica's fetch answered; it stores and releases the lease.
	cache.Store(ctx, "products", "", resilience.SharedEntry{
		Data: json.RawMessage(`["kettle"]`), FetchedAt: now,
		FreshUntil: now.Add(30 * time.Second), StaleUntil: now.Add(5 * time.Minute),
	}, first.Token)
	later, _ := cache.Claim(ctx, "products", "", now, now.Add(time.Hour), 2*time.Second)
	fmt.Println("later:", string(later.Entry.Data), "took the lease", later.Token != "")
	fmt.Println(m.Keys())
	// Output:
	// first replica: found false took the lease true
	// second replica: found false took the lease false
	// later: ["kettle"] took the lease false
	// [vitrine:v2:{8:products/0:}]
}
