package web

import (
	"iter"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"vitrine/tiles"
)

// format is one of the forms a page or a tile can take.
type format string

const (
	formatJSON   format = "json"
	formatHTML   format = "html"
	formatNDJSON format = "ndjson"
)

// formats lists the forms with their media types, JSON first: it wins ties.
var formats = []struct {
	f     format
	media string
}{
	{formatJSON, "application/json"},
	{formatHTML, "text/html"},
	{formatNDJSON, "application/x-ndjson"},
}

// negotiate picks the form of the response: ?format= if given (a bad one is
// a 400), else Accept's preferred form by q-value, else JSON (never a 406).
func negotiate(r *http.Request) (format, error) {
	if v, ok := r.URL.Query()["format"]; ok {
		for _, f := range formats {
			if len(v) == 1 && v[0] == string(f.f) {
				return f.f, nil
			}
		}
		return "", tiles.Errorf(tiles.EINVALID, "format: must be json, html or ndjson; got %q",
			tiles.Clip(strings.Join(v, ","), 32))
	}
	best, bestQ, bestSpecific := formatJSON, -1.0, -1
	for mr, q := range weights(r.Header.Values("Accept")) {
		for _, f := range formats {
			// Higher q wins; at equal q a more specific range wins (text/html
			// over */*); at equal both, the earlier form (JSON).
			specific := matches(mr, f.media)
			if q > 0 && specific >= 0 && (q > bestQ || q == bestQ && specific > bestSpecific) {
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

// weights yields the entries of header values such as Accept: each one's
// value in lower case, without parameters, and its weight (1 if not given).
// An empty entry, or one whose weight is not a qvalue, is skipped.
func weights(values []string) iter.Seq2[string, float64] {
	return func(yield func(string, float64) bool) {
		for _, v := range values {
			for entry := range strings.SplitSeq(v, ",") {
				if value, q, ok := parseWeighted(entry); ok && !yield(value, q) {
					return
				}
			}
		}
	}
}

// parseWeighted reads one entry, "gzip" or "text/html;level=1;q=0.5".
func parseWeighted(entry string) (value string, q float64, ok bool) {
	value, params, _ := strings.Cut(entry, ";")
	value = strings.ToLower(strings.TrimSpace(value))
	if value == "" {
		return "", 0, false
	}
	q = 1
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		if q, ok = parseQValue(strings.TrimSpace(v)); !ok {
			return "", 0, false
		}
	}
	return value, q, true
}

// parseQValue parses RFC 9110's qvalue: "0", "0.5", "0.125", "1", "1.000".
func parseQValue(s string) (float64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole != "0" && whole != "1" || len(frac) > 3 || strings.Trim(frac, "0123456789") != "" ||
		whole == "1" && strings.Trim(frac, "0") != "" {
		return 0, false
	}
	q, err := strconv.ParseFloat(whole+"."+frac+"0", 64)
	return q, err == nil
}

// gzipByWeight is Echo's Gzip middleware for the requests that wantsGzip
// (Echo's own would compress for "gzip;q=0"), with Vary: Accept-Encoding.
func gzipByWeight() echo.MiddlewareFunc {
	gz := middleware.Gzip()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		zipped := gz(next)
		return func(c echo.Context) error {
			if wantsGzip(c.Request().Header) {
				return zipped(c) // adds Vary itself
			}
			c.Response().Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
			return next(c)
		}
	}
}

// wantsGzip reads Accept-Encoding as RFC 9110 §12.5.3 does: gzip (or
// x-gzip) must be named with a weight above zero and not below identity's
// (or that of "*", when identity is not named); a coding named twice takes
// its lower weight. A Range request is never compressed: Content-Range
// counts the identity form.
func wantsGzip(h http.Header) bool {
	if h.Get("Range") != "" {
		return false
	}
	gzipQ, identityQ, anyQ := -1.0, -1.0, -1.0 // -1: not named
	lower := func(cur, q float64) float64 {
		if cur < 0 || q < cur {
			return q
		}
		return cur
	}
	for coding, q := range weights(h.Values("Accept-Encoding")) {
		switch coding {
		case "gzip", "x-gzip":
			gzipQ = lower(gzipQ, q)
		case "identity":
			identityQ = lower(identityQ, q)
		case "*":
			anyQ = lower(anyQ, q)
		}
	}
	if identityQ < 0 {
		identityQ = anyQ
	}
	return gzipQ > 0 && gzipQ >= identityQ
}
