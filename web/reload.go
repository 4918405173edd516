package web

import (
	"encoding/json"
	"net/http"

	"vitrine/httpjson"
	"vitrine/tiles"
)

// Reloaded is what a reload that took effect changed: the tiles now served,
// in page order, and those added, rebuilt (new settings: a new cache) and
// removed; the others kept their cache, breaker and hedge statistics.
type Reloaded struct {
	Tiles, Added, Rebuilt, Removed []string
}

// WithReload adds POST /reload to the admin port's handler: it calls reload
// and answers 200 {"reloaded": true, "tiles": [...], ...}, or 400 with
// reload's error (a file's FILE:LINE:COL first). Other methods get the
// contract's JSON 405.
func WithReload(admin http.Handler, reload func() (Reloaded, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/reload" {
			admin.ServeHTTP(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			httpjson.Error(w, r, http.StatusMethodNotAllowed, "method "+tiles.Clip(r.Method, 32)+
				" is not allowed on /reload; use POST")
			return
		}
		done, err := reload()
		if err != nil {
			httpjson.Error(w, r, http.StatusBadRequest, err.Error())
			return
		}
		body, _ := json.Marshal(struct { // strings always encode
			Reloaded bool     `json:"reloaded"`
			Tiles    []string `json:"tiles"`
			Added    []string `json:"added"`
			Rebuilt  []string `json:"rebuilt"`
			Removed  []string `json:"removed"`
		}{true, orEmpty(done.Tiles), orEmpty(done.Added), orEmpty(done.Rebuilt), orEmpty(done.Removed)})
		httpjson.Write(w, r, http.StatusOK, append(body, '\n'))
	})
}

// orEmpty is names, or [] for none: never null.
func orEmpty(names []string) []string {
	if names == nil {
		return []string{}
	}
	return names
}
