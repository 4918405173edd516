package resilience

import (
	"slices"
	"strings"
	"time"

	"github.com/maypok86/otter/v2"
)

// Purge says which of a tile's cached entries Tile.Purge purges, and how.
type Purge struct {
	// Tags selects the entries that carry one of them: an entry carries its
	// backend's tags (tiles.Caching.Tags), and every entry of a tile its
	// name and Policy.Tags. Without Tags, every entry is selected.
	Tags []string
	// Key narrows a personalised tile's purge to one user's entries: the
	// user's Tile.UserKey, never the id. "" selects every user's.
	Key string
	// Soft makes the entries stale at once: served stale, within
	// StaleWhileRevalidate, while one fetch refreshes each. Else they are
	// dropped and the next reader fetches.
	Soft bool
	// Before spares the entries stored at or after it, fetched after the
	// purge was asked for, so that a purge may be replayed. Zero: now.
	Before time.Time
}

// Purge purges the entries of the tile's memory cache that p selects and
// returns how many it marked: made stale (an entry already stale is not)
// or dropped. Entries are replaced, never changed, as readers may hold them.
func (t *Tile) Purge(p Purge) int {
	if t.cache == nil || p.Key != "" && !t.p.Personalised {
		return 0
	}
	now := time.Now()
	if p.Before.IsZero() {
		p.Before = now
	}
	all := len(p.Tags) == 0 || slices.ContainsFunc(p.Tags, func(tag string) bool {
		return tag == t.Name() || slices.Contains(t.p.Tags, tag)
	})
	marked := 0
	for key := range t.cache.Keys() {
		if p.Key != "" && key != p.Key && !strings.HasPrefix(key, p.Key+".") {
			continue
		}
		t.cache.ComputeIfPresent(key, func(e *entry) (*entry, otter.ComputeOp) {
			switch age := now.Sub(e.at); {
			case !e.at.Before(p.Before) || !all && !slices.ContainsFunc(p.Tags, func(tag string) bool {
				return slices.Contains(e.tags, tag)
			}):
				return e, otter.CancelOp
			case !p.Soft:
				marked++
				return nil, otter.InvalidateOp
			case age < e.ttl:
				marked++
				stale := *e
				stale.ttl = age // stale from now, StaleWhileRevalidate more, as if its TTL had run out
				return &stale, otter.WriteOp
			}
			return e, otter.CancelOp
		})
	}
	return marked
}

// UserKey returns what stands for user in a personalised tile's cache keys
// (Purge.Key), and false for a tile not personalised.
func (t *Tile) UserKey(user string) (string, bool) {
	if !t.p.Personalised {
		return "", false
	}
	return t.keys.Key(user), true
}
