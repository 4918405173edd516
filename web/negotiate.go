package web

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"vitrine/tiles"
)

// format is one of the forms /home can take.
type format string

const (
	formatJSON   format = "json"
	formatHTML   format = "html"
	formatNDJSON format = "ndjson"
)

// formats lists the forms with their media types, JSON first: it wins ties
// and is the answer to "*/*" and to no Accept at all.
var formats = []struct {
	f     format
	media string
}{
	{formatJSON, "application/json"},
	{formatHTML, "text/html"},
	{formatNDJSON, "application/x-ndjson"},
}

// negotiate picks the form of the response: ?format= if given (anything
// else is a 400 naming format), else the Accept header's preferred form by
// q-value. An Accept that matches none of the forms gets JSON, the
// contract's default, rather than a 406 that no script would expect.
func negotiate(r *http.Request) (format, error) {
	if v, ok := r.URL.Query()["format"]; ok {
		for _, f := range formats {
			if len(v) == 1 && v[0] == string(f.f) {
				return f.f, nil
			}
		}
		return "", tiles.Errorf(tiles.EINVALID, "format: must be json, html or ndjson; got %q", tiles.Clip(strings.Join(v, ","), 32))
	}
	best, bestQ, bestSpecific := formatJSON, -1.0, -1
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(qs, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		if q == 0 {
			continue
		}
		for _, f := range formats {
			specific := matches(mt, f.media)
			if specific < 0 {
				continue
			}
			// Higher q wins; at equal q a more specific range wins (text/html
			// over */*); at equal both, the earlier form (JSON).
			if q > bestQ || (q == bestQ && specific > bestSpecific) {
				best, bestQ, bestSpecific = f.f, q, specific
			}
		}
	}
	return best, nil
}

// matches says how specifically the media range mr matches media: 2 for an
// exact match, 1 for type/*, 0 for */*, -1 for no match.
func matches(mr, media string) int {
	switch {
	case mr == media:
		return 2
	case mr == "*/*":
		return 0
	case strings.HasSuffix(mr, "/*") && strings.HasPrefix(media, strings.TrimSuffix(mr, "*")):
		return 1
	}
	return -1
}
