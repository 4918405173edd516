package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// recordingBackend answers every path with the Accept-Language it was
// sent, as a JSON string, and keeps each request by path.
type recordingBackend struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string][]*http.Request
}

func newRecordingBackend(t *testing.T) *recordingBackend {
	b := &recordingBackend{seen: map[string][]*http.Request{}}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen[r.URL.Path] = append(b.seen[r.URL.Path], r.Clone(r.Context()))
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode("lang:" + r.Header.Get("Accept-Language"))
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *recordingBackend) requests(path string) []*http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[path]
}

// startForwarding runs Vitrine with three HTTP tiles: banners (no rules),
// offers (Accept-Language) and basket (personalised: the cart cookie, the
// user by header).
func startForwarding(t *testing.T, be *recordingBackend) *server {
	file := filepath.Join(t.TempDir(), "forward.yaml")
	yaml := fmt.Sprintf(`tiles:
  - name: banners
    url: %[1]s/banners
  - name: offers
    url: %[1]s/offers
    forward: {headers: [Accept-Language]}
  - name: basket
    url: %[1]s/basket
    personalised: true
    forward: {cookies: [cart], user: "header:X-User-Id"}
`, be.URL)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return start(t, "-config", file)
}

// forwardPage GETs the JSON page at url with the header lines given, and
// returns each tile's data.
func forwardPage(t *testing.T, url string, header ...string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/json")
	for _, h := range header {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Add(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Tiles map[string]struct{ Data json.RawMessage }
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	data := map[string]string{}
	for name, tile := range page.Tiles {
		data[name] = string(tile.Data)
	}
	return data
}

// TestForwardOverTheWire: each backend receives what its tile forwards and
// nothing else of the shopper's request: banners never the cookies,
// Authorization or the id; basket the user by header and only its cookie.
func TestForwardOverTheWire(t *testing.T) {
	be := newRecordingBackend(t)
	vitrine := startForwarding(t, be)
	forwardPage(t, vitrine.base+"/home?user=alice7&q=shoes", "Cookie: cart=c1; session=s3cret",
		"Authorization: Bearer t0ken", "Accept-Language: de", "X-User-Id: mallory")
	for _, path := range []string{"/banners", "/offers", "/basket"} {
		reqs := be.requests(path)
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests; want 1", path, len(reqs))
		}
		r := reqs[0]
		if r.Header.Get("Authorization") != "" || r.URL.Query().Has("user") || r.URL.Query().Has("q") {
			t.Errorf("%s received %s %v", path, r.URL, r.Header)
		}
		for _, secret := range []string{"s3cret", "t0ken", "mallory"} {
			if dump := fmt.Sprint(r.URL, r.Header); strings.Contains(dump, secret) {
				t.Errorf("%s received %q: %s", path, secret, dump)
			}
		}
		if got, want := r.Header.Get("X-User-Id"), map[string]string{"/basket": "alice7"}[path]; got != want {
			t.Errorf("%s: X-User-Id %q; want %q", path, got, want)
		}
		if got, want := r.Header.Get("Cookie"), map[string]string{"/basket": "cart=c1"}[path]; got != want {
			t.Errorf("%s: Cookie %q; want %q", path, got, want)
		}
		if got, want := r.Header.Get("Accept-Language"), map[string]string{"/offers": "de"}[path]; got != want {
			t.Errorf("%s: Accept-Language %q; want %q", path, got, want)
		}
	}
}

// TestForwardCachesPerValue: the offers tile is cached per language, so
// the de answer never serves en; past 100 distinct languages a new one is
// fetched every time, not cached, and counted.
func TestForwardCachesPerValue(t *testing.T) {
	be := newRecordingBackend(t)
	vitrine := startForwarding(t, be)
	for i, tt := range []struct {
		lang  string
		fetch int
	}{{"de", 1}, {"en", 2}, {"de", 2}, {"en", 2}} {
		page := forwardPage(t, vitrine.base+"/home", "Accept-Language: "+tt.lang)
		if got, want := page["offers"], `"lang:`+tt.lang+`"`; got != want {
			t.Errorf("page %d in %s: offers %s; want %s", i, tt.lang, got, want)
		}
		if got := len(be.requests("/offers")); got != tt.fetch {
			t.Errorf("page %d in %s: %d fetches of offers; want %d", i, tt.lang, got, tt.fetch)
		}
	}
	for i := range 98 { // 100 distinct languages with de and en
		forwardPage(t, vitrine.base+"/home", fmt.Sprintf("Accept-Language: x-%d", i))
	}
	for range 2 {
		if page := forwardPage(t, vitrine.base+"/home", "Accept-Language: fr"); page["offers"] != `"lang:fr"` {
			t.Errorf("offers in fr: %s", page["offers"])
		}
	}
	if got := len(be.requests("/offers")); got != 102 {
		t.Errorf("%d fetches of offers; want 102: fr, the 101st language, twice", got)
	}
	resp, err := http.Get(vitrine.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if want := `vitrine_forward_uncached_total{tile="offers"} 2`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
