package web

import (
	"crypto/rand"
	hexenc "encoding/hex" // hex is wire.go's digits
	"regexp"

	"github.com/labstack/echo/v4"
)

// headerRequestID carries a request's id: from the client, back to it, and
// on to every backend the request reaches.
const headerRequestID = "X-Request-Id"

// requestIDKey is where a request's id is kept in its echo.Context, for
// the request's log line.
const requestIDKey = "vitrine.request_id"

// requestIDPattern is what a client's id must be: 1 to 128 characters
// (a UUID, a trace id with its parent, a load balancer's composite id) of
// A-Z, a-z, 0-9 and . _ : - + / =, nothing that could split a header or a
// log line.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:+/=-]{1,128}$`)

// requestID gives the request its id: the client's X-Request-Id if it sent
// exactly one that is well-formed, else a new one (correlation is no reason
// to fail a page). It is echoed in the response and kept for the log line.
func requestID(c echo.Context) string {
	ids := c.Request().Header.Values(headerRequestID)
	var id string
	if len(ids) == 1 && requestIDPattern.MatchString(ids[0]) {
		id = ids[0]
	} else {
		id = newRequestID()
	}
	c.Response().Header().Set(headerRequestID, id)
	c.Set(requestIDKey, id)
	return id
}

// newRequestID returns 128 random bits in hex: unique across replicas.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hexenc.EncodeToString(b[:])
}

// loggedRequestID is the id requestID gave c, or "" if it gave none.
func loggedRequestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}
