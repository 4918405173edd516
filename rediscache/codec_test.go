package rediscache

import "testing"

// TestKeysEncodeEachPartAfterItsLength: each part after its length, so
// that the names are read back unambiguously, whatever the parts hold.
func TestKeysEncodeEachPartAfterItsLength(t *testing.T) {
	c := &Cache{prefix: "shop:"}
	for _, tc := range []struct{ tile, key, want string }{
		{"banners", "", "shop:v2:{7:banners/0:}"},
		{"recommendations", "Xq3v0pQJ9lTzY2a1b4kR8w", "shop:v2:{15:recommendations/22:Xq3v0pQJ9lTzY2a1b4kR8w}"},
		{"a/b", "c", "shop:v2:{3:a/b/1:c}"},
		{"a", "b/c", "shop:v2:{1:a/3:b/c}"},
		{"x}:lease", "", "shop:v2:{8:x}:lease/0:}"},
		{"", "", "shop:v2:{0:/0:}"},
		{"é", "{k}", "shop:v2:{2:é/3:{k}}"}, // lengths in bytes
	} {
		entry, lease := c.keys(tc.tile, tc.key)
		if entry != tc.want || lease != tc.want+":lease" {
			t.Errorf("keys(%q, %q) = %q, %q; want %q and its :lease", tc.tile, tc.key, entry, lease, tc.want)
		}
	}
}

// TestKeysOfDifferentPairsNeverMeet: pairs whose parts joined with the
// separator read alike, and entries alike to another's lease, get keys of
// their own.
func TestKeysOfDifferentPairsNeverMeet(t *testing.T) {
	c := &Cache{prefix: DefaultPrefix}
	pairs := [][2]string{
		{"a/b", "c"}, {"a", "b/c"}, {"a/b/c", ""}, {"", "a/b/c"},
		{"products", "k}:lease"}, {"products", "k"}, {"products", "k}"},
		{"1:a", ""}, {"1", "a"},
	}
	seen := map[string][2]string{}
	for _, p := range pairs {
		entry, lease := c.keys(p[0], p[1])
		for _, k := range []string{entry, lease} {
			if other, ok := seen[k]; ok {
				t.Errorf("%q and %q share the Redis key %q", p, other, k)
			}
			seen[k] = p
		}
	}
}
