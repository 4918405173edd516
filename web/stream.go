package web

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// streamOut is where a streamed response goes, each tile flushed as it
// finishes. With header-deciding tiles (pageHeaders), the header waits for
// their results (the primary's decides the status, and their cookies go in
// it): until then what the stream writes is held in memory.
type streamOut struct {
	res     *echo.Response
	rc      *http.ResponseController
	stall   time.Duration
	ph      *pageHeaders
	user    string
	waiting int // header-deciding tiles yet to finish
	status  int
	cookies []string
	held    *bytes.Buffer // nil once the header is sent
}

// startStream prepares the header of a streamed response and sends it,
// unless it must wait for header-deciding tiles.
func startStream(c echo.Context, contentType string, ph *pageHeaders, user string, stall time.Duration) *streamOut {
	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, contentType)
	h.Set("X-Accel-Buffering", "no") // asks nginx to pass each tile on at once
	h.Set("Trailer", "Server-Timing")
	out := &streamOut{res: res, rc: http.NewResponseController(res.Writer), stall: stall, ph: ph, user: user,
		waiting: len(ph.deciders), status: http.StatusOK}
	if out.waiting == 0 {
		ph.write(h, nil, user, http.StatusOK)
		res.WriteHeader(http.StatusOK)
	} else {
		out.held = new(bytes.Buffer)
	}
	return out
}

func (s *streamOut) Write(p []byte) (int, error) {
	if s.held != nil {
		return s.held.Write(p)
	}
	return s.res.Write(p)
}

// extend moves the write deadline before a write that reaches the client.
func (s *streamOut) extend() error {
	if s.held != nil {
		return nil // nothing reaches the client yet; its header will start the clock
	}
	return extendWriteDeadline(s.rc, s.stall)
}

// flush sends what was written, unless it is held.
func (s *streamOut) flush() error {
	if s.held != nil {
		return nil
	}
	return s.rc.Flush()
}

// decide keeps r's cookies if its tile may set them and, once the last
// header-deciding tile has finished, sends the header; else it flushes.
func (s *streamOut) decide(r aggregator.Result) error {
	s.cookies = append(s.cookies, s.ph.cookies(r)...)
	if s.held == nil || !s.ph.deciders[r.Name] {
		return s.flush()
	}
	if r.Name == s.ph.primary {
		s.status = primaryStatus(r)
	}
	if s.waiting--; s.waiting > 0 {
		return nil
	}
	return s.release()
}

// release sends the header, with the status and cookies the deciding tiles
// gave, then what was held, and flushes. It does nothing once the header is
// sent.
func (s *streamOut) release() error {
	if s.held == nil {
		return nil
	}
	held := s.held
	s.held = nil
	s.ph.write(s.res.Header(), s.cookies, s.user, s.status)
	s.res.WriteHeader(s.status) // starts the write deadline (writeDeadlines)
	if _, err := s.res.Write(held.Bytes()); err != nil {
		return err
	}
	return s.rc.Flush()
}

// streamNDJSON writes one JSON line per tile, in completion order, then the
// summary line.
func streamNDJSON(c echo.Context, pt pageTrace, agg *aggregator.Aggregator, req tiles.Request, ph *pageHeaders,
	stall time.Duration) error {
	out := startStream(c, "application/x-ndjson", ph, req.User, stall)
	var line []byte
	return out.stream(pt, agg, req, func(r aggregator.Result) error {
		line = append(appendTile(line[:0], r), '\n')
		_, err := out.Write(line)
		return err
	}, func(page aggregator.Page) error {
		_, err := out.Write(append(appendTraceID(appendSummary(line[:0], page.Summary), pt.traceID(page)), '\n'))
		return err
	})
}

// streamHTML sends the page shell, then each tile as it finishes with a
// nonce'd script that moves it into its slot, then the timing waterfall.
func streamHTML(c echo.Context, pt pageTrace, agg *aggregator.Aggregator, rend *renderer, req tiles.Request,
	ph *pageHeaders, stall time.Duration) error {
	nonce := random128(base64.RawURLEncoding.EncodeToString)
	c.Response().Header().Set("Content-Security-Policy", contentSecurityPolicy(nonce))
	out := startStream(c, echo.MIMETextHTMLCharsetUTF8, ph, req.User, stall)
	if err := rend.shell(out, nonce, req.User, agg.Names()); err != nil {
		return err
	}
	return out.stream(pt, agg, req, func(r aggregator.Result) error {
		b, err := rend.tile(r, req)
		if err != nil {
			return err
		}
		if _, err := out.Write(b); err != nil {
			return err
		}
		return rend.place(out, r.Name, nonce)
	}, func(page aggregator.Page) error {
		return rend.finish(out, page, pt.traceID(page), nonce)
	})
}

// stream sends what was written so far (unless it is held), then runs the
// page's tiles under pt, writing each as it finishes, then the page's end.
// Server-Timing is a trailer.
func (s *streamOut) stream(pt pageTrace, agg *aggregator.Aggregator, req tiles.Request,
	tile func(aggregator.Result) error, end func(aggregator.Page) error) error {
	if err := s.flush(); err != nil {
		return err
	}
	ctx := pt.ctx
	page, err := agg.Stream(ctx, req, func(r aggregator.Result) error {
		if err := ctx.Err(); err != nil {
			return err // the client has gone: send nothing more
		}
		if err := s.extend(); err != nil {
			return err
		}
		if err := tile(r); err != nil {
			return err
		}
		return s.decide(r)
	})
	pt.end(page, err)
	if err != nil {
		if s.held != nil && ctx.Err() != nil {
			return nil // the client left before the header: no one to answer
		}
		return err // for the error handler to log, or answer if nothing was sent
	}
	if err := s.extend(); err != nil {
		return err
	}
	if err := end(page); err != nil {
		return err
	}
	s.res.Header().Set("Server-Timing", serverTiming(page.Results, page.Elapsed))
	return s.release() // a no-op once the header-deciding tiles have sent the header
}
