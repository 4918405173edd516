package resilience

import (
	"slices"
	"strings"
	"sync"
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
	marked := 0
	for key := range t.cache.Keys() {
		t.cache.ComputeIfPresent(key, func(e *entry) (*entry, otter.ComputeOp) {
			switch age := now.Sub(e.at); {
			case !p.selects(t.Name(), t.p.Tags, key, e.tags, e.at):
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

// selects reports whether p selects the entry stored at under key, carrying
// tags, of the tile named name whose Policy.Tags are policyTags.
func (p Purge) selects(name string, policyTags []string, key string, tags []string, at time.Time) bool {
	if !at.Before(p.Before) || p.Key != "" && key != p.Key && !strings.HasPrefix(key, p.Key+".") {
		return false
	}
	return len(p.Tags) == 0 || slices.ContainsFunc(p.Tags, func(tag string) bool {
		return tag == name || slices.Contains(policyTags, tag) || slices.Contains(tags, tag)
	})
}

// PurgeRecord is a purge as replicas tell each other of it: Purge of the
// tile named Tile, or of every tile.
type PurgeRecord struct {
	Purge
	Tile string
}

// Purges are the purges a replica knows of, its own and other replicas',
// for the shared tier: an entry there that one selects is absent (hard) or
// stale since the purge (soft) to this replica, as it is in the memory of
// the replica that purged. Purges older than purgeMemory are forgotten, and
// any past the newest purgesKept. Safe for concurrent use.
type Purges struct {
	mu   sync.RWMutex
	recs []PurgeRecord
}

const (
	purgesKept  = 1000
	purgeMemory = 24 * time.Hour
)

// Add records r, whose Before must be set.
func (ps *Purges) Add(r PurgeRecord) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.recs = append(ps.recs, r)
	old := time.Now().Add(-purgeMemory)
	drop := max(len(ps.recs)-purgesKept, 0)
	for drop < len(ps.recs) && ps.recs[drop].Before.Before(old) {
		drop++
	}
	ps.recs = slices.Delete(ps.recs, 0, drop)
}

// match says what the purges do to an entry of the shared tier (SharedEntry)
// stored under key for tile name, whose Policy.Tags are policyTags: drop it
// (hard), or make it stale from soon (the earliest soft purge that selects
// it); ok is false when none selects it.
func (ps *Purges) match(name string, policyTags []string, personalised bool, key string,
	e SharedEntry) (soon time.Time, hard, ok bool) {
	if ps == nil {
		return time.Time{}, false, false
	}
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	for _, r := range ps.recs {
		if r.Tile != "" && r.Tile != name || r.Key != "" && !personalised ||
			!r.selects(name, policyTags, key, e.Tags, e.FetchedAt) {
			continue
		}
		hard = hard || !r.Soft
		if !ok || r.Before.Before(soon) {
			soon = r.Before
		}
		ok = true
	}
	return soon, hard, ok
}

// UserKey returns what stands for user in a personalised tile's cache keys
// (Purge.Key), and false for a tile not personalised.
func (t *Tile) UserKey(user string) (string, bool) {
	if !t.p.Personalised {
		return "", false
	}
	return t.keys.Key(user), true
}
