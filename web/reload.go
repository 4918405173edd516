package web

import (
	"encoding/json"
	"net/http"

	"vitrine/httpjson"
)

// Reloaded is what a reload that took effect changed: the tiles now served,
// in page order, and those added, rebuilt (new settings: a new cache) and
// removed; the others kept their cache, breaker and hedge statistics.
type Reloaded struct {
	Tiles, Added, Rebuilt, Removed []string
}

// ReloadRoute serves POST /reload on the operator port: it calls reload
// and answers 200 {"reloaded": true, "tiles": [...], ...}, or 400 with
// reload's error (a file's FILE:LINE:COL first).
func ReloadRoute(reload func() (Reloaded, error)) AdminRoute {
	return AdminRoute{Path: "/reload", Handler: postOnly("/reload", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
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
	})}
}

// orEmpty is names, or [] for none: never null.
func orEmpty(names []string) []string {
	if names == nil {
		return []string{}
	}
	return names
}
