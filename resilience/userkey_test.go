package resilience

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"vitrine/tiles"
)

// memoryKeys returns the keys in t's memory cache.
func memoryKeys(t *Tile) []string {
	for f := t.head; f != nil; {
		l, ok := f.(layer)
		if !ok {
			break
		}
		if m, ok := l.(*memory); ok {
			return slices.Collect(m.cache.Keys())
		}
		f = l.core().next
	}
	return nil
}

func TestCacheKeysHideTheUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, tier := newBackend(0, "v1"), newSharedTier()
		secret := []byte("a secret of this deployment, 32b")
		ts := make([]*Tile, 2)
		for i := range ts { // two replicas with the same secret
			ts[i] = Wrap(b.fetcher("recommendations"), sharedPolicy, Options{Shared: tier, UserKeys: NewUserKeys(secret)})
			defer ts[i].Close()
		}
		for _, user := range []string{"alice", "bob"} {
			got, err := ts[0].Fetch(t.Context(), tiles.Request{User: user})
			if err != nil || string(got.Data) != text("v1/"+user) {
				t.Fatalf("%s: got %s, %v; want %s", user, got.Data, err, text("v1/"+user))
			}
			if got, err := ts[1].Fetch(t.Context(), tiles.Request{User: user}); err != nil || string(got.Data) != text("v1/"+user) {
				t.Fatalf("%s on the other replica: got %s, %v; want %s", user, got.Data, err, text("v1/"+user))
			}
		}
		if got := b.Calls(); got != 2 {
			t.Errorf("backend calls for two users on two replicas sharing a secret: got %d; want 2", got)
		}
		keys := memoryKeys(ts[0])
		tier.mu.Lock()
		for k := range tier.entries {
			keys = append(keys, k)
		}
		tier.mu.Unlock()
		if len(keys) != 4 {
			t.Fatalf("keys %q; want 2 in memory and 2 in the tier", keys)
		}
		for _, k := range keys {
			if strings.Contains(k, "alice") || strings.Contains(k, "bob") {
				t.Errorf("key %q holds a user id", k)
			}
		}
	})
}

func TestUserKeys(t *testing.T) {
	a, b := NewUserKeys([]byte("one secret")), NewUserKeys([]byte("another secret"))
	if a.Key("alice") != NewUserKeys([]byte("one secret")).Key("alice") {
		t.Error("one secret gives two keys for alice; want one")
	}
	if a.Key("alice") == a.Key("bob") || a.Key("alice") == b.Key("alice") {
		t.Error("two users, or two secrets, give the same key; want different ones")
	}
	if r1, r2 := NewUserKeys(nil), NewUserKeys(nil); r1.Key("alice") == r2.Key("alice") {
		t.Error("two random secrets give the same key; want different ones")
	}
	if got := len(a.Key("alice")); got != 22 {
		t.Errorf("key length %d; want 22 (128 bits, base64url)", got)
	}
}

func BenchmarkUserKey(b *testing.B) {
	k := NewUserKeys([]byte("secret"))
	b.ReportAllocs()
	for b.Loop() {
		k.Key("shopper-42")
	}
}
