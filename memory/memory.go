// Package memory keeps the process's memory near what it needs: a high GC
// percent for throughput, a soft memory limit to cap the heap's growth in
// a flood, and Reclaim to return the memory once the process is quiet.
package memory

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Defaults, each overridden by its standard variable (GOGC, GOMEMLIMIT).
const (
	// GCPercent: a page makes only short-lived garbage over a small live
	// heap, so collecting less often buys throughput.
	GCPercent = 400
	// Limit is the soft memory limit: high enough that a flood does not
	// make the collector run often, low enough to bound what it leaves.
	Limit = 96 << 20
	// ReclaimEvery is how often Reclaim looks.
	ReclaimEvery = 10 * time.Second
)

// Tune sets the GC percent and the soft memory limit to Vitrine's
// defaults, unless getenv gives GOGC or GOMEMLIMIT. Call it from main.
func Tune(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(Limit)
	}
}

// Sample is what Reclaim reads of the runtime.
type Sample struct {
	Allocated uint64 // bytes allocated since the process started
	Heap      uint64 // heap memory held from the system: objects, unused and free
	Live      uint64 // live heap after the last collection
}

// read takes a Sample from runtime/metrics.
func read() Sample {
	s := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return Sample{Allocated: v(0), Heap: v(1) + v(2) + v(3), Live: v(4)}
}

// Quiet and Slack decide when Reclaim acts.
const (
	// Quiet is the most a process may allocate between two looks and still
	// count as quiet: a few pages a second, not a flood.
	Quiet = 64 << 20
	// Slack is how far the heap must exceed its live data for a reclaim to
	// be worth a collection.
	Slack = 32 << 20
)

// ShouldReclaim reports whether, going from prev to cur, the process was
// quiet while holding a heap well beyond its live data.
func ShouldReclaim(prev, cur Sample) bool {
	return cur.Allocated-prev.Allocated < Quiet && cur.Heap > cur.Live+Slack
}

// Reclaim looks every interval until ctx ends, and when ShouldReclaim,
// collects and returns the free memory to the system (debug.FreeOSMemory).
func Reclaim(ctx context.Context, interval time.Duration) {
	reclaim(ctx, interval, read, debug.FreeOSMemory)
}

// reclaim is Reclaim with its reading and freeing given, for tests.
func reclaim(ctx context.Context, interval time.Duration, read func() Sample, free func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	prev := read()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := read()
		if ShouldReclaim(prev, cur) {
			free()
			cur = read()
		}
		prev = cur
	}
}
