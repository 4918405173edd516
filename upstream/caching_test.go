package upstream

import (
	"net/http"
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
			if got := caching(tt.header); got != tt.want {
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
	if string(first.Data) != `{"v":1}` || first.NotModified || first.Cache != wantCache {
		t.Errorf("got first %+v; want the data with %+v", first, wantCache)
	}
	again, err := f.Fetch(t.Context(), tiles.Request{Validators: first.Cache.Validators})
	if err != nil {
		t.Fatalf("conditional Fetch: %v", err)
	}
	if again.Data != nil || !again.NotModified || again.Cache != wantCache {
		t.Errorf("got %+v; want NotModified with %+v and no data", again, wantCache)
	}
	if got := obs.results(); len(got) != 2 || got[1] != "products "+srv.Listener.Addr().String()+" 304" {
		t.Errorf("got Observe calls %q; want a 200 then a 304", got)
	}
}
