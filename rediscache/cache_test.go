package rediscache

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"vitrine/resilience"
	"vitrine/tiles"
)

const lease = 2 * time.Second

func entryAt(now time.Time, data string) resilience.SharedEntry {
	return resilience.SharedEntry{
		Data:       json.RawMessage(data),
		FetchedAt:  now,
		FreshUntil: now.Add(30 * time.Second),
		StaleUntil: now.Add(5 * time.Minute),
		Validators: tiles.Validators{ETag: `"v7"`, LastModified: "Tue, 03 Mar 2026 10:00:00 GMT"},
	}
}

func mustClaim(t *testing.T, c *Cache, key string, servable time.Time) resilience.Claim {
	t.Helper()
	cl, err := c.Claim(context.Background(), "products", key, servable, servable.Add(time.Hour), lease)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return cl
}

func mustStore(t *testing.T, c *Cache, key string, e resilience.SharedEntry, token string) {
	t.Helper()
	if err := c.Store(context.Background(), "products", key, e, token); err != nil {
		t.Fatalf("Store: %v", err)
	}
}

func TestClaimOnEmptyTakesTheLeaseOnce(t *testing.T) {
	f, m := miniFixture(t)
	first := mustClaim(t, f.c, "alice", t0)
	if first.Found || len(first.Token) != 32 {
		t.Fatalf("first Claim = %+v; want no entry and a 32-hex-digit token", first)
	}
	second := mustClaim(t, f.c, "alice", t0)
	if second.Found || second.Token != "" {
		t.Fatalf("second Claim = %+v; want no entry and no token", second)
	}
	if got, _ := m.Get("vitrine:v2:{8:products/5:alice}:lease"); got != first.Token {
		t.Errorf("lease holds %q; want the first token %q", got, first.Token)
	}
	if got, want := m.TTL("vitrine:v2:{8:products/5:alice}:lease"), lease; got != want {
		t.Errorf("lease TTL = %v; want %v", got, want)
	}
	for event, want := range map[string]int{"miss products": 2, "lock won products": 1, "lock lost products": 1, "hit products": 0} {
		if got := f.rec.count(event); got != want {
			t.Errorf("%s: got %d; want %d", event, got, want)
		}
	}
}

func TestStoreThenClaimRoundTripsTheEntry(t *testing.T) {
	f, m := miniFixture(t)
	cl := mustClaim(t, f.c, "alice", t0)
	e := entryAt(t0, `{"items":[1,2,3]}`)
	mustStore(t, f.c, "alice", e, cl.Token)
	if m.Exists("vitrine:v2:{8:products/5:alice}:lease") {
		t.Error("Store with the holder's token left the lease")
	}
	got := mustClaim(t, f.c, "alice", t0)
	if !got.Found || got.Token != "" {
		t.Fatalf("Claim after Store = %+v; want the entry and no lease", got)
	}
	if !reflect.DeepEqual(got.Entry.Data, e.Data) || got.Entry.Validators != e.Validators ||
		!got.Entry.FetchedAt.Equal(e.FetchedAt) || !got.Entry.FreshUntil.Equal(e.FreshUntil) ||
		!got.Entry.StaleUntil.Equal(e.StaleUntil) {
		t.Errorf("Claim entry = %+v; want %+v", got.Entry, e)
	}
	if m.Exists("vitrine:v2:{8:products/5:alice}:lease") {
		t.Error("a hit took the lease")
	}
	if f.rec.count("hit products") != 1 || f.rec.count("write products") != 1 {
		t.Errorf("recorded %v; want 1 hit and 1 write", f.rec.counts)
	}
}

func TestClaimTakesTheLeaseOnlyWhenTheEntryIsNotServable(t *testing.T) {
	e := entryAt(t0, `"x"`) // fresh for 30s
	for _, tc := range []struct {
		name     string
		servable time.Time
		hit      bool
	}{
		{"fresh wanted, entry fresh", t0.Add(29 * time.Second), true},
		{"fresh wanted, entry fresh until just then", t0.Add(30 * time.Second), false},
		{"fresh wanted, entry stale", t0.Add(time.Minute), false},
		{"stale ok: a minute on, less a 45s window", t0.Add(time.Minute).Add(-45 * time.Second), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := miniFixture(t)
			mustStore(t, f.c, "", e, "")
			cl := mustClaim(t, f.c, "", tc.servable)
			if !cl.Found {
				t.Fatal("Claim did not return the stored entry")
			}
			if got, want := cl.Token != "", !tc.hit; got != want {
				t.Errorf("took the lease: %t; want %t", got, want)
			}
			if got, want := f.rec.count("hit products"), map[bool]int{true: 1}[tc.hit]; got != want {
				t.Errorf("hits = %d; want %d", got, want)
			}
		})
	}
}

func TestEntryExpiresAtStaleUntil(t *testing.T) {
	f, m := miniFixture(t)
	e := entryAt(t0, `"x"`)
	mustStore(t, f.c, "", e, "")
	m.FastForward(e.StaleUntil.Sub(t0) - time.Millisecond)
	if !m.Exists("vitrine:v2:{8:products/0:}") {
		t.Fatal("entry gone before its stale-until")
	}
	m.FastForward(time.Millisecond)
	if m.Exists("vitrine:v2:{8:products/0:}") {
		t.Fatal("entry still there at its stale-until")
	}
}

func TestStoreOfAnEntryPastStaleUntilDeletesTheKey(t *testing.T) {
	f, m := miniFixture(t)
	mustStore(t, f.c, "", entryAt(t0, `"old"`), "")
	cl := mustClaim(t, f.c, "", t0.Add(time.Hour))
	f.advance(time.Hour)
	mustStore(t, f.c, "", entryAt(t0, `"older"`), cl.Token) // stale since t0+5m
	if m.Exists("vitrine:v2:{8:products/0:}") || m.Exists("vitrine:v2:{8:products/0:}:lease") {
		t.Errorf("keys left: %v; want none", m.Keys())
	}
	if got := f.rec.count("write products"); got != 1 {
		t.Errorf("writes = %d; want 1 (the expired entry is not a write)", got)
	}
}

func TestAStaleTokenDoesNotReleaseAnotherHoldersLease(t *testing.T) {
	const leaseKey = "vitrine:v2:{8:products/0:}:lease"
	tokenOps := map[string]func(c *Cache, token string) error{
		"Store": func(c *Cache, token string) error {
			return c.Store(context.Background(), "products", "", entryAt(t0, `"x"`), token)
		},
		"Drop": func(c *Cache, token string) error {
			return c.Drop(context.Background(), "products", "", token)
		},
		"Release": func(c *Cache, token string) error {
			return c.Release(context.Background(), "products", "", token)
		},
	}
	for name, op := range tokenOps {
		t.Run(name, func(t *testing.T) {
			f, m := miniFixture(t)
			a := mustClaim(t, f.c, "", t0)
			m.FastForward(lease) // a's lease expires; b takes the key
			b := mustClaim(t, f.c, "", t0)
			if b.Token == "" {
				t.Fatal("second Claim did not take the expired lease")
			}
			if err := op(f.c, a.Token); err != nil {
				t.Fatal(err)
			}
			if got, _ := m.Get(leaseKey); got != b.Token {
				t.Fatalf("%s with a stale token: lease = %q; want b's %q", name, got, b.Token)
			}
			if err := op(f.c, b.Token); err != nil {
				t.Fatal(err)
			}
			if m.Exists(leaseKey) {
				t.Errorf("%s with the holder's token left the lease", name)
			}
		})
	}
}

func TestDropDeletesTheEntry(t *testing.T) {
	f, m := miniFixture(t)
	mustStore(t, f.c, "bob", entryAt(t0, `"x"`), "")
	cl := mustClaim(t, f.c, "bob", t0.Add(time.Hour))
	if err := f.c.Drop(context.Background(), "products", "bob", cl.Token); err != nil {
		t.Fatal(err)
	}
	if keys := m.Keys(); len(keys) != 0 {
		t.Errorf("keys after Drop: %v; want none", keys)
	}
	if got := mustClaim(t, f.c, "bob", t0); got.Found || got.Token == "" {
		t.Errorf("Claim after Drop = %+v; want a miss that takes the lease", got)
	}
}

func TestReleaseLetsTheNextClaimTakeTheLease(t *testing.T) {
	f, _ := miniFixture(t)
	cl := mustClaim(t, f.c, "", t0)
	if err := f.c.Release(context.Background(), "products", "", "not-the-token"); err != nil {
		t.Fatal(err)
	}
	if got := mustClaim(t, f.c, "", t0); got.Token != "" {
		t.Fatal("Release with a wrong token freed the lease")
	}
	if err := f.c.Release(context.Background(), "products", "", cl.Token); err != nil {
		t.Fatal(err)
	}
	if got := mustClaim(t, f.c, "", t0); got.Token == "" {
		t.Error("Claim after Release did not take the lease")
	}
}

// TestACorruptValueIsDeletedAndClaimed: a value no Vitrine can have stored
// is deleted and its key claimed in the same Claim, so that the caller
// fetches at once and its Store replaces it; counted, logged once a minute.
func TestACorruptValueIsDeletedAndClaimed(t *testing.T) {
	const key = "vitrine:v2:{8:products/0:}"
	good := []string{"fresh", "1800000030000", "stale", "1800000300000", "fetched", "1800000000000",
		"etag", "", "lastmod", "", "data", `{"a":1}`}
	with := func(field, value string) []string {
		h := append([]string(nil), good...)
		for i := 0; i < len(h); i += 2 {
			if h[i] == field {
				h[i+1] = value
			}
		}
		return h
	}
	for _, tc := range []struct {
		name  string
		write func(m *miniredis.Miniredis)
	}{
		{"a string, not a hash", func(m *miniredis.Miniredis) { m.Set(key, `{"a":1}`) }},
		{"fresh not a number", func(m *miniredis.Miniredis) { m.HSet(key, with("fresh", "soon")...) }},
		{"stale not a number", func(m *miniredis.Miniredis) { m.HSet(key, with("stale", "later")...) }},
		{"data not JSON", func(m *miniredis.Miniredis) { m.HSet(key, with("data", `{"a":`)...) }},
		{"data missing", func(m *miniredis.Miniredis) { m.HSet(key, good[:10]...) }},
		{"only data and a far fresh", func(m *miniredis.Miniredis) { m.HSet(key, "data", "x", "fresh", "9999999999999") }},
		{"fresh past the cap", func(m *miniredis.Miniredis) {
			m.HSet(key, with("fresh", "1800003600001")...) // t0 + 1h + 1ms; Claim's latest is t0 + 1h
		}},
		{"fetched after fresh", func(m *miniredis.Miniredis) { m.HSet(key, with("fetched", "1800000030001")...) }},
		{"fresh after stale", func(m *miniredis.Miniredis) { m.HSet(key, with("stale", "1800000029999")...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, m := miniFixture(t)
			for i := range 2 {
				tc.write(m)
				cl := mustClaim(t, f.c, "", t0)
				if cl.Found || cl.Token == "" {
					t.Fatalf("Claim %d = %+v; want no entry and the lease", i+1, cl)
				}
				if m.Exists(key) {
					t.Errorf("Claim %d left the bad value", i+1)
				}
				m.Del(key + ":lease")
			}
			for _, event := range []string{"undecodable products", "corrupt products", "lock won products"} {
				if got := f.rec.count(event); got != 2 {
					t.Errorf("%s = %d; want 2", event, got)
				}
			}
			if got := strings.Count(f.log.String(), "corrupt redis value"); got != 1 {
				t.Errorf("logged %d times; want once a minute", got)
			}
			f.advance(time.Minute)
			tc.write(m)
			mustClaim(t, f.c, "", t0)
			if got := strings.Count(f.log.String(), "corrupt redis value"); got != 2 {
				t.Errorf("logged %d times a minute later; want 2", got)
			}
		})
	}
}

// TestALeaseNoVitrineSetIsTakenOver: every lease Vitrine sets expires
// within the lease; one without an expiry, longer, or not a string, is
// taken over (with an expiry) by the next Claim that wants it.
func TestALeaseNoVitrineSetIsTakenOver(t *testing.T) {
	const leaseKey = "vitrine:v2:{8:products/0:}:lease"
	for _, tc := range []struct {
		name  string
		write func(m *miniredis.Miniredis)
	}{
		{"no expiry", func(m *miniredis.Miniredis) { m.Set(leaseKey, "stuck") }},
		{"longer than a lease", func(m *miniredis.Miniredis) {
			m.Set(leaseKey, "stuck")
			m.SetTTL(leaseKey, lease+time.Millisecond)
		}},
		{"a hash", func(m *miniredis.Miniredis) { m.HSet(leaseKey, "token", "stuck") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, m := miniFixture(t)
			tc.write(m)
			cl := mustClaim(t, f.c, "", t0)
			if cl.Token == "" {
				t.Fatal("Claim did not take the lease over")
			}
			if got, _ := m.Get(leaseKey); got != cl.Token {
				t.Errorf("lease holds %q; want the new token %q", got, cl.Token)
			}
			if got := m.TTL(leaseKey); got != lease {
				t.Errorf("lease TTL = %v; want %v", got, lease)
			}
			if got := f.rec.count("corrupt products"); got != 1 {
				t.Errorf("corrupt = %d; want 1", got)
			}
			if again := mustClaim(t, f.c, "", t0); again.Token != "" {
				t.Error("a second Claim took the lease from the first")
			}
		})
	}
}

func TestKeysShowPrefixAndSchemaVersion(t *testing.T) {
	m := miniredis.RunT(t)
	m.SetTime(t0)
	f := newFixture(t, Settings{URL: "redis://" + m.Addr()}, "shop:")
	mustClaim(t, f.c, "bob", t0)
	mustStore(t, f.c, "alice", entryAt(t0, `{"a":1}`), "")
	want := []string{"shop:v2:{8:products/3:bob}:lease", "shop:v2:{8:products/5:alice}"}
	if got := m.Keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("keys = %q; want %q", got, want)
	}
	for field, want := range map[string]string{
		"fresh": "1800000030000", "stale": "1800000300000", "fetched": "1800000000000",
		"etag": `"v7"`, "lastmod": "Tue, 03 Mar 2026 10:00:00 GMT", "data": `{"a":1}`,
	} {
		if got := m.HGet("shop:v2:{8:products/5:alice}", field); got != want {
			t.Errorf("HGET %s = %q; want %q", field, got, want)
		}
	}
}

// go-redis retries a call whose connection broke; a retried Claim whose
// first attempt took the lease must still hold it.
func TestARetriedClaimKeepsItsLease(t *testing.T) {
	f, _ := miniFixture(t)
	keys := []string{"vitrine:v2:{8:products/0:}", "vitrine:v2:{8:products/0:}:lease"}
	for i := range 2 {
		reply, err := claimScript.Run(context.Background(), f.c.client, keys, t0.UnixMilli(), "tok", 1000).Slice()
		if err != nil {
			t.Fatal(err)
		}
		if reply[0] != int64(1) {
			t.Fatalf("attempt %d: won = %v; want 1", i+1, reply[0])
		}
	}
}
