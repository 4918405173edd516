package resilience

import (
	"context"
	"testing"
	"time"

	"vitrine/tiles"
)

// BenchmarkCachedFetch measures the hit path: a fresh entry served from the
// cache, which is what nearly every request of a busy homepage takes.
func BenchmarkCachedFetch(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    Policy
	}{
		{"shared", Policy{TTL: time.Hour}},
		{"personalised", Policy{TTL: time.Hour, Personalised: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tile := Wrap(newBackend(0, "v").fetcher("banners"), bc.p, Options{})
			defer tile.Close()
			ctx, req := context.Background(), tiles.Request{User: "ann"}
			if _, err := tile.Fetch(ctx, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tile.Fetch(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCachedFetchParallel is the hit path under contention, as when
// many pages are served at once.
func BenchmarkCachedFetchParallel(b *testing.B) {
	tile := Wrap(newBackend(0, "v").fetcher("banners"), Policy{TTL: time.Hour}, Options{})
	defer tile.Close()
	ctx, req := context.Background(), tiles.Request{}
	if _, err := tile.Fetch(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tile.Fetch(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
