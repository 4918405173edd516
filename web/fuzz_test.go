package web_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// The seeds of FuzzQuery run with go test; to search for new failures:
//
//	go test -run XXX -fuzz FuzzQuery -fuzztime 30s ./web/

// userLog records the users that reached the fetchers.
type userLog struct {
	mu    sync.Mutex
	users []string
}

func (l *userLog) add(u string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users = append(l.users, u)
}

// take returns the users recorded since the last call and forgets them.
func (l *userLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.users
	l.users = nil
	return u
}

// validUser is the contract's rule for ?user=, written out byte by byte.
func validUser(s string) bool {
	if len(s) > 64 {
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

// mediaOf is the media type of each ?format=.
var mediaOf = map[string]string{"json": "application/json", "html": "text/html", "ndjson": "application/x-ndjson"}

// FuzzQuery sends GET /home with any raw query and any Accept header
// through the whole Echo stack, over instant fakes. Whatever the input:
// the status is 200 or 400, never 5xx, and 400 exactly when format or user
// is bad; a 400 is JSON naming the bad parameter and no fetcher ran for it;
// a 200 is JSON, HTML or NDJSON (the one ?format= asked for) and asked each
// tile once, for the query's user.
func FuzzQuery(f *testing.F) {
	for _, s := range []struct{ query, accept string }{
		{"", ""},
		{"user=alice", ""},
		{"user=", ""},
		{"user=a_b-C9", "*/*"},
		{"user=" + strings.Repeat("x", 64), ""},
		{"user=" + strings.Repeat("x", 65), ""},
		{"user=a%20b", ""},
		{"user=a+b", ""},
		{"user=%3Cscript%3E", ""},
		{"user=h%C3%A9llo", ""},
		{"user=%F0%9F%99%82", ""},
		{"user=alice%0A", ""},
		{"user=%00", ""},
		{"user=%ff", ""},
		{"user=%zz", ""},
		{"user=alice;format=html", ""},
		{"user=alice&user=%3Cx%3E", ""},
		{"user=%3Cx%3E&user=alice", ""},
		{"user", ""},
		{"format=json", ""},
		{"format=html", ""},
		{"format=ndjson", ""},
		{"format=html&user=bob", ""},
		{"format=ndjson&user=bob", "text/html"},
		{"format=", ""},
		{"format", ""},
		{"format=xml", ""},
		{"format=HTML", ""},
		{"format=json&format=json", ""},
		{"format=json&format=html", ""},
		{"format=json%00", ""},
		{"format=%E2%80%A8", ""},
		{"format=" + strings.Repeat("z", 5000), ""},
		{"format=xml&user=%3Cx%3E", ""},
		{"FORMAT=html", ""},
		{"&&&==&", ""},
		{"%", ""},
		{"a b\nc", ""},
		{"user=alice#frag", ""},
		{"", "text/html"},
		{"", "application/x-ndjson"},
		{"", "application/json"},
		{"", "text/*"},
		{"", "application/*;q=0.5, text/html;q=0.4"},
		{"", "text/html;q=0.5, application/json;q=0.9"},
		{"", "application/json;q=0, text/html"},
		{"", "text/html;q=NaN"},
		{"", "text/html;q=2, application/x-ndjson;q=-1"},
		{"", "text/html;q=1e-400"},
		{"", "garbage, ;;;, ,,,"},
		{"", "text/html;charset=\"a,b\";q=0.1, */*;q=0.2"},
		{"", "text/html\r\nX-Evil: 1"},
		{"", strings.Repeat("text/html;q=0.5,", 1000)},
	} {
		f.Add(s.query, s.accept)
	}

	log := &userLog{}
	var fakes []*tilestest.Fetcher
	for _, name := range []string{"banners", "products", "recommendations"} {
		fakes = append(fakes, &tilestest.Fetcher{TileName: name, FetchFn: func(_ context.Context, req tiles.Request) (tiles.Outcome, error) {
			log.add(req.User)
			data, err := json.Marshal(map[string]string{"tile": name, "user": req.User})
			return tiles.Fresh(data), err
		}})
	}
	srv := newServer(f, opts{LogTo: io.Discard}, fetchers(fakes...)...)
	calls := func() int64 {
		var n int64
		for _, fk := range fakes {
			n += fk.Calls()
		}
		return n
	}

	f.Fuzz(func(t *testing.T, query, accept string) {
		req := httptest.NewRequest(http.MethodGet, "/home", nil)
		req.URL.RawQuery = query // as is: NewRequest would refuse some of it
		req.RequestURI = "/home?" + query
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		before := calls()
		log.take()
		rec := httptest.NewRecorder()
		srv.e.ServeHTTP(rec, req)
		fetched, users := calls()-before, log.take()
		ct := rec.Header().Get("Content-Type")
		mt, _, _ := mime.ParseMediaType(ct)

		// What the server should make of the query: format first, then
		// the query as a whole (a malformed pair such as user=%zz or a;b is
		// refused, not skipped), then user, given at most once.
		q, perr := url.ParseQuery(query)
		v, hasFormat := q["format"]
		badFormat := hasFormat && (len(v) != 1 || mediaOf[v[0]] == "")
		user := q.Get("user")
		wantStatus, wantParam := http.StatusOK, ""
		switch {
		case badFormat:
			wantStatus, wantParam = http.StatusBadRequest, "format:"
		case perr != nil:
			wantStatus, wantParam = http.StatusBadRequest, "query:"
		case len(q["user"]) > 1 || !validUser(user):
			wantStatus, wantParam = http.StatusBadRequest, "user:"
		}
		if rec.Code != wantStatus {
			t.Errorf("query %q, Accept %q: status %d; want %d", query, accept, rec.Code, wantStatus)
		}

		switch rec.Code {
		case http.StatusOK:
			if mt != "application/json" && mt != "text/html" && mt != "application/x-ndjson" {
				t.Errorf("query %q, Accept %q: Content-Type = %q; want JSON, HTML or NDJSON", query, accept, ct)
			}
			if hasFormat && mediaOf[v[0]] != mt {
				t.Errorf("query %q: Content-Type = %q; want the format asked for", query, ct)
			}
			if got, want := fetched, int64(len(fakes)); got != want {
				t.Errorf("query %q, Accept %q: %d fetches; want %d, one per tile", query, accept, got, want)
			}
			for _, u := range users {
				if u != user || !validUser(u) {
					t.Errorf("query %q: a fetcher was asked for user %q; want %q", query, u, user)
				}
			}
		case http.StatusBadRequest:
			if fetched != 0 {
				t.Errorf("query %q, Accept %q: 400 after %d fetches; want none", query, accept, fetched)
			}
			if mt != "application/json" {
				t.Errorf("query %q: 400 with Content-Type %q; want application/json", query, ct)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body) != 1 {
				t.Fatalf("query %q: 400 body %q (%v); want {\"error\": ...}", query, rec.Body, err)
			}
			msg := body["error"]
			if !strings.HasPrefix(msg, "user:") && !strings.HasPrefix(msg, "format:") && !strings.HasPrefix(msg, "query:") {
				t.Errorf("query %q: 400 error %q; want it to name user, format or the query", query, msg)
			} else if wantParam != "" && !strings.HasPrefix(msg, wantParam) {
				t.Errorf("query %q: 400 error %q; want it to name %s", query, msg, strings.TrimSuffix(wantParam, ":"))
			}
			if strings.ContainsAny(msg, "\n\r") || len(msg) > 512 {
				t.Errorf("query %q: 400 error %q; want one short line", query, msg)
			}
		default:
			t.Errorf("query %q, Accept %q: status %d (body %.200q); want 200 or 400", query, accept, rec.Code, rec.Body)
		}
	})
}
