package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// startStream sends the header of a streamed response. Server-Timing cannot
// be known yet, so it is announced as a trailer; X-Accel-Buffering tells a
// buffering proxy (nginx) to pass each tile on at once.
//
// The response's write deadline starts with its header (writeDeadlines);
// a stream moves it before each tile it sends (extendWriteDeadline), so a
// stream whose client reads lives as long as its page, and one whose
// client stopped reading is cut a write stall after its last progress: the
// failed write ends the stream, which cancels the tiles still running.
func startStream(c echo.Context, contentType string) *http.ResponseController {
	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, contentType)
	h.Set("X-Accel-Buffering", "no")
	h.Set("Cache-Control", "no-cache, private")
	h.Set("Trailer", "Server-Timing")
	res.WriteHeader(http.StatusOK)
	return http.NewResponseController(res.Writer)
}

// streamNDJSON writes one JSON line per tile, in completion order, each
// flushed as it finishes, then the summary line.
func streamNDJSON(c echo.Context, agg *aggregator.Aggregator, req tiles.Request, stall time.Duration) error {
	rc := startStream(c, "application/x-ndjson")
	// Send the header at once, as the HTML page sends its shell: the client
	// knows the page is coming before the first tile is done.
	if err := rc.Flush(); err != nil {
		return err
	}
	res := c.Response()
	ctx := c.Request().Context()
	var line []byte
	page, err := agg.Stream(ctx, req, func(r aggregator.Result) error {
		if err := ctx.Err(); err != nil {
			return err // the client has gone: send nothing more
		}
		line = append(appendTile(line[:0], r), '\n')
		if err := extendWriteDeadline(rc, stall); err != nil {
			return err
		}
		if _, err := res.Write(line); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil {
		return err // the client went away; logged, nothing more to send
	}
	if err := extendWriteDeadline(rc, stall); err != nil {
		return err
	}
	if _, err := res.Write(append(appendSummary(line[:0], page.Summary), '\n')); err != nil {
		return err
	}
	res.Header().Set("Server-Timing", serverTiming(page.Results, page.Elapsed))
	return nil
}

// streamHTML sends the page shell at once, then each tile as it finishes
// followed by a one-line nonce'd script that moves it into its slot, then
// the timing waterfall.
func streamHTML(c echo.Context, agg *aggregator.Aggregator, rend *renderer, req tiles.Request, stall time.Duration) error {
	nonce := newNonce()
	c.Response().Header().Set("Content-Security-Policy", contentSecurityPolicy(nonce))
	rc := startStream(c, echo.MIMETextHTMLCharsetUTF8)
	res := c.Response()
	err := rend.shell(res, shellView{Nonce: nonce, User: req.User, Tiles: agg.Names()})
	if err != nil {
		return err
	}
	if err := rc.Flush(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	page, err := agg.Stream(ctx, req, func(r aggregator.Result) error {
		if err := ctx.Err(); err != nil {
			return err // the client has gone: send nothing more
		}
		b, err := rend.tile(r, req.User)
		if err != nil {
			return err
		}
		if err := extendWriteDeadline(rc, stall); err != nil {
			return err
		}
		if _, err := res.Write(b); err != nil {
			return err
		}
		if err := rend.place(res, r.Name, nonce); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil {
		return err
	}
	if err := extendWriteDeadline(rc, stall); err != nil {
		return err
	}
	if err := rend.timing(res, page.Results, page.Elapsed); err != nil {
		return err
	}
	if err := rend.place(res, "timing", nonce); err != nil {
		return err
	}
	if err := rend.end(res); err != nil {
		return err
	}
	res.Header().Set("Server-Timing", serverTiming(page.Results, page.Elapsed))
	return nil
}
