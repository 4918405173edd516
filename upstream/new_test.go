package upstream

import (
	"strings"
	"testing"
)

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no name", Options{URL: "http://h/"}, "upstream: a tile needs a name"},
		{"empty url", Options{Name: "p"}, `p: url: must be an absolute http or https URL; got scheme ""`},
		{"ftp", Options{Name: "p", URL: "ftp://h/x"}, `p: url: must be an absolute http or https URL; got scheme "ftp"`},
		{"no scheme", Options{Name: "p", URL: "localhost:9000/p"}, `p: url: must be an absolute http or https URL; got scheme "localhost"`},
		{"relative", Options{Name: "p", URL: "/products"}, `p: url: must be an absolute http or https URL; got scheme ""`},
		{"no host", Options{Name: "p", URL: "http:///products"}, "p: url: has no host"},
		{"port only", Options{Name: "p", URL: "http://:9000/products"}, "p: url: has no host"},
		{"credentials", Options{Name: "p", URL: "https://admin:hunter2@h/p"}, "p: url: must not carry a user or password"},
		{"fragment", Options{Name: "p", URL: "http://h/p#top"}, "p: url: must not have a fragment (#...)"},
		{"bad port", Options{Name: "p", URL: "http://h:x/p"}, "p: url: not a valid URL"},
		{"port out of range", Options{Name: "p", URL: "http://h:70000/p"}, `p: url: port must be 1 to 65535; got "70000"`},
		{"negative body limit", Options{Name: "p", URL: "http://h/p", MaxBody: -1},
			"p: size limits must not be negative; got body -1, head 0"},
		{"negative head limit", Options{Name: "p", URL: "http://h/p", MaxHeaderBytes: -1},
			"p: size limits must not be negative; got body 0, head -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(tt.opts)
			if err == nil {
				t.Fatalf("got %+v, no error; want %q", f, tt.wantErr)
			}
			if got := err.Error(); got != tt.wantErr {
				t.Errorf("got error %q; want %q", got, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	for _, url := range []string{"http://h", "https://h:8443/p?q=1", "HTTP://H/p", "http://[::1]:9000/p", "http://h/p?"} {
		if _, err := New(Options{Name: "p", URL: url}); err != nil {
			t.Errorf("New(%q): %v; want no error", url, err)
		}
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct {
		a, b string // scheme, host joined by a space
		same bool
	}{
		{"http h", "http h:80", true},
		{"https H:443", "https h", true},
		{"http [::1]", "http [::1]:80", true},
		{"http h", "https h", false},
		{"http h:8080", "http h:8081", false},
		{"http h", "http g", false},
	}
	for _, tt := range tests {
		as, ah, _ := strings.Cut(tt.a, " ")
		bs, bh, _ := strings.Cut(tt.b, " ")
		if got := origin(as, ah) == origin(bs, bh); got != tt.same {
			t.Errorf("same origin %q and %q: got %v; want %v", tt.a, tt.b, got, tt.same)
		}
	}
}
