// Package httpjson writes JSON answers as every Vitrine HTTP server does
// (the public port, the admin port, the simulated backends): a document
// with its status, and errors in the contract's shape,
// {"error": "a sentence a person can act on"}.
package httpjson

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Write sends body, a JSON document, with status; HEAD gets the headers
// alone.
func Write(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // a client that left is not an error to report
	}
}

// Error sends {"error": msg} with status, on a line of its own.
func Error(w http.ResponseWriter, r *http.Request, status int, msg string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg}) // a string always encodes
	Write(w, r, status, append(body, '\n'))
}
