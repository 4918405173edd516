package web

import (
	"crypto/rand"
	hexenc "encoding/hex" // hex is wire.go's digits

	"github.com/labstack/echo/v4"
)

// headerRequestID carries a request's id: from the client, back to it, and
// on to every backend the request reaches.
const headerRequestID = "X-Request-Id"

// requestIDKey is where a request's id is kept in its echo.Context, for
// the request's log line.
const requestIDKey = "vitrine.request_id"

// maxRequestID is the longest client id kept: room for a UUID, a trace id
// with its parent, or a load balancer's composite id.
const maxRequestID = 128

// requestID gives the request its id: the client's X-Request-Id if it sent
// exactly one that is well-formed, else a new one (correlation is no reason
// to fail a page). It is echoed in the response and kept for the log line.
func requestID(c echo.Context) string {
	ids := c.Request().Header.Values(headerRequestID)
	var id string
	if len(ids) == 1 && validRequestID(ids[0]) {
		id = ids[0]
	} else {
		id = newRequestID()
	}
	c.Response().Header().Set(headerRequestID, id)
	c.Set(requestIDKey, id)
	return id
}

// validRequestID reports whether id is 1 to 128 characters of A-Z, a-z,
// 0-9 and . _ : - + / =: enough for UUIDs, hex, base64 and composite ids,
// and nothing that could split a header or a log line.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == ':', c == '-', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
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
