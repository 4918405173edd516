package rediscache

import (
	"sync"
	"time"
)

// personalStep is how finely PersonalBytes follows expiries: an entry is
// counted until the end of the step in which Redis forgets it.
const personalStep = 10 * time.Second

// personalOverhead is what a personalised entry costs Redis besides its key
// and data, roughly: the hash's field names, times and bookkeeping.
const personalOverhead = 128

// personal counts the bytes of the personalised entries this Cache wrote,
// by the step in which each expires, so that they leave the count then.
type personal struct {
	mu     sync.Mutex
	bytes  map[int64]int64 // the step of expiry (ms since the epoch / step) -> bytes
	pruned int64           // the step of the last pruning
}

// add counts n bytes written at now, until Redis forgets them.
func (p *personal) add(now, until time.Time, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bytes == nil {
		p.bytes = map[int64]int64{}
	}
	p.bytes[until.UnixMilli()/personalStep.Milliseconds()+1] += n
	if step := now.UnixMilli() / personalStep.Milliseconds(); step > p.pruned { // bounds the map unread
		p.sum(step)
	}
}

// sum drops the steps ended by step, and returns the bytes of the others.
// The caller holds p.mu.
func (p *personal) sum(step int64) (total int64) {
	p.pruned = step
	for s, n := range p.bytes {
		if s <= step {
			delete(p.bytes, s)
		} else {
			total += n
		}
	}
	return total
}

// PersonalBytes is about how many bytes the personalised entries this Cache
// wrote hold in Redis until they expire: each entry's key, data, validators
// and an overhead, counted until its stale-until. An entry rewritten before
// it expires is counted twice until the first copy would have expired;
// other replicas' writes are theirs to count.
func (c *Cache) PersonalBytes() int64 {
	c.personal.mu.Lock()
	defer c.personal.mu.Unlock()
	return c.personal.sum(c.now().UnixMilli() / personalStep.Milliseconds())
}
