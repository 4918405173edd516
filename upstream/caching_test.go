package upstream

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"vitrine/tiles"
)

func TestCachingFromHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   tiles.Caching
	}{
		{"nothing", http.Header{}, tiles.Caching{}},
		{"max-age", cc("max-age=60"), tiles.Caching{Set: true, MaxAge: time.Minute}},
		{"max-age zero", cc("max-age=0"), tiles.Caching{Set: true}},
		{"quoted max-age", cc(`max-age="30"`), tiles.Caching{Set: true, MaxAge: 30 * time.Second}},
		{"case and spaces", cc(" Public ,  MAX-AGE=5 "), tiles.Caching{Set: true, MaxAge: 5 * time.Second}},
		{"s-maxage wins", cc("max-age=60, s-maxage=10"), tiles.Caching{Set: true, MaxAge: 10 * time.Second}},
		{"s-maxage wins in any order", cc("s-maxage=10", "max-age=60"), tiles.Caching{Set: true, MaxAge: 10 * time.Second}},
		{"no-store", cc("no-store"), tiles.Caching{Set: true, NoStore: true}},
		{"no-store wins over max-age", cc("max-age=60, no-store"), tiles.Caching{Set: true, NoStore: true}},
		{"no-cache", cc("no-cache, max-age=60"), tiles.Caching{Set: true}},
		{"private ignored", cc("private, max-age=60"), tiles.Caching{Set: true, MaxAge: time.Minute}},
		{"negative max-age", cc("max-age=-1"), tiles.Caching{}},
		{"unparseable max-age", cc("max-age=soon"), tiles.Caching{}},
		{"empty max-age", cc("max-age="), tiles.Caching{}},
		{"huge max-age saturates", cc("max-age=99999999999999999999"), tiles.Caching{Set: true, MaxAge: maxAgeCap * time.Second}},
		{"validators", http.Header{"Etag": {`W/"v2"`}, "Last-Modified": {"Mon, 02 Jan 2006 15:04:05 GMT"}},
			tiles.Caching{Validators: tiles.Validators{ETag: `W/"v2"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := caching(tt.header); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

func cc(values ...string) http.Header { return http.Header{"Cache-Control": values} }

func TestFetchRevalidates(t *testing.T) {
	const etag, lastModified = `"v1"`, "Mon, 02 Jan 2006 15:04:05 GMT"
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastModified)
		w.Header().Set("Cache-Control", "max-age=30")
		if r.Header.Get("If-None-Match") == etag && r.Header.Get("If-Modified-Since") == lastModified {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		serveJSON(`{"v":1}`)(w, r)
	})
	f, obs := newFetcher(t, srv.URL+secretPath, nil)
	wantCache := tiles.Caching{Set: true, MaxAge: 30 * time.Second, Validators: tiles.Validators{ETag: etag, LastModified: lastModified}}

	first, err := f.Fetch(t.Context(), tiles.Request{})
	if err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	if string(first.Data) != `{"v":1}` || first.NotModified || !reflect.DeepEqual(first.Cache, wantCache) {
		t.Errorf("got first %+v; want the data with %+v", first, wantCache)
	}
	again, err := f.Fetch(t.Context(), tiles.Request{Validators: first.Cache.Validators})
	if err != nil {
		t.Fatalf("conditional Fetch: %v", err)
	}
	if again.Data != nil || !again.NotModified || !reflect.DeepEqual(again.Cache, wantCache) {
		t.Errorf("got %+v; want NotModified with %+v and no data", again, wantCache)
	}
	if got := obs.results(); len(got) != 2 || got[1] != "products "+srv.Listener.Addr().String()+" 304" {
		t.Errorf("got Observe calls %q; want a 200 then a 304", got)
	}
}

// TestTags: Surrogate-Key is split on spaces and Cache-Tag on commas, both
// read, duplicates once; past tiles.MaxTags, and what is not a tag, is
// dropped and logged once per tile.
func TestTags(t *testing.T) {
	many := make([]string, tiles.MaxTags+3)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	tests := []struct {
		name    string
		header  http.Header
		want    []string
		dropped int
	}{
		{"none", http.Header{}, nil, 0},
		{"surrogate-key", http.Header{"Surrogate-Key": {" winter-sale  banner:7 "}}, []string{"winter-sale", "banner:7"}, 0},
		{"cache-tag", http.Header{"Cache-Tag": {"winter-sale, banner:7,,"}}, []string{"winter-sale", "banner:7"}, 0},
		{"both, twice", http.Header{"Surrogate-Key": {"a b", "c"}, "Cache-Tag": {"b,d"}}, []string{"a", "b", "c", "d"}, 0},
		{"not tags", http.Header{"Cache-Tag": {"two words, ok, " + strings.Repeat("x", tiles.MaxTagBytes+1)}},
			[]string{"ok"}, 2},
		{"too many", http.Header{"Surrogate-Key": {strings.Join(many, " ")}}, many[:tiles.MaxTags], 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped := tags(tt.header)
			if !reflect.DeepEqual(got, tt.want) || dropped != tt.dropped {
				t.Errorf("tags = %q, %d dropped; want %q, %d", got, dropped, tt.want, tt.dropped)
			}
		})
	}
	var log bytes.Buffer
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Surrogate-Key", strings.Join(many, " "))
		serveJSON(`{}`)(w, r)
	})
	f, _ := newFetcher(t, srv.URL, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	for range 2 {
		out, err := f.Fetch(t.Context(), tiles.Request{})
		if err != nil || !reflect.DeepEqual(out.Cache.Tags, many[:tiles.MaxTags]) {
			t.Fatalf("Fetch = %q, %v; want the first %d tags", out.Cache.Tags, err, tiles.MaxTags)
		}
	}
	if n := strings.Count(log.String(), "backend tags dropped"); n != 1 {
		t.Errorf("logged %d times; want once:\n%s", n, log.String())
	}
}
