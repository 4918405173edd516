package rediscache

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// commandCounter counts the commands a client sends.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

// Each operation is one command once the server knows the scripts: the
// tier costs one round trip per tile on a memory miss.
func TestEachOperationIsOneRoundTrip(t *testing.T) {
	f, _ := miniFixture(t)
	var sent commandCounter
	f.c.client.AddHook(&sent)
	ctx := context.Background()
	ops := []struct {
		name string
		run  func() error
	}{
		{"claim", func() error { _, err := f.c.Claim(ctx, "products", "k", t0, t0.Add(time.Hour), lease); return err }},
		{"store", func() error { return f.c.Store(ctx, "products", "k", entryAt(t0, `1`), "t") }},
		{"drop", func() error { return f.c.Drop(ctx, "products", "k", "t") }},
		{"release", func() error { return f.c.Release(ctx, "products", "k", "t") }},
	}
	for _, op := range ops { // the server learns each script
		if err := op.run(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
	}
	for _, op := range ops {
		before := sent.n.Load()
		if err := op.run(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if got := sent.n.Load() - before; got != 1 {
			t.Errorf("%s sent %d commands; want 1", op.name, got)
		}
		if got := f.rec.count("call " + op.name); got != 2 {
			t.Errorf("recorded %d %s calls; want 2", got, op.name)
		}
	}
}
