package upstream

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"vitrine/tiles"
)

// captured is what a test backend saw of one request.
type captured struct {
	mu     sync.Mutex
	query  url.Values
	header http.Header
}

func (c *captured) handler(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.query, c.header = r.URL.Query(), r.Header.Clone()
	c.mu.Unlock()
	serveJSON(`{"ok":true}`)(w, r)
}

func TestFetchForwardsUserOnlyToPersonalisedTiles(t *testing.T) {
	tests := []struct {
		name         string
		query        string // the configured URL's own query
		personalised bool
		user         string
		want         url.Values
	}{
		{"personalised with user", "", true, "ann", url.Values{"user": {"ann"}}},
		{"personalised anonymous", "", true, "", url.Values{}},
		{"not personalised", "", false, "ann", url.Values{}},
		{"merged with the URL's query", "?region=eu", true, "b_b-1", url.Values{"region": {"eu"}, "user": {"b_b-1"}}},
		{"overrides the URL's user", "?user=x&region=eu", true, "bob", url.Values{"region": {"eu"}, "user": {"bob"}}},
		{"URL's query kept without user", "?region=eu", false, "bob", url.Values{"region": {"eu"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c captured
			srv := newBackend(t, c.handler)
			f, _ := newFetcher(t, srv.URL+secretPath+tt.query, func(o *Options) { o.Personalised = tt.personalised })
			if _, err := f.Fetch(t.Context(), tiles.Request{User: tt.user}); err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got, want := c.query.Encode(), tt.want.Encode(); got != want {
				t.Errorf("got query %q; want %q", got, want)
			}
		})
	}
}

func TestFetchSendsHeaders(t *testing.T) {
	tests := []struct {
		name string
		html bool
		req  tiles.Request
		want map[string]string // "" means absent
	}{
		{"json, anonymous", false, tiles.Request{}, map[string]string{
			"Accept": "application/json", "User-Agent": "vitrine", "X-Request-Id": "",
			"If-None-Match": "", "If-Modified-Since": "", "Accept-Encoding": "gzip",
		}},
		{"request id", false, tiles.Request{ID: "req-42"}, map[string]string{"X-Request-Id": "req-42"}},
		{"html", true, tiles.Request{}, map[string]string{"Accept": "text/html"}},
		{"validators", false, tiles.Request{Validators: tiles.Validators{ETag: `"v1"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT"}},
			map[string]string{"If-None-Match": `"v1"`, "If-Modified-Since": "Mon, 02 Jan 2006 15:04:05 GMT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c captured
			srv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
				c.handler(w, r) // its answer does not matter here
			})
			f, _ := newFetcher(t, srv.URL+secretPath, func(o *Options) { o.HTML = tt.html })
			_, _ = f.Fetch(t.Context(), tt.req)
			for k, want := range tt.want {
				if got := c.header.Get(k); got != want {
					t.Errorf("%s: got %q; want %q", k, got, want)
				}
			}
		})
	}
}

func TestFetchReturnsJSONVerbatim(t *testing.T) {
	tests := []struct {
		name, contentType, body string
	}{
		{"application/json", "application/json", `{"items": [1, 2,  3]}`},
		{"with charset", "application/json; charset=utf-8", `[ "é" ]`},
		{"+json suffix", "application/problem+json", `{"a":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				_, _ = w.Write([]byte(tt.body))
			})
			f, obs := newFetcher(t, srv.URL+secretPath, nil)
			out, err := f.Fetch(t.Context(), tiles.Request{})
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got := string(out.Data); got != tt.body {
				t.Errorf("got data %q; want %q", got, tt.body)
			}
			if out.Status != tiles.StatusOK || out.NotModified {
				t.Errorf("got status %q, NotModified %v; want ok, false", out.Status, out.NotModified)
			}
			host := srv.Listener.Addr().String()
			if got, want := obs.results(), []string{"products " + host + " 200"}; !slices.Equal(got, want) {
				t.Errorf("got Observe calls %q; want %q", got, want)
			}
		})
	}
}

func TestFetchFollowsRedirectOnSameHost(t *testing.T) {
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, secretPath, http.StatusMovedPermanently)
			return
		}
		serveJSON(`{"moved":true}`)(w, r)
	})
	f, _ := newFetcher(t, srv.URL+"/old", nil)
	out, err := f.Fetch(t.Context(), tiles.Request{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got, want := string(out.Data), `{"moved":true}`; got != want {
		t.Errorf("got data %q; want %q", got, want)
	}
}

func TestFetchDecodesGzip(t *testing.T) {
	const body = `{"compressed":"yes, and decoded"}`
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			http.Error(w, "gzip expected", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gzipped(t, body))
	})
	f, _ := newFetcher(t, srv.URL+secretPath, nil)
	out, err := f.Fetch(t.Context(), tiles.Request{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got := string(out.Data); got != body {
		t.Errorf("got data %q; want %q", got, body)
	}
}

func TestFetchCarriesHTMLFragmentAsJSONString(t *testing.T) {
	const fragment = "<p class=\"x\">Tom & Jerry — \"quoted\"</p>\n"
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(fragment))
	})
	f, _ := newFetcher(t, srv.URL+secretPath, func(o *Options) { o.HTML = true })
	out, err := f.Fetch(t.Context(), tiles.Request{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	var got string
	if err := json.Unmarshal(out.Data, &got); err != nil {
		t.Fatalf("data %q is not a JSON string: %v", out.Data, err)
	}
	if got != fragment {
		t.Errorf("got fragment %q; want %q", got, fragment)
	}
}

// TestDescribeShowsHostOnly: Describe names the source by its label (the
// tile's name unless given) and the host apart, never the URL's path or query.
func TestDescribeShowsHostOnly(t *testing.T) {
	for _, label := range []string{"", "weather-api"} {
		f, err := New(Options{Name: "weather", URL: "https://api.example.com:8443/v1/secret?key=k", Personalised: true,
			Label: label})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		want := tiles.Info{Name: "weather", Personalised: true, Source: cmp.Or(label, "weather"),
			Host: "api.example.com:8443"}
		if got := f.Describe(); got.Name != want.Name || got.Personalised != want.Personalised ||
			got.Source != want.Source || got.Host != want.Host {
			t.Errorf("label %q: got %+v; want %+v", label, got, want)
		}
	}
}

func TestFetchAcceptsBodyAtLimit(t *testing.T) {
	for _, declared := range []bool{false, true} {
		t.Run(fmt.Sprintf("declared=%v", declared), func(t *testing.T) {
			srv := newBackend(t, huge(100, declared))
			f, _ := newFetcher(t, srv.URL+secretPath, func(o *Options) { o.MaxBody = 100 })
			out, err := f.Fetch(t.Context(), tiles.Request{})
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got := len(out.Data); got != 100 {
				t.Errorf("got %d bytes; want 100", got)
			}
		})
	}
}
