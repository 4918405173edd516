package rediscache

import (
	"testing"
	"time"
)

// TestPersonalBytes: the personalised entries a Cache writes are counted
// until their stale-until has passed (to the next 10 s), the others not at all.
func TestPersonalBytes(t *testing.T) {
	f, _ := miniFixture(t)
	mine := entryAt(t0, `"recommended for one user"`) // stale until t0+5m
	mine.Personal = true
	mustStore(t, f.c, "a1b2", mine, "")
	mustStore(t, f.c, "", entryAt(t0, `"for everyone"`), "")
	want := int64(len("vitrine:v2:{8:products/4:a1b2}") + len(mine.Data) + len(mine.ETag) + len(mine.LastModified) +
		personalOverhead)
	if got := f.c.PersonalBytes(); got != want {
		t.Errorf("PersonalBytes() = %d; want %d, the personalised entry's", got, want)
	}
	f.advance(5*time.Minute - time.Millisecond)
	mustStore(t, f.c, "c3d4", mine, "") // written late, expiring with the first
	if got := f.c.PersonalBytes(); got != 2*want {
		t.Errorf("PersonalBytes() = %d just before the entries expire; want %d", got, 2*want)
	}
	f.advance(personalStep + time.Millisecond) // the end of the step in which they expired
	if got := f.c.PersonalBytes(); got != 0 {
		t.Errorf("PersonalBytes() = %d once the entries expired; want 0", got)
	}
}
