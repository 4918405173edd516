package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// errTooLarge is readBody's answer to a body over the limit.
var errTooLarge = errors.New("body over the limit")

// readData reads and checks a 2xx answer's body. A failure says why the
// answer is unusable; an error is the transport's. JSON tiles require a
// JSON media type (application/json or application/*+json), whatever the
// body; HTML tiles require text/html, and their body becomes a JSON string.
func (f *Fetcher) readData(resp *http.Response) (json.RawMessage, failure, error) {
	if fail := f.checkType(resp.Header.Get("Content-Type")); fail.result != "" {
		drain(resp.Body)
		return nil, fail, nil
	}
	body, err := readBody(resp.Body, resp.ContentLength, f.maxBody)
	if errors.Is(err, errTooLarge) {
		return nil, failure{"body over " + size(f.maxBody), "too_large"}, nil
	}
	if err != nil {
		return nil, failure{}, err
	}
	if !f.html {
		if !json.Valid(body) || !utf8.Valid(body) {
			return nil, failure{"body is not valid JSON", "bad_json"}, nil
		}
		return body, failure{}, nil
	}
	if !utf8.Valid(body) {
		return nil, failure{"HTML body is not valid UTF-8", "bad_html"}, nil
	}
	data, _ := json.Marshal(string(body)) // a string always marshals
	return data, failure{}, nil
}

// checkType checks the answer's media type against what the tile expects.
func (f *Fetcher) checkType(contentType string) failure {
	want := "JSON"
	if f.html {
		want = "HTML"
	}
	if contentType == "" {
		return failure{"answered without a content type, not " + want, "bad_content_type"}
	}
	// The usual answers, without mime.ParseMediaType's allocations.
	switch contentType {
	case "application/json", "application/json; charset=utf-8":
		if !f.html {
			return failure{}
		}
	case "text/html", "text/html; charset=utf-8":
		if f.html {
			return failure{}
		}
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return failure{"answered a malformed content type, not " + want, "bad_content_type"}
	}
	ok := mt == "text/html"
	if !f.html {
		ok = mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
	}
	if !ok {
		return failure{fmt.Sprintf("answered %.60s, not %s", mt, want), "bad_content_type"}
	}
	return failure{}
}

// readBody reads at most limit bytes of body, or errTooLarge, which a
// declared length over the limit gives before reading.
func readBody(body io.Reader, length, limit int64) ([]byte, error) {
	if length > limit {
		return nil, errTooLarge
	}
	var buf bytes.Buffer
	if length >= 0 {
		buf.Grow(int(length) + bytes.MinRead) // room to see EOF without growing
	}
	if _, err := buf.ReadFrom(io.LimitReader(body, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

// size writes a byte count for people: "1 MiB", "1.5 MiB", "64 KiB", "100 bytes".
func size(n int64) string {
	for i, unit := range []string{"GiB", "MiB", "KiB"} {
		if u := int64(1) << (30 - 10*i); n >= u {
			x := math.Round(float64(n)/float64(u)*10) / 10
			return strconv.FormatFloat(x, 'f', -1, 64) + " " + unit
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
