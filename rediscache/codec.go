package rediscache

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

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

// storeArgs is e as storeScript's ARGV after the token. Times are unix
// milliseconds, so that the claim script can compare them without decoding
// anything.
func storeArgs(e resilience.SharedEntry) []any {
	return []any{
		e.FreshUntil.UnixMilli(), e.StaleUntil.UnixMilli(), e.FetchedAt.UnixMilli(),
		e.ETag, e.LastModified, []byte(e.Data),
	}
}

// decodeEntry reads the claim script's {fresh, stale, fetched, etag,
// lastmod, data}.
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
