package tiles_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"vitrine/tiles"
)

// The seeds of these fuzz targets run with go test; to search for new
// failures, run one at a time, for example:
//
//	go test -run XXX -fuzz FuzzNewRequest -fuzztime 30s ./tiles/

// validUser is NewRequest's rule, written out byte by byte: 1 to 64 of
// A-Z, a-z, 0-9, _ and -.
func validUser(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func FuzzNewRequest(f *testing.F) {
	for _, s := range []string{
		"", "alice", "a", "a_b-C9", "-", "_", strings.Repeat("x", 64), strings.Repeat("x", 65),
		"a b", " alice", "alice ", "alice\n", "\nalice", "alice\r\n", "a\x00", "<script>", "héllo", "🙂",
		"a.b", "../etc", "a/b", "a%20b", "a+b", "ａｌｉｃｅ", "\u212a", // Kelvin sign: folds to k
		"\xff", "a\xffb", "\xe2\x80", strings.Repeat("\xff", 300), strings.Repeat("y", 10000),
		strings.Repeat("\u2028", 100), strings.Repeat("é", 50), "alice\u0085",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, user string) {
		req, err := tiles.NewRequest(user)
		if user == "" || validUser(user) {
			if err != nil {
				t.Fatalf("NewRequest(%q) error = %v; want nil", user, err)
			}
			if req.User != user {
				t.Errorf("NewRequest(%q).User = %q; want %q", user, req.User, user)
			}
			return
		}
		if err == nil {
			t.Fatalf("NewRequest(%q) = %+v, nil; want an error", tiles.Clip(user, 100), req)
		}
		if !reflect.DeepEqual(req, tiles.Request{}) {
			t.Errorf("NewRequest(%q) = %+v with an error; want the zero Request", tiles.Clip(user, 100), req)
		}
		var e *tiles.Error
		if !errors.As(err, &e) {
			t.Fatalf("NewRequest(%q) error = %T %v; want a *tiles.Error", tiles.Clip(user, 100), err, err)
		}
		if got, want := e.Code, tiles.EINVALID; got != want {
			t.Errorf("NewRequest(%q) code = %q; want %q", tiles.Clip(user, 100), got, want)
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "user:") {
			t.Errorf("NewRequest(%q) error = %q; want it to start with user:", tiles.Clip(user, 100), msg)
		}
		if strings.ContainsAny(msg, "\n\r\v\f\u0085\u2028\u2029") {
			t.Errorf("NewRequest(%q) error = %q; want one line", tiles.Clip(user, 100), msg)
		}
		if !utf8.ValidString(msg) {
			t.Errorf("NewRequest(%q) error = %q; want valid UTF-8", tiles.Clip(user, 100), msg)
		}
		if got, max := len(msg), 512; got > max {
			t.Errorf("NewRequest(%q) error is %d bytes long; want at most %d", tiles.Clip(user, 100), got, max)
		}
	})
}

func FuzzClip(f *testing.F) {
	for _, s := range []string{"", "abc", "héllo", "日本語", "🙂🙂", "\xff\xfe", "a\xe2\x80\xa8b", strings.Repeat("é", 100)} {
		for _, n := range []uint8{0, 1, 2, 3, 4, 5, 64, 255} {
			f.Add(s, n)
		}
	}
	f.Fuzz(func(t *testing.T, s string, n uint8) {
		got := tiles.Clip(s, int(n))
		if len(s) <= int(n) {
			if got != s {
				t.Errorf("Clip(%q, %d) = %q; want it unchanged", s, n, got)
			}
			return
		}
		kept, ok := strings.CutSuffix(got, "...")
		if !ok || !strings.HasPrefix(s, kept) || len(kept) > int(n) {
			t.Errorf("Clip(%q, %d) = %q; want at most %d bytes of it and ...", s, n, got, n)
		}
		if utf8.ValidString(s) && len(kept) < int(n)-(utf8.UTFMax-1) {
			t.Errorf("Clip(%q, %d) = %q; want it cut at most %d bytes before %d", s, n, got, utf8.UTFMax-1, n)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q; want valid UTF-8 from valid UTF-8", s, n, got)
		}
	})
}
