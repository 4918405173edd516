package memory

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const mib = 1 << 20

func TestShouldReclaim(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur Sample
		want      bool
	}{
		{"quiet after a flood, heap mostly garbage", Sample{Allocated: 900 * mib}, Sample{Allocated: 901 * mib, Heap: 110 * mib, Live: 30 * mib}, true},
		{"still flooding", Sample{Allocated: 900 * mib}, Sample{Allocated: 2000 * mib, Heap: 110 * mib, Live: 30 * mib}, false},
		{"quiet, heap near its live data", Sample{Allocated: 900 * mib}, Sample{Allocated: 900 * mib, Heap: 50 * mib, Live: 30 * mib}, false},
		{"idle from the start", Sample{}, Sample{Allocated: 1 * mib, Heap: 8 * mib, Live: 4 * mib}, false},
		{"a few pages a second over a big heap", Sample{Allocated: 100 * mib}, Sample{Allocated: 110 * mib, Heap: 100 * mib, Live: 20 * mib}, true},
		{"just under the quiet bound", Sample{}, Sample{Allocated: Quiet - 1, Heap: 100 * mib, Live: 20 * mib}, true},
		{"at the quiet bound", Sample{}, Sample{Allocated: Quiet, Heap: 100 * mib, Live: 20 * mib}, false},
		{"slack exactly", Sample{}, Sample{Heap: 20*mib + Slack, Live: 20 * mib}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldReclaim(tt.prev, tt.cur); got != tt.want {
				t.Errorf("ShouldReclaim(%+v, %+v) = %t; want %t", tt.prev, tt.cur, got, tt.want)
			}
		})
	}
}

// TestReclaim plays a flood and the quiet after it: no reclaim while the
// flood allocates, one at the first quiet look (so within two intervals of
// the flood's end), none after it (the heap is back near its live data),
// and Reclaim returns when its context ends.
func TestReclaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu              sync.Mutex // the runtime's counters, as read by reclaim
			allocated, heap uint64     = 0, 10 * mib
			freed           []time.Duration
		)
		const live = 20 * mib
		start := time.Now()
		read := func() Sample {
			mu.Lock()
			defer mu.Unlock()
			return Sample{Allocated: allocated, Heap: heap, Live: live}
		}
		free := func() {
			mu.Lock()
			defer mu.Unlock()
			freed = append(freed, time.Since(start))
			heap = live + 2*mib // what a collection and FreeOSMemory leave
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			reclaim(ctx, 10*time.Second, read, free)
			close(done)
		}()
		// A 25 s flood from 0.5 s (off the looks' beat): 3 GB allocated,
		// the heap at 120 MiB.
		time.Sleep(500 * time.Millisecond)
		for range 25 {
			mu.Lock()
			allocated += 120 * mib
			heap = 120 * mib
			mu.Unlock()
			time.Sleep(time.Second)
		}
		// Quiet for a minute.
		time.Sleep(time.Minute)
		cancel()
		<-done
		// The flood ends at 25.5 s; the look at 30 s still saw it allocate
		// since 20 s; the one at 40 s is the first quiet one.
		if len(freed) != 1 || freed[0] != 40*time.Second {
			t.Errorf("reclaimed at %v; want once, at the first quiet look (40s)", freed)
		}
	})
}
