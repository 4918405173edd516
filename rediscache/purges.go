package rediscache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"vitrine/resilience"
	"vitrine/tiles"
)

const (
	// purgesKept is about how many purge records the stream keeps: a
	// replica cut from Redis for more purges than that misses the oldest.
	purgesKept = 1000
	// followBlock bounds one blocking read of the stream, so that Follow
	// sees its context end that soon.
	followBlock = time.Second
	// followRetry is the pause after a failed read.
	followRetry = 250 * time.Millisecond
)

// purgeRecord is a resilience.PurgeRecord in the stream, with the Cache
// that added it.
type purgeRecord struct {
	Tags   []string `json:"tags,omitempty"`
	Tile   string   `json:"tile,omitempty"`
	Key    string   `json:"key,omitempty"` // the user's key (Tile.UserKey), never the id
	Soft   bool     `json:"soft"`
	Before int64    `json:"before"` // unix ms, the purging replica's clock
	From   string   `json:"from"`
}

// purgeStream is the stream of purge records, one per key prefix.
func (c *Cache) purgeStream() string { return c.prefix + schema + ":purges" }

// Publish adds r to the stream of purges that every replica's Follow reads.
// A record it could not add is kept (the last purgesKept), and this Cache's
// Follow adds it once Redis answers again.
func (c *Cache) Publish(ctx context.Context, r resilience.PurgeRecord) error {
	b, _ := json.Marshal(purgeRecord{Tags: r.Tags, Tile: r.Tile, Key: r.Key, Soft: r.Soft,
		Before: r.Before.UnixMilli(), From: c.id})
	if err := c.add(ctx, b); err != nil {
		c.mu.Lock()
		c.unsent = append(c.unsent[max(len(c.unsent)-purgesKept+1, 0):], b)
		c.mu.Unlock()
		return fmt.Errorf("rediscache: publish a purge (sent once Redis answers): %w", err)
	}
	return nil
}

// add adds a record to the stream.
func (c *Cache) add(ctx context.Context, record []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.client.XAdd(ctx, &redis.XAddArgs{Stream: c.purgeStream(), MaxLen: purgesKept, Approx: true,
		Values: []any{"r", record}}).Err()
}

// sendUnsent adds the records Publish could not, oldest first, until one fails.
func (c *Cache) sendUnsent(ctx context.Context) {
	c.mu.Lock()
	unsent := c.unsent
	c.unsent = nil
	c.mu.Unlock()
	for i, b := range unsent {
		if c.add(ctx, b) != nil {
			c.mu.Lock()
			c.unsent = append(unsent[i:], c.unsent...)
			c.mu.Unlock()
			return
		}
	}
}

// Follow reads the stream of purges until ctx ends and calls apply with
// each record another Cache added, live once it has read what the stream
// held when it started, and caughtUp once then. After a failed read (Redis
// down or unreachable) it reads on from the last record it read, so that a
// replica cut from Redis applies the purges it missed once it reconnects,
// and adds those it could not publish. Its reads are not the tier's calls:
// they count nowhere in its health.
func (c *Cache) Follow(ctx context.Context, apply func(r resilience.PurgeRecord, live bool), caughtUp func()) {
	last, live := "0", false
	for ctx.Err() == nil {
		block := time.Duration(-1) // no BLOCK: at once, even with no record past last
		if live {
			block = followBlock
		}
		streams, err := c.client.XRead(ctx, &redis.XReadArgs{Streams: []string{c.purgeStream(), last},
			Count: 100, Block: block}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			c.log.Debug("redis: reading the purges failed", "err", err)
			tiles.Wait(ctx, followRetry)
			continue
		}
		c.sendUnsent(ctx)
		n := 0
		for _, s := range streams {
			for _, m := range s.Messages {
				last, n = m.ID, n+1
				var r purgeRecord
				v, _ := m.Values["r"].(string)
				if err := json.Unmarshal([]byte(v), &r); err != nil || r.Before <= 0 {
					c.log.Warn("redis: a purge record no Vitrine wrote, ignored", "id", m.ID)
					continue
				}
				if r.From != c.id {
					apply(resilience.PurgeRecord{Tile: r.Tile, Purge: resilience.Purge{Tags: r.Tags, Key: r.Key,
						Soft: r.Soft, Before: time.UnixMilli(r.Before)}}, live)
				}
			}
		}
		if !live && n < 100 {
			live = true
			caughtUp()
		}
	}
}
