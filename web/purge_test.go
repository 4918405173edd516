package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"vitrine/tiles"
	"vitrine/web"
)

// purgeAdmin is the operator port with POST /purge, recording the requests
// its purger is handed and answering them with marked, or err.
func purgeAdmin(marked int, err error) (http.Handler, *[]web.PurgeRequest) {
	var got []web.PurgeRequest
	return web.NewAdmin(nil, nil, nil, web.PurgeRoute(func(r web.PurgeRequest) (int, error) {
		got = append(got, r)
		return marked, err
	})), &got
}

func postPurge(h http.Handler, method, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), method, "/purge", strings.NewReader(body)))
	return rec
}

// TestPurgeRoute: a purge by tags or by tile reaches the purger, soft
// unless "soft": false, and is answered with the entries it marked.
func TestPurgeRoute(t *testing.T) {
	tests := []struct {
		body string
		want web.PurgeRequest
	}{
		{`{"tags": ["winter-sale", "banner:7"]}`, web.PurgeRequest{Tags: []string{"winter-sale", "banner:7"}, Soft: true}},
		{`{"tags": ["winter-sale"], "soft": false}`, web.PurgeRequest{Tags: []string{"winter-sale"}}},
		{`{"tile": "recommendations", "user": "alice", "soft": true}`,
			web.PurgeRequest{Tile: "recommendations", User: "alice", Soft: true}},
	}
	for _, tt := range tests {
		admin, got := purgeAdmin(3, nil)
		rec := postPurge(admin, http.MethodPost, tt.body)
		if rec.Code != http.StatusOK || rec.Body.String() != "{\"marked\":3}\n" {
			t.Errorf("POST %s: %d %q; want 200 {\"marked\":3}", tt.body, rec.Code, rec.Body)
		}
		if len(*got) != 1 || !reflect.DeepEqual((*got)[0], tt.want) {
			t.Errorf("POST %s: purger got %+v; want %+v", tt.body, *got, tt.want)
		}
	}
}

// TestPurgeRouteErrors: what is not a purge is a JSON 400 (405 for another
// method) that says why, and never reaches the purger; the purger's own
// *tiles.Error is a 400 too. A user's id is never quoted.
func TestPurgeRouteErrors(t *testing.T) {
	tests := []struct {
		name, method, body string
		err                error // the purger's
		status             int
		says               string
	}{
		{"GET", http.MethodGet, "", nil, http.StatusMethodNotAllowed, "use POST"},
		{"not JSON", http.MethodPost, `tags=a`, nil, http.StatusBadRequest, "not a purge"},
		{"an unknown field", http.MethodPost, `{"tag": ["a"]}`, nil, http.StatusBadRequest, `unknown field "tag"`},
		{"neither tags nor tile", http.MethodPost, `{"soft": true}`, nil, http.StatusBadRequest, "name what to purge"},
		{"empty tags", http.MethodPost, `{"tags": []}`, nil, http.StatusBadRequest, "name what to purge"},
		{"a bad tag", http.MethodPost, `{"tags": ["winter sale"]}`, nil, http.StatusBadRequest, "is not a tag"},
		{"too many tags", http.MethodPost, `{"tags": [` + strings.Repeat(`"a",`, tiles.MaxTags) + `"b"]}`, nil,
			http.StatusBadRequest, "at most 32"},
		{"a user without a tile", http.MethodPost, `{"tags": ["a"], "user": "alice"}`, nil, http.StatusBadRequest,
			`"user" needs the "tile"`},
		{"a bad user", http.MethodPost, `{"tile": "recommendations", "user": "al ice"}`, nil, http.StatusBadRequest,
			"user: must be"},
		{"an unknown tile", http.MethodPost, `{"tile": "nope"}`, tiles.Errorf(tiles.EINVALID, "no tile nope"),
			http.StatusBadRequest, "no tile nope"},
		{"the purger fails", http.MethodPost, `{"tile": "banners"}`, errors.New("boom"),
			http.StatusInternalServerError, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin, got := purgeAdmin(1, tt.err)
			rec := postPurge(admin, tt.method, tt.body)
			msg := errorBody(t, rec, tt.status)
			if !strings.Contains(msg, tt.says) || strings.Contains(msg, "al ice") {
				t.Errorf("error = %q; want it to say %q", msg, tt.says)
			}
			if reached := len(*got) > 0; reached != (tt.err != nil) {
				t.Errorf("the purger was called: %v; want %v", reached, tt.err != nil)
			}
		})
	}
}

// TestAdminRouteListed: an unknown path's 404 names the routes given.
func TestAdminRouteListed(t *testing.T) {
	admin, _ := purgeAdmin(0, nil)
	if msg := errorBody(t, serveAdmin(context.Background(), admin, http.MethodGet, "/nope"), 404); !strings.Contains(msg, "/purge") {
		t.Errorf("error = %q; want it to name /purge", msg)
	}
	plain := web.NewAdmin(nil, nil, nil)
	if msg := errorBody(t, serveAdmin(context.Background(), plain, http.MethodGet, "/purge"), 404); strings.Contains(msg, ", /purge") {
		t.Errorf("error = %q; want no /purge without PurgeRoute", msg)
	}
}
