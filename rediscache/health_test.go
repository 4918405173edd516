package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"vitrine/servertest"
)

// silentServer accepts connections and never answers: a Redis that hangs.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func claim(c *Cache, ctx context.Context) error {
	_, err := c.Claim(ctx, "products", "", t0, t0.Add(time.Hour), lease)
	return err
}

func TestACallGivesUpAtItsTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	f := newFixture(t, Settings{URL: "redis://" + silentServer(t), Timeout: timeout}, "")
	start := time.Now()
	err := claim(f.c, context.Background())
	// Generous bound for a busy machine; go-redis's own default would be
	// its 3s read timeout, and without a deadline, forever.
	if elapsed := time.Since(start); err == nil || elapsed > 20*timeout {
		t.Fatalf("Claim against a silent server: %v after %v; want an error within about %v", err, elapsed, timeout)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("first failure: %v; want a Redis error, not ErrUnavailable", err)
	}
	if got := f.rec.count("call error claim"); got != 1 {
		t.Errorf("failed calls recorded: %d; want 1", got)
	}
	if !f.c.State().Up {
		t.Error("one failure took the tier down")
	}
}

func TestTheTierGoesDownAfterThreeFailuresAndProbesUntilBack(t *testing.T) {
	f, m := miniFixture(t)
	ctx := context.Background()
	if err := claim(f.c, ctx); err != nil {
		t.Fatal(err)
	}
	m.Close()
	for i := range failuresToDown {
		if err := claim(f.c, ctx); err == nil || errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d with Redis closed: %v; want a Redis error", i+1, err)
		}
	}
	if st := f.c.State(); st.Up || st.Err == "" || !st.Since.Equal(t0) {
		t.Fatalf("State after %d failures = %+v; want down since t0 with the error", failuresToDown, st)
	}
	sent := f.rec.count("call claim")
	fastFail := func(when string) {
		t.Helper()
		if err := claim(f.c, ctx); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%s: %v; want ErrUnavailable", when, err)
		}
		if got := f.rec.count("call claim"); got != sent {
			t.Fatalf("%s: %d calls sent; want %d (no round trip)", when, got, sent)
		}
	}
	fastFail("down")
	f.advance(probeEvery - time.Millisecond)
	fastFail("down, before the probe is due")
	f.advance(time.Millisecond)
	if err := claim(f.c, ctx); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("probe with Redis closed: %v; want a Redis error", err)
	}
	sent++
	fastFail("after a failed probe")
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	f.advance(probeEvery)
	if err := claim(f.c, ctx); err != nil {
		t.Fatalf("probe with Redis back: %v", err)
	}
	if st := f.c.State(); !st.Up || !st.Since.Equal(t0.Add(2*probeEvery)) {
		t.Errorf("State after the probe = %+v; want up since the probe", st)
	}
	for event, want := range map[string]int{"up false": 1, "up true": 2} {
		if got := f.rec.count(event); got != want {
			t.Errorf("%s recorded %d times; want %d", event, got, want)
		}
	}
	for msg, want := range map[string]int{"redis unreachable": 1, "redis reachable again": 1} {
		if got := strings.Count(f.log.String(), msg); got != want {
			t.Errorf("logged %q %d times; want %d", msg, got, want)
		}
	}
}

func TestWhatIsNotARedisFailureKeepsTheTierUp(t *testing.T) {
	silent := func(timeout time.Duration) func(t *testing.T) *fixture {
		return func(t *testing.T) *fixture {
			return newFixture(t, Settings{URL: "redis://" + silentServer(t), Timeout: timeout}, "")
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) *fixture
		ctx   func() (context.Context, context.CancelFunc)
	}{
		// go-redis notices a cancellation only at the call's deadline
		// (it sets socket deadlines; it does not watch ctx.Done).
		{"the caller cancels", silent(300 * time.Millisecond), func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}},
		{"the caller's deadline passes", silent(time.Minute), func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}},
		{"Redis answers with an error", func(t *testing.T) *fixture {
			m := miniredis.RunT(t)
			m.SetError("OOM command not allowed when used memory > 'maxmemory'")
			return newFixture(t, Settings{URL: "redis://" + m.Addr()}, "")
		}, func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.setup(t)
			for i := range failuresToDown {
				ctx, cancel := tc.ctx()
				err := claim(f.c, ctx)
				cancel()
				if err == nil {
					t.Fatalf("call %d succeeded; want an error", i+1)
				}
			}
			if got := f.rec.count("call claim"); got != failuresToDown {
				t.Errorf("calls sent: %d; want %d", got, failuresToDown)
			}
			if !f.c.State().Up {
				t.Errorf("State = %+v; want up", f.c.State())
			}
		})
	}
}

// A real redis-server stopped and started again on its port is used again
// without restarting the client: go-redis reconnects, the scripts are
// loaded again (EVALSHA falls back to EVAL), and the tier comes back up.
func TestTheTierReturnsAfterRedisServerRestarts(t *testing.T) {
	r := servertest.Redis(t)
	f := newFixture(t, Settings{URL: r.URL(), Timeout: 200 * time.Millisecond}, "")
	ctx := context.Background()
	mustStore(t, f.c, "", entryAt(t0, `"before"`), "")
	r.Stop()
	for range failuresToDown {
		claim(f.c, ctx)
	}
	if f.c.State().Up {
		t.Fatal("tier up with redis-server stopped")
	}
	r.Start()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		f.advance(probeEvery)
		if err = claim(f.c, ctx); err == nil {
			break
		}
	}
	if err != nil || !f.c.State().Up {
		t.Fatalf("after redis-server restarted: %v, State %+v; want the tier back up", err, f.c.State())
	}
	mustStore(t, f.c, "", entryAt(t0, `"after"`), "")
	if cl := mustClaim(t, f.c, "", t0); string(cl.Entry.Data) != `"after"` {
		t.Errorf("Claim after restart = %+v; want the entry stored after it", cl)
	}
}

// fill fills srv's memory, 2mb with noeviction, until a write is refused.
func fill(t *testing.T, addr string) *redis.Client {
	t.Helper()
	r := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { r.Close() })
	ctx := t.Context()
	for _, kv := range [][2]string{{"maxmemory", "2mb"}, {"maxmemory-policy", "noeviction"}} {
		if err := r.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	value := strings.Repeat("x", 4096)
	for i := 0; ; i++ {
		err := r.Set(ctx, fmt.Sprint("ballast:", i), value, 0).Err()
		if err != nil && strings.Contains(err.Error(), "OOM") {
			return r
		}
		if err != nil || i > 10_000 {
			t.Fatalf("filling Redis: %v after %d writes", err, i)
		}
	}
}

// TestAFullRedisDegradesTheTier: against a real redis-server full with
// noeviction, claims and stores fail while Redis answers: the tier stays up
// but is degraded once degradedMin calls and degradedPercent of them failed,
// a Warn says so at most once a minute, and it is whole again once the
// failures are past.
func TestAFullRedisDegradesTheTier(t *testing.T) {
	srv := servertest.Redis(t)
	f := newFixture(t, Settings{URL: srv.URL(), Timeout: time.Second}, "")
	r := fill(t, srv.Addr())
	ctx := context.Background()
	claimN := func(n int) {
		for i := range n {
			if _, err := f.c.Claim(ctx, "products", fmt.Sprint(i), t0, time.Time{}, lease); err == nil {
				t.Fatal("a claim succeeded in a full Redis")
			}
		}
	}
	claimN(degradedMin - 1)
	if st := f.c.State(); !st.Up || st.Degraded {
		t.Fatalf("after %d failures: state %+v; want up, not yet degraded", degradedMin-1, st)
	}
	claimN(1)
	st := f.c.State()
	if !st.Up || !st.Degraded || !strings.Contains(st.Err, "OOM") {
		t.Fatalf("after %d failures: state %+v; want up, degraded by OOM", degradedMin, st)
	}
	for event, want := range map[string]int{"call error claim": degradedMin, "up false": 0} {
		if got := f.rec.count(event); got != want {
			t.Errorf("%s: %d; want %d", event, got, want)
		}
	}
	claimN(20)
	f.advance(warnEvery - time.Millisecond)
	claimN(1)
	if got := strings.Count(f.log.String(), "redis calls failing"); got != 1 {
		t.Errorf("logged the failures %d times within a minute; want once:\n%s", got, f.log)
	}
	f.advance(time.Millisecond)
	claimN(degradedMin)
	if got := strings.Count(f.log.String(), "redis calls failing"); got != 2 {
		t.Errorf("logged the failures %d times a minute on; want twice", got)
	}

	if err := r.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, f.c, "after", t0)
	if !f.c.State().Degraded {
		t.Error("one success undid the window's failures")
	}
	f.advance(2 * errorWindow)
	if st := f.c.State(); !st.Up || st.Degraded || st.Err != "" {
		t.Errorf("once the failures are past: state %+v; want up, not degraded", st)
	}
	if got := strings.Count(f.log.String(), "redis calls succeed again"); got != 1 {
		t.Errorf("logged the recovery %d times; want once", got)
	}
}

// TestDegradedNeedsBothTheCountAndTheRate: ten failures among many calls
// are noise; the tier is degraded once they reach degradedPercent of the
// calls in the window, and whole again two windows on.
func TestDegradedNeedsBothTheCountAndTheRate(t *testing.T) {
	now := t0
	h := health{now: func() time.Time { return now }, rec: NopRecorder{}, log: slog.New(slog.DiscardHandler),
		state: State{Up: true}}
	var full redis.Error = replyError("OOM command not allowed when used memory > 'maxmemory'")
	calls := func(n int, err error) {
		for range n {
			h.report(context.Background(), "claim", err)
		}
	}
	calls(190, nil)
	calls(degradedMin, full)
	if st := h.get(); st.Degraded {
		t.Fatalf("%d failures in 200 calls: degraded; want not (under %d%%)", degradedMin, degradedPercent)
	}
	calls(degradedMin+2, full) // 22 of 212: over 10%
	if st := h.get(); !st.Up || !st.Degraded {
		t.Fatalf("22 failures in 212 calls: %+v; want up and degraded", st)
	}
	now = now.Add(2 * errorWindow)
	if st := h.get(); st.Degraded {
		t.Errorf("two windows on without a failure: %+v; want not degraded", st)
	}
}

// replyError is an error reply of Redis's: Redis answered.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

// A Redis that refuses this client (a wrong password) answers every call
// with an error reply; the tier is down, not up, and the log says why
// without the password.
func TestAWrongPasswordTakesTheTierDown(t *testing.T) {
	r := servertest.Redis(t)
	admin := redis.NewClient(&redis.Options{Addr: r.Addr()})
	if err := admin.ConfigSet(t.Context(), "requirepass", "right-pw").Err(); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	f := newFixture(t, Settings{URL: "redis://:wrong-pw@" + r.Addr() + "/0", Timeout: time.Second}, "")
	for range failuresToDown {
		if err := claim(f.c, context.Background()); err == nil {
			t.Fatal("claim with a wrong password succeeded")
		}
	}
	if st := f.c.State(); st.Up || !strings.Contains(st.Err, "WRONGPASS") {
		t.Errorf("State = %+v; want down, with Redis's WRONGPASS reply", st)
	}
	if log := f.log.String(); !strings.Contains(log, "redis unreachable") || strings.Contains(log, "wrong-pw") {
		t.Errorf("log = %q; want redis unreachable, without the password", log)
	}
}
