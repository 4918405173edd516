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
// or names keys differently uses another, and never reads what it cannot decode.
const schema = "v2"

// keys returns the entry's and the lease's keys: the tile and the key each
// after its length, "{8:products/5:alice}", so that no part, whatever it
// holds, reaches into another's key. The braces are a Cluster hash tag: the
// entry and its lease share everything up to the first "}", so one slot,
// and one script may touch both.
func (c *Cache) keys(tile, key string) (entry, lease string) {
	entry = c.prefix + schema + ":{" + strconv.Itoa(len(tile)) + ":" + tile + "/" +
		strconv.Itoa(len(key)) + ":" + key + "}"
	return entry, entry + ":lease"
}

// storeArgs is e as storeScript's ARGV after the token, times in unix ms
// so that the claim script compares them without decoding.
func storeArgs(e resilience.SharedEntry) []any {
	return []any{
		e.FreshUntil.UnixMilli(), e.StaleUntil.UnixMilli(), e.FetchedAt.UnixMilli(),
		e.ETag, e.LastModified, []byte(e.Data), encodeTags(e.Tags),
	}
}

// encodeTags is the entry's tags field: "" or a JSON array.
func encodeTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	b, _ := json.Marshal(tags)
	return string(b)
}

// decodeEntry reads the claim script's {fresh, stale, fetched, etag, lastmod,
// data, tags}. An entry no Vitrine can have stored is an error: its times out
// of order, or fresh after latest (unless zero), or tags not a JSON array of
// strings. An entry without tags (stored before they were) has none.
func decodeEntry(v any, latest time.Time) (resilience.SharedEntry, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 7 {
		return resilience.SharedEntry{}, fmt.Errorf("want 7 fields; got %T of %d", v, len(f))
	}
	var s [7]string
	for i, x := range f {
		if s[i], ok = x.(string); !ok && (i < 6 || x != nil) {
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
	switch {
	case ms[2] > ms[0] || ms[0] > ms[1]:
		return resilience.SharedEntry{}, errors.New("times out of order: want fetched <= fresh <= stale")
	case !latest.IsZero() && ms[0] > latest.UnixMilli():
		return resilience.SharedEntry{}, fmt.Errorf("fresh until %s, past the cap %s",
			time.UnixMilli(ms[0]).UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339))
	case !json.Valid([]byte(s[5])):
		return resilience.SharedEntry{}, errors.New("data is not JSON")
	}
	var tags []string
	if s[6] != "" && json.Unmarshal([]byte(s[6]), &tags) != nil {
		return resilience.SharedEntry{}, errors.New("tags are not a JSON array of strings")
	}
	return resilience.SharedEntry{
		Tags:       tags,
		FreshUntil: time.UnixMilli(ms[0]),
		StaleUntil: time.UnixMilli(ms[1]),
		FetchedAt:  time.UnixMilli(ms[2]),
		Validators: tiles.Validators{ETag: s[3], LastModified: s[4]},
		Data:       json.RawMessage(s[5]),
	}, nil
}

// Each operation is one script: one round trip, atomic. KEYS[1] is the
// entry (a hash), KEYS[2] its lease (a string holding the holder's token).

// claimScript: ARGV servable (unix ms), token, lease (ms), heal ("1": delete
// the entry first); it returns {won, type of KEYS[1], the entry's fields}.
// It takes the lease unless the entry is fresh at servable; a retried call
// that already took it still wins (1). A lease no Vitrine can have set (not
// a string, without an expiry, or longer than this lease) is taken over
// (won 2): every lease expires, so none blocks a key for ever.
var claimScript = redis.NewScript(`
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[1])
end
local kind = redis.call('TYPE', KEYS[1])['ok']
local e = {}
if kind == 'hash' then
  e = redis.call('HMGET', KEYS[1], 'fresh', 'stale', 'fetched', 'etag', 'lastmod', 'data', 'tags')
end
local fresh = tonumber(e[1])
local won = 0
if fresh == nil or fresh <= tonumber(ARGV[1]) then
  if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
    won = 1
  elseif redis.call('TYPE', KEYS[2])['ok'] ~= 'string' or redis.call('PTTL', KEYS[2]) == -1
      or redis.call('PTTL', KEYS[2]) > tonumber(ARGV[3]) then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
    won = 2
  elseif redis.call('GET', KEYS[2]) == ARGV[2] then
    won = 1
  end
end
return {won, kind, e}
`)

// storeScript: ARGV token, fresh, stale, fetched (unix ms), etag, lastmod,
// data, tags. It replaces the entry until stale, and deletes the lease if token's.
var storeScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'fresh', ARGV[2], 'stale', ARGV[3], 'fetched', ARGV[4],
  'etag', ARGV[5], 'lastmod', ARGV[6], 'data', ARGV[7], 'tags', ARGV[8])
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
