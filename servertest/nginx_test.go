package servertest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// get fetches url and returns its body, failing on anything but a 200.
func get(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d; want 200 (%s)", url, res.StatusCode, body)
	}
	return string(body), res.Header
}

func TestNginxProxiesToABackend(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend saw %s", r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	site := fmt.Sprintf(`
    server {
        listen %d;
        location / { proxy_pass %s; }
    }`, FreePort(t), backend.URL)
	n := Nginx(t, site)

	body, h := get(t, n.URL()+"/home")
	if want := "backend saw /home"; body != want {
		t.Errorf("body = %q; want %q", body, want)
	}
	if got := h.Get("Server"); !strings.HasPrefix(got, "nginx") {
		t.Errorf("Server = %q; want nginx (the answer came through the proxy)", got)
	}

	n.Stop()
	if _, err := http.Get(n.URL()); err == nil {
		t.Error("GET answered after Stop; want no server")
	}
	n.Stop() // a second Stop does nothing
}
