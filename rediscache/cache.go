// Package rediscache is Vitrine's shared cache tier: resilience.Shared over
// Redis (a single node, a Cluster or Sentinels). Each operation is one Lua
// script, one round trip with its own tight deadline (a claim that meets a
// corrupt value, two); a tier that keeps failing is skipped until a probe
// finds it back, and one that answers but fails too often is degraded.
package rediscache

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"vitrine/resilience"
)

// Options configure a Cache. Client is required; the rest have defaults.
type Options struct {
	Client   redis.UniversalClient // closed by Cache.Close
	Prefix   string                // "" means DefaultPrefix
	Timeout  time.Duration         // per call, on top of the caller's ctx; 0 means DefaultTimeout
	Recorder Recorder              // nil records nothing
	Logger   *slog.Logger          // nil logs nothing
	Tracer   trace.Tracer          // a "redis OP" span per round trip; nil makes none
}

// Cache is the Redis tier. It is safe for concurrent use.
type Cache struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
	rec     Recorder
	log     *slog.Logger
	tracer  trace.Tracer     // nil: no spans
	now     func() time.Time // tests replace it
	id      string           // names this Cache's purge records
	health  health

	mu     sync.Mutex
	warned map[string]time.Time // tile -> last "corrupt" log
	unsent [][]byte             // purge records Publish could not add

	personal personal // the bytes of the personalised entries written (PersonalBytes)
}

var _ resilience.Shared = (*Cache)(nil)

// New returns a Cache over o.Client, up until its calls say otherwise.
func New(o Options) *Cache {
	c := &Cache{
		client: o.Client, prefix: cmp.Or(o.Prefix, DefaultPrefix), timeout: o.Timeout,
		rec: cmp.Or[Recorder](o.Recorder, NopRecorder{}), log: cmp.Or(o.Logger, slog.New(slog.DiscardHandler)),
		tracer: o.Tracer, now: time.Now, warned: map[string]time.Time{}, id: newToken(),
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	c.health = health{now: func() time.Time { return c.now() }, rec: c.rec, log: c.log}
	c.health.state = State{Up: true, Since: c.now()}
	c.rec.Up(true)
	return c
}

// State is the tier's health as last observed, without a round trip.
func (c *Cache) State() State { return c.health.get() }

// Close closes the client.
func (c *Cache) Close() error {
	if err := c.client.Close(); err != nil {
		return fmt.Errorf("rediscache: close: %w", err)
	}
	return nil
}

// Claim implements resilience.Shared. A value no Vitrine can have stored
// (one that does not decode, or whose times are impossible: fresh after
// latest) is deleted and the key claimed as if there were none, in a second
// round trip, so that the caller fetches and its Store replaces it.
func (c *Cache) Claim(ctx context.Context, tile, key string, servable, latest time.Time,
	lease time.Duration) (resilience.Claim, error) {
	token := newToken()
	entry, leaseKey := c.keys(tile, key)
	claim := func(heal string) (reply []any, err error) {
		err = c.do(ctx, "claim", tile, func(ctx context.Context) error {
			reply, err = claimScript.Run(ctx, c.client, []string{entry, leaseKey},
				servable.UnixMilli(), token, max(lease.Milliseconds(), 1), heal).Slice()
			return err
		})
		if err == nil && len(reply) != 3 {
			err = fmt.Errorf("unexpected reply %v", reply)
		}
		if err != nil {
			return nil, fmt.Errorf("rediscache: claim %s: %w", tile, err)
		}
		return reply, nil
	}
	reply, err := claim("")
	if err != nil {
		return resilience.Claim{}, err
	}
	cl, ok := c.found(tile, entry, reply[1], reply[2], latest)
	if !ok {
		if reply, err = claim("1"); err != nil {
			return resilience.Claim{}, err
		}
	}
	if cl.Found && cl.Entry.FreshUntil.UnixMilli() > servable.UnixMilli() {
		c.rec.Hit(tile)
		return cl, nil
	}
	won := reply[0]
	if won == int64(2) {
		c.corrupt(tile, leaseKey, errors.New("a lease no Vitrine set (no expiry, or too long): taken over"))
	}
	c.rec.Miss(tile)
	c.rec.Lock(tile, won != int64(0))
	if won != int64(0) {
		cl.Token = token
	}
	return cl, nil
}

// found decodes the entry the claim script read, if any. A value that does
// not decode, or not as one a Vitrine stores, is counted and not ok.
func (c *Cache) found(tile, redisKey string, kind, fields any, latest time.Time) (cl resilience.Claim, ok bool) {
	var err error
	switch kind {
	case "none":
		return resilience.Claim{}, true
	case "hash":
		var e resilience.SharedEntry
		if e, err = decodeEntry(fields, latest); err == nil {
			return resilience.Claim{Entry: e, Found: true}, true
		}
	default:
		err = fmt.Errorf("a %v, not a hash", kind)
	}
	c.rec.Undecodable(tile)
	c.corrupt(tile, redisKey, err)
	return resilience.Claim{}, false
}

// corrupt counts a value deleted or taken over, logged at most once a
// minute per tile.
func (c *Cache) corrupt(tile, redisKey string, err error) {
	c.rec.Corrupt(tile)
	now := c.now()
	c.mu.Lock()
	last, seen := c.warned[tile]
	quiet := seen && now.Sub(last) < time.Minute
	if !quiet {
		c.warned[tile] = now
	}
	c.mu.Unlock()
	if !quiet {
		c.log.Warn("corrupt redis value deleted; treated as a miss", "tile", tile, "key", redisKey, "err", err)
	}
}

// Store implements resilience.Shared; an entry past its stale time is dropped.
func (c *Cache) Store(ctx context.Context, tile, key string, e resilience.SharedEntry, token string) error {
	entry, lease := c.keys(tile, key)
	if !e.StaleUntil.After(c.now()) {
		return c.run(ctx, "store", tile, dropScript, []string{entry, lease}, token)
	}
	if !json.Valid(e.Data) {
		return fmt.Errorf("rediscache: store %s: data is not JSON", tile)
	}
	args := append([]any{token}, storeArgs(e)...)
	if err := c.run(ctx, "store", tile, storeScript, []string{entry, lease}, args...); err != nil {
		return err
	}
	c.rec.Write(tile)
	if e.Personal {
		c.personal.add(c.now(), e.StaleUntil,
			int64(len(entry)+len(e.Data)+len(e.ETag)+len(e.LastModified)+len(encodeTags(e.Tags))+personalOverhead))
	}
	return nil
}

// Drop implements resilience.Shared.
func (c *Cache) Drop(ctx context.Context, tile, key, token string) error {
	entry, lease := c.keys(tile, key)
	return c.run(ctx, "drop", tile, dropScript, []string{entry, lease}, token)
}

// Release implements resilience.Shared.
func (c *Cache) Release(ctx context.Context, tile, key, token string) error {
	if token == "" {
		return nil
	}
	_, lease := c.keys(tile, key)
	return c.run(ctx, "release", tile, releaseScript, []string{lease}, token)
}

// run runs script as op's round trip for tile (do).
func (c *Cache) run(ctx context.Context, op, tile string, script *redis.Script, keys []string, args ...any) error {
	err := c.do(ctx, op, tile, func(ctx context.Context) error {
		return script.Run(ctx, c.client, keys, args...).Err()
	})
	if err != nil {
		return fmt.Errorf("rediscache: %s %s: %w", op, tile, err)
	}
	return nil
}

// do runs, records and traces one round trip of op for tile under the tier's
// health and the call's own deadline.
func (c *Cache) do(ctx context.Context, op, tile string, call func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.health.admit(); err != nil {
		if c.tracer != nil {
			downEvent(ctx, op)
		}
		return err
	}
	cctx := ctx
	var span trace.Span
	if c.tracer != nil {
		cctx, span = c.startSpan(ctx, op, tile)
	}
	cctx, cancel := context.WithTimeout(cctx, c.timeout)
	defer cancel()
	start := time.Now()
	err := call(cctx)
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	c.rec.Call(cctx, op, time.Since(start), err)
	if span != nil {
		endSpan(span, err)
	}
	c.health.report(ctx, op, err)
	return err
}

// newToken returns a lease token that no other caller can guess.
func newToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// spanNames are the round trips' span names, made once.
var spanNames = map[string]string{
	"claim": "redis claim", "store": "redis store", "drop": "redis drop", "release": "redis release",
}

// startSpan starts the "redis OP" span of one round trip, a child of ctx's.
func (c *Cache) startSpan(ctx context.Context, op, tile string) (context.Context, trace.Span) {
	return c.tracer.Start(ctx, spanNames[op], trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		semconv.DBSystemNameRedis,
		semconv.DBOperationName(op),
		attribute.String("vitrine.tile", tile),
	))
}

// endSpan ends a round trip's span, with an Error status if it failed.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// downEvent notes on the caller's span a call not sent: the tier is down.
func downEvent(ctx context.Context, op string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("redis down", trace.WithAttributes(semconv.DBOperationName(op)))
	}
}

// Recorder receives what the tier does, for /metrics. Its methods are called
// on the request path and must not block.
type Recorder interface {
	Hit(tile string)            // Claim found an entry servable at `servable`
	Miss(tile string)           // Claim found none (or one too old)
	Write(tile string)          // Store wrote an entry
	Lock(tile string, won bool) // on a Miss: whether this caller took the lease
	// Call records every round trip: op is claim|store|drop|release; err
	// nil on success; ctx carries its span when tracing (for exemplars).
	Call(ctx context.Context, op string, d time.Duration, err error)
	Undecodable(tile string) // a stored value that did not decode, or not as a Vitrine's entry
	Corrupt(tile string)     // a value deleted or a lease taken over: no Vitrine can have written it
	Up(up bool)              // the tier's state changed (also called once at New with true)
}

// NopRecorder records nothing.
type NopRecorder struct{}

func (NopRecorder) Hit(string)                                         {}
func (NopRecorder) Miss(string)                                        {}
func (NopRecorder) Write(string)                                       {}
func (NopRecorder) Lock(string, bool)                                  {}
func (NopRecorder) Call(context.Context, string, time.Duration, error) {}
func (NopRecorder) Undecodable(string)                                 {}
func (NopRecorder) Corrupt(string)                                     {}
func (NopRecorder) Up(bool)                                            {}
