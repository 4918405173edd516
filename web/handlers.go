package web

import (
	"crypto/rand"
	hexenc "encoding/hex" // hex is wire.go's digits
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"vitrine/aggregator"
	"vitrine/httpjson"
	"vitrine/identity"
	"vitrine/tiles"
)

// shopper reads what tiles may know of a request: who the shopper is, and
// the values some tile forwards (the union of the tiles' forward rules).
type shopper struct {
	who     identity.Source
	forward tiles.Forward
}

// tileRequest reads what tiles depend on: the shopper, whom sh.who names,
// and the values sh.forward names. A query that cannot be parsed is a 400
// whatever the source: dropping the bad part would answer a question not asked.
func tileRequest(c echo.Context, sh shopper) (tiles.Request, error) {
	if _, err := url.ParseQuery(c.Request().URL.RawQuery); err != nil {
		return tiles.Request{}, tiles.Errorf(tiles.EINVALID,
			"query: cannot be parsed (%s); escape special characters as %%XX", tiles.Clip(err.Error(), 80))
	}
	user, _, err := sh.who.Identify(c.Request())
	return tiles.Request{User: user, Forwarded: sh.forward.Capture(c.Request())}, err
}

// parseRequest reads the response's form and the tiles' request, with its
// id (given first, so that a refused request has one too). Every response,
// errors included, is no-cache, private unless pageHeaders.write says a
// shared cache may keep it.
func parseRequest(c echo.Context, who shopper) (format, tiles.Request, error) {
	c.Response().Header().Set("Cache-Control", "no-cache, private")
	id := requestID(c)
	f, err := negotiate(c.Request())
	if err != nil {
		return "", tiles.Request{}, err
	}
	req, err := tileRequest(c, who)
	if err != nil {
		return "", tiles.Request{}, err
	}
	c.Response().Header().Add(echo.HeaderVary, echo.HeaderAccept)
	for _, h := range identity.Vary(who.who) { // the headers the shopper is read from
		c.Response().Header().Add(echo.HeaderVary, h)
	}
	for _, h := range who.forward.Headers { // and those a tile is given
		c.Response().Header().Add(echo.HeaderVary, h)
	}
	if len(who.forward.Cookies) > 0 {
		c.Response().Header().Add(echo.HeaderVary, "Cookie")
	}
	req.ID, req.Arrived = id, arrived(c.Request())
	return f, req, nil
}

// handleHome serves the page; tracer, if set, traces it as a "page" span.
// A page with params answers a value that does not match them with a 404
// before any backend is asked.
func handleHome(agg *aggregator.Aggregator, rend *renderer, who shopper, tracer trace.Tracer,
	ph *pageHeaders, stall time.Duration, params map[string]*regexp.Regexp) echo.HandlerFunc {
	return func(c echo.Context) error {
		format, req, err := parseRequest(c, who)
		if err == nil {
			req.Params, err = pageParams(c, params)
		}
		if err != nil {
			return err
		}
		pt := startPage(c.Request().Context(), tracer, format, req, len(agg.Names()))
		defer pt.close() // a stream that fails before its tiles run
		switch format {
		case formatHTML:
			return streamHTML(c, pt, agg, rend, req, ph, stall)
		case formatNDJSON:
			return streamNDJSON(c, pt, agg, req, ph, stall)
		default:
			page := agg.Page(pt.ctx, req)
			pt.end(page, nil)
			var cookies []string
			for _, r := range page.Results {
				cookies = append(cookies, ph.cookies(r)...)
			}
			status := pageStatus(page.Results, ph.primary)
			ph.write(c.Response().Header(), cookies, req.User, status)
			c.Response().Header().Set("Server-Timing", serverTiming(page.Results, page.Elapsed))
			bp := pageBufs.Get().(*[]byte)
			b := appendTraceID(appendPage((*bp)[:0], page), pt.traceID(page))
			err := c.JSONBlob(status, append(b, '\n'))
			if b = b[:0]; cap(b) <= maxPooledPage {
				*bp = b
				pageBufs.Put(bp)
			}
			return err
		}
	}
}

// pageBufs recycles the buffers JSON pages are written in: JSONBlob has
// copied a page's bytes out (to the connection's buffer, or to gzip) by the
// time it returns. A buffer grown past maxPooledPage is left to the GC.
var pageBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

const maxPooledPage = 64 << 10

func handleTileList(agg *aggregator.Aggregator, opts Options) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-cache") // it changes with a restart's flags
		return c.JSON(http.StatusOK, tileList(agg, opts, false))
	}
}

// AdminTiles is the operator port's GET /tiles: the public list with each
// HTTP backend's host, which the public port never shows.
func AdminTiles(agg *aggregator.Aggregator, opts Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := json.Marshal(tileList(agg, opts, true)) // numbers, strings and bools: it always encodes
		w.Header().Set("Cache-Control", "no-cache")
		httpjson.Write(w, r, http.StatusOK, append(body, '\n'))
	})
}

// tileList is the tiles in page order as GET /tiles lists them; hosts adds
// each HTTP backend's host, for the operator port.
func tileList(agg *aggregator.Aggregator, opts Options, hosts bool) []tileInfo {
	infos := agg.Tiles()
	list := make([]tileInfo, len(infos))
	for i, info := range infos {
		list[i] = newTileInfo(info, viewOf(opts.Views, info.Name), info.Name == opts.Primary)
		list[i].SetCookie = slices.Contains(opts.SetCookie, info.Name)
		if hosts {
			list[i].Host = info.Host
		}
	}
	return list
}

// tileStatus is the HTTP status of GET /tiles/NAME for a tile status.
func tileStatus(s tiles.Status) int {
	switch s {
	case tiles.StatusOK, tiles.StatusStale, tiles.StatusFallback:
		return http.StatusOK
	case tiles.StatusTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// pageStatus is the HTTP status of a page: what its primary tile's result
// decides, so that a page whose main content does not exist is not a 200.
func pageStatus(results []aggregator.Result, primary string) int {
	for _, r := range results {
		if primary != "" && r.Name == primary {
			return primaryStatus(r)
		}
	}
	return http.StatusOK
}

// primaryStatus is the status a primary tile's result gives its page: the
// backend's own 404 or 410 even over stale or fallback content, else as
// GET /tiles/NAME.
func primaryStatus(r aggregator.Result) int {
	var be *tiles.BackendError
	if errors.As(r.Cause, &be) && be.Gone() {
		return be.Code
	}
	return tileStatus(r.Status)
}

// handleTile serves one tile; the pages' parameters come as query parameters.
func handleTile(agg *aggregator.Aggregator, rend *renderer, who shopper, ph *pageHeaders,
	opts Options) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := pathParam(c, "/tiles/")
		format, req, err := parseRequest(c, who)
		if err == nil {
			req.Params, err = queryParams(c, opts.Pages)
		}
		for _, p := range opts.TileParams[name] {
			if _, ok := req.Params[p]; err == nil && !ok {
				err = tiles.Errorf(tiles.EINVALID, "%s: its url uses {%s}: give ?%s=", name, p, p)
			}
		}
		look := rend
		if err == nil && format == formatHTML {
			look, err = rend.look(name, c.QueryParam("view"), c.QueryParam("width"))
		}
		if err != nil {
			return err
		}
		start := time.Now()
		r, err := agg.Tile(c.Request().Context(), name, req)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Server-Timing", serverTiming([]aggregator.Result{r}, time.Since(start)))
		for _, ck := range ph.cookies(r) {
			c.Response().Header().Add("Set-Cookie", ck)
		}
		status := tileStatus(r.Status)
		if format == formatHTML {
			// One tile as an HTML fragment: what the page's retry link loads,
			// drawn as the page's layout draws it.
			b, err := look.tile(r, req)
			if err != nil {
				return err
			}
			c.Response().Header().Set("Content-Security-Policy", contentSecurityPolicy(""))
			return c.HTMLBlob(status, b)
		}
		return c.JSONBlob(status, append(appendTile(make([]byte, 0, 4<<10), r), '\n'))
	}
}

// handleHealth serves /healthz on either port: the process serves. A probe
// is never answered by a cache (no-store), nor is /readyz.
var handleHealth = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, r, http.StatusOK, []byte(`{"status":"ok"}`+"\n"))
})

// handleTest is the tutorial's endpoint: it waits delay, and a client that
// leaves ends the wait.
func handleTest(delay time.Duration) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := tiles.Wait(c.Request().Context(), delay); err != nil {
			return nil // the client has gone: there is no one to answer
		}
		c.Response().Header().Set("Cache-Control", "no-store") // the wait is the point
		return c.JSON(http.StatusOK, map[string]int{"result": 1})
	}
}

// requestIDKey is where a request's id is kept in its echo.Context.
const requestIDKey = "vitrine.request_id"

// requestIDPattern is what a client's id must be: 1 to 128 characters that
// cannot split a header or a log line.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:+/=-]{1,128}$`)

// requestID gives the request its id: the client's X-Request-Id if it sent
// exactly one that is well-formed, else 128 random bits in hex. It is
// echoed in the response, sent to backends and kept for the log line.
func requestID(c echo.Context) string {
	var id string
	if ids := c.Request().Header.Values("X-Request-Id"); len(ids) == 1 && requestIDPattern.MatchString(ids[0]) {
		id = ids[0]
	} else {
		id = random128(hexenc.EncodeToString)
	}
	c.Response().Header().Set("X-Request-Id", id)
	c.Set(requestIDKey, id)
	return id
}

// random128 returns 128 random bits, encoded.
func random128(encode func([]byte) string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return encode(b[:])
}

// loggedRequestID is the id requestID gave c, or "" if it gave none.
func loggedRequestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}
