package tiles_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"vitrine/tiles"
)

func TestNewRequest(t *testing.T) {
	valid := []struct {
		name, user string
	}{
		{"empty", ""},
		{"plain", "alice"},
		{"one char", "a"},
		{"64 chars", strings.Repeat("x", 64)},
		{"all classes", "a_b-C9"},
	}
	for _, tt := range valid {
		t.Run("valid/"+tt.name, func(t *testing.T) {
			req, err := tiles.NewRequest(tt.user)
			if err != nil {
				t.Fatalf("NewRequest(%q) = %v; want nil", tt.user, err)
			}
			if got, want := req.User, tt.user; got != want {
				t.Errorf("User = %q; want %q", got, want)
			}
		})
	}

	invalid := []struct {
		name, user string
	}{
		{"65 chars", strings.Repeat("x", 65)},
		{"space", "a b"},
		{"markup", "<script>"},
		{"unicode", "héllo"},
		{"emoji", "🙂"},
		{"trailing newline", "alice\n"},
		{"dot", "a.b"},
		{"slash", "../etc"},
		{"NUL", "a\x00"},
		{"huge", strings.Repeat("y", 10000)},
	}
	for _, tt := range invalid {
		t.Run("invalid/"+tt.name, func(t *testing.T) {
			req, err := tiles.NewRequest(tt.user)
			if err == nil {
				t.Fatalf("NewRequest(%q) = %+v, nil; want an error", tiles.Clip(tt.user, 70), req)
			}
			if !reflect.DeepEqual(req, tiles.Request{}) {
				t.Errorf("Request = %+v; want the zero Request with an error", req)
			}
			var e *tiles.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v; want a *tiles.Error", err, err)
			}
			if got, want := e.Code, tiles.EINVALID; got != want {
				t.Errorf("Code = %q; want %q", got, want)
			}
			if !strings.Contains(e.Error(), "user") {
				t.Errorf("message %q; want it to name the parameter \"user\"", e.Error())
			}
			if got, max := len(e.Error()), 250; got > max {
				t.Errorf("len(message) = %d; want <= %d (the value must be clipped)", got, max)
			}
		})
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc..."},
		{"abcdef", 0, "..."},
		{"héllo", 2, "h..."},  // é is 2 bytes: not cut in half
		{"héllo", 3, "hé..."}, // exactly after é
		{"日本語", 4, "日..."},
		{"日本語", 2, "..."},
		{"🙂🙂", 5, "🙂..."},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.in, tt.n), func(t *testing.T) {
			got := tiles.Clip(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("Clip(%q, %d) = %q; want %q", tt.in, tt.n, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Clip(%q, %d) = %q; want valid UTF-8", tt.in, tt.n, got)
			}
		})
	}
}

func TestErrorf(t *testing.T) {
	err := error(tiles.Errorf(tiles.ENOTFOUND, "no tile named %q", "x"))
	var e *tiles.Error
	if !errors.As(err, &e) {
		t.Fatalf("Errorf returned %T; want *tiles.Error", err)
	}
	if got, want := e.Code, tiles.ENOTFOUND; got != want {
		t.Errorf("Code = %q; want %q", got, want)
	}
	if got, want := err.Error(), `no tile named "x"`; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}

func TestFresh(t *testing.T) {
	data := json.RawMessage(`{"items":[]}`)
	got := tiles.Fresh(data)
	if string(got.Data) != string(data) || got.Status != tiles.StatusOK || got.Age != 0 || got.Cause != nil {
		t.Errorf("Fresh(%s) = %+v; want ok data with no age or cause", data, got)
	}
}

// TestNewRequestHidesTheValue: a bad user is refused with what is wrong
// with it, never the value, which may be someone's id.
func TestNewRequestHidesTheValue(t *testing.T) {
	tests := []struct{ name, user, says string }{
		{"too long", strings.Repeat("secretid", 9), "got 72 bytes"},
		{"a space", "secret id", "got a space at byte 7"},
		{"a control character", "secret\x00id", "got a control character at byte 7"},
		{"not ASCII", "secretzoë", "got a letter or sign outside ASCII at byte 9"},
		{"not UTF-8", "secret\xffid", "got bytes that are not UTF-8 at byte 7"},
		{"punctuation", "secret.id", "got punctuation or a symbol at byte 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tiles.NewRequest(tt.user)
			if err == nil {
				t.Fatalf("NewRequest: nil error; want one")
			}
			if msg := err.Error(); !strings.HasSuffix(msg, tt.says) || strings.Contains(msg, "secret") {
				t.Errorf("error = %q; want it to end with %q and not quote the value", msg, tt.says)
			}
		})
	}
}

func TestCheckTag(t *testing.T) {
	for _, ok := range []string{"winter-sale", "a", "product:42", strings.Repeat("x", tiles.MaxTagBytes)} {
		if err := tiles.CheckTag(ok); err != nil {
			t.Errorf("CheckTag(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "two words", "a,b", "tab\there", "é", strings.Repeat("x", tiles.MaxTagBytes+1)} {
		if err := tiles.CheckTag(bad); err == nil {
			t.Errorf("CheckTag(%q) = nil; want an error", bad)
		}
	}
}
