package rediscache

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.uber.org/goleak"

	"vitrine/servertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder counts what a Cache records, by event name: "hit products",
// "lock won products", "call claim", "call error claim", "up false", ...
type recorder struct {
	mu     sync.Mutex
	counts map[string]int
}

var _ Recorder = (*recorder)(nil)

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[fmt.Sprintf(format, args...)]++
}

func (r *recorder) count(event string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[event]
}

func (r *recorder) Hit(tile string)         { r.add("hit %s", tile) }
func (r *recorder) Miss(tile string)        { r.add("miss %s", tile) }
func (r *recorder) Write(tile string)       { r.add("write %s", tile) }
func (r *recorder) Undecodable(tile string) { r.add("undecodable %s", tile) }
func (r *recorder) Corrupt(tile string)     { r.add("corrupt %s", tile) }
func (r *recorder) Up(up bool)              { r.add("up %t", up) }
func (r *recorder) Lock(tile string, won bool) {
	if won {
		r.add("lock won %s", tile)
	} else {
		r.add("lock lost %s", tile)
	}
}
func (r *recorder) Call(_ context.Context, op string, _ time.Duration, err error) {
	r.add("call %s", op)
	if err != nil {
		r.add("call error %s", op)
	}
}

// fixture is a Cache over a client from Connect, with a settable clock.
type fixture struct {
	c     *Cache
	rec   *recorder
	log   *servertest.Buffer
	clock time.Time
	mu    sync.Mutex
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
}

// t0 is the fixtures' start time, on a whole millisecond as Redis keeps it.
var t0 = time.UnixMilli(1_800_000_000_000)

func newFixture(t *testing.T, s Settings, prefix string) *fixture {
	t.Helper()
	client, err := Connect(s)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{rec: &recorder{}, log: &servertest.Buffer{}, clock: t0}
	f.c = New(Options{
		Client: client, Prefix: prefix, Timeout: s.Timeout, Recorder: f.rec,
		Logger: slog.New(slog.NewTextHandler(f.log, nil)),
	})
	f.c.now = f.now
	t.Cleanup(func() { f.c.Close() })
	return f
}

// miniFixture is a fixture over a fresh miniredis whose clock is the
// fixture's.
func miniFixture(t *testing.T) (*fixture, *miniredis.Miniredis) {
	t.Helper()
	m := miniredis.RunT(t)
	m.SetTime(t0)
	return newFixture(t, Settings{URL: "redis://" + m.Addr() + "/0", Timeout: time.Second}, ""), m
}
