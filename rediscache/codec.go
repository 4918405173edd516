package rediscache

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"vitrine/resilience"
	"vitrine/tiles"
)

// schema is the layout version in every key: a Vitrine that stores entries
// differently uses another, and never reads what it cannot decode.
const schema = "v1"

// keys returns the entry's and the lease's keys. The braces are a Cluster
// hash tag: both land in one slot, so one script may touch both.
func (c *Cache) keys(tile, key string) (entry, lease string) {
	entry = c.prefix + schema + ":{" + tile + "/" + key + "}"
	return entry, entry + ":lease"
}

// storeArgs is e as storeScript's ARGV after the token, times in unix ms
// so that the claim script compares them without decoding.
func storeArgs(e resilience.SharedEntry) []any {
	return []any{
		e.FreshUntil.UnixMilli(), e.StaleUntil.UnixMilli(), e.FetchedAt.UnixMilli(),
		e.ETag, e.LastModified, []byte(e.Data),
	}
}

// decodeEntry reads the claim script's {fresh, stale, fetched, etag, lastmod, data}.
func decodeEntry(v any) (resilience.SharedEntry, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 6 {
		return resilience.SharedEntry{}, fmt.Errorf("want 6 fields; got %T of %d", v, len(f))
	}
	var s [6]string
	for i, x := range f {
		if s[i], ok = x.(string); !ok {
			return resilience.SharedEntry{}, fmt.Errorf("field %d missing", i+1)
		}
	}
	var ms [3]int64
	for i := range ms {
		n, err := strconv.ParseInt(s[i], 10, 64)
		if err != nil {
			return resilience.SharedEntry{}, fmt.Errorf("time field %d: %w", i+1, err)
		}
		ms[i] = n
	}
	if !json.Valid([]byte(s[5])) {
		return resilience.SharedEntry{}, errors.New("data is not JSON")
	}
	return resilience.SharedEntry{
		FreshUntil: time.UnixMilli(ms[0]),
		StaleUntil: time.UnixMilli(ms[1]),
		FetchedAt:  time.UnixMilli(ms[2]),
		Validators: tiles.Validators{ETag: s[3], LastModified: s[4]},
		Data:       json.RawMessage(s[5]),
	}, nil
}

// Each operation is one script: one round trip, atomic. KEYS[1] is the
// entry (a hash), KEYS[2] its lease (a string holding the holder's token).

// claimScript: ARGV servable (unix ms), token, lease (ms); it returns {won,
// type of KEYS[1], the entry's fields}. It takes the lease unless the entry
// is fresh at servable; a retried call that already took it still wins.
var claimScript = redis.NewScript(`
local kind = redis.call('TYPE', KEYS[1])['ok']
local e = {}
if kind == 'hash' then
  e = redis.call('HMGET', KEYS[1], 'fresh', 'stale', 'fetched', 'etag', 'lastmod', 'data')
end
local fresh = tonumber(e[1])
local won = 0
if fresh == nil or fresh <= tonumber(ARGV[1]) then
  if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
    won = 1
  elseif redis.call('GET', KEYS[2]) == ARGV[2] then
    won = 1
  end
end
return {won, kind, e}
`)

// storeScript: ARGV token, fresh, stale, fetched (unix ms), etag, lastmod,
// data. It replaces the entry until stale, and deletes the lease if token's.
var storeScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'fresh', ARGV[2], 'stale', ARGV[3], 'fetched', ARGV[4],
  'etag', ARGV[5], 'lastmod', ARGV[6], 'data', ARGV[7])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 1
`)

// dropScript: ARGV token. It deletes the entry, and the lease if token's.
var dropScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 1
`)

// releaseScript: KEYS[1] is the lease, ARGV token: a compare-and-delete.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)
