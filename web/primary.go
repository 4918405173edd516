package web

import (
	"errors"
	"net/http"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// A page's primary tile (Options.Primary) decides its HTTP status, so that
// a page whose main content does not exist is a 404 for crawlers and
// caches, not a 200 drawn around an error: a streamed page's header waits
// for that tile (streamOut), while the other tiles go on being fetched.
// The body is the whole page in every case.

// pageStatus is the HTTP status of a page of results: 200 without a primary
// tile, else what the primary's result decides.
func pageStatus(results []aggregator.Result, primary string) int {
	for _, r := range results {
		if primary != "" && r.Name == primary {
			return primaryStatus(r)
		}
	}
	return http.StatusOK
}

// primaryStatus is the status a primary tile's result gives its page: the
// backend's own 404 or 410 whatever was drawn, else as GET /tiles/NAME
// (200 for ok, stale and fallback, 504 for a timeout, 502 for an error).
//
// The 404 or 410 wins even over stale or fallback content: the backend
// has said that what the page is about does not exist (any more), which is
// an answer, not a failure to ride out; the page still shows what it has,
// but a crawler or a cache must not take it for a page that exists.
func primaryStatus(r aggregator.Result) int {
	var be *tiles.BackendError
	if errors.As(r.Cause, &be) && be.Gone() {
		return be.Code
	}
	return tileStatus(r.Status)
}
