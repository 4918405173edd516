package httpjson_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"vitrine/httpjson"
)

func TestError(t *testing.T) {
	tests := []struct {
		name, method, msg, wantBody string
	}{
		{"GET", http.MethodGet, "no such path /x", `{"error":"no such path /x"}` + "\n"},
		{"escaped as encoding/json does", http.MethodGet, `<a & "b">`, `{"error":"\u003ca \u0026 \"b\"\u003e"}` + "\n"},
		{"HEAD gets the headers alone", http.MethodHead, "no such path /x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpjson.Error(rec, httptest.NewRequest(tt.method, "/x", nil), http.StatusNotFound, tt.msg)
			if got, want := rec.Code, http.StatusNotFound; got != want {
				t.Errorf("status = %d; want %d", got, want)
			}
			if got, want := rec.Header().Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type = %q; want %q", got, want)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q; want %q", got, tt.wantBody)
			}
			wantLength := strconv.Itoa(len(`{"error":""}`+"\n") + len(tt.msg))
			if tt.method == http.MethodGet {
				wantLength = strconv.Itoa(len(tt.wantBody))
			}
			if got := rec.Header().Get("Content-Length"); got != wantLength {
				t.Errorf("Content-Length = %s; want %s, the GET body's", got, wantLength)
			}
		})
	}
}
