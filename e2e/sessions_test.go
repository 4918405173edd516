package e2e

// Two shoppers, each with a signed session cookie in a browser context of
// its own, and an anonymous one, take turns loading the homepage of one
// Vitrine (the built binary, cache on, a redis-server as its shared tier,
// -identity cookie and -key-secret): each always sees its own
// recommendations, never the other's, in the HTML page and in the JSON page
// its browser fetches. A second Vitrine on the same Redis then serves them
// from the shared tier alone, again each its own.

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/securecookie"

	"vitrine/catalogue"
	"vitrine/servertest"
)

// sessionKey signs the test's session cookies; Vitrine gets it as
// VITRINE_IDENTITY_KEYS.
const sessionKey = "e2e-session-key-0123456789abcdef"

// signCookie is the value of the session cookie sid naming user, as a shop's
// login writes it (docs/identity.md): gorilla/securecookie, NopEncoder, an
// HMAC key and no encryption key.
func signCookie(t *testing.T, user string) string {
	t.Helper()
	sc := securecookie.New([]byte(sessionKey), nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	v, err := sc.Encode("sid", []byte(user))
	if err != nil {
		t.Fatalf("signing %s's cookie: %v", user, err)
	}
	return v
}

// buildVitrine builds the vitrine binary into the test's temp dir.
func buildVitrine(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build vitrine: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "vitrine")
	if out, err := exec.Command(goTool, "build", "-o", bin, "vitrine").CombinedOutput(); err != nil {
		t.Fatalf("go build vitrine: %v\n%s", err, out)
	}
	return bin
}

var servingRE = regexp.MustCompile(`^vitrine: serving (http://\S+)/home$`)

// startVitrine runs bin on a free loopback port with args, and env besides
// the test's (without its VITRINE_* variables), until the test ends, and
// returns its base URL once it serves.
func startVitrine(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VITRINE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	stderr := &servertest.Buffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting vitrine: %v", err)
	}
	exited := make(chan struct{})
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("vitrine's stderr:\n%s", stderr)
		}
	})
	select {
	case url := <-base:
		return url
	case <-exited:
		t.Fatalf("vitrine ended before serving: %s", stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("vitrine not serving after 20s: %s", stderr)
	}
	return ""
}

// shopper is one browser context with its own cookie jar: user's session
// cookie in it, or none for an anonymous shopper ("").
type shopper struct {
	user, cookie string // cookie: "sid=VALUE", or "" for no cookie
	tab          *tab
}

// newShopper opens a tab in a browser context of its own and, for a user,
// puts their session cookie in its jar for base's host.
func newShopper(t *testing.T, browser context.Context, base, user string) *shopper {
	t.Helper()
	s := &shopper{user: user, tab: openTab(t, browser, chromedp.WithNewBrowserContext())}
	if user != "" {
		httpOnly, value := true, signCookie(t, user)
		s.cookie = "sid=" + value
		if _, err := chromedp.Call(s.tab.ctx, network.SetCookie, network.SetCookieParams{
			Name: "sid", Value: value, URL: base, HTTPOnly: &httpOnly,
		}); err != nil {
			t.Fatalf("setting %s's cookie: %v", user, err)
		}
	}
	return s
}

// String names the shopper in messages.
func (s *shopper) String() string {
	if s.user == "" {
		return "the anonymous shopper"
	}
	return s.user
}

// cookies are the cookies the shopper's browser context sends to base, as
// they appear in a Cookie header.
func (s *shopper) cookies(t *testing.T, base string) string {
	t.Helper()
	res, err := chromedp.Call(s.tab.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		t.Fatalf("cookies of %s: %v", s, err)
	}
	var out []string
	for _, c := range res.Cookies {
		out = append(out, c.Name+"="+c.Value)
	}
	return strings.Join(out, "; ")
}

// recoTileJS is what the recommendations tile shows: its status, heading,
// reason and products' names.
const recoTileJS = `(() => {
  const tile = document.querySelector("main#main > [data-tile=recommendations]");
  if (!tile) return null;
  return {
    status: tile.dataset.status,
    heading: tile.querySelector("h2").textContent,
    reason: (tile.querySelector(".reason") || {}).textContent || "",
    products: Array.from(tile.querySelectorAll(".product h3"), (h) => h.textContent),
  };
})()`

// recoTile is what recoTileJS reads.
type recoTile struct {
	Status   string   `json:"status"`
	Heading  string   `json:"heading"`
	Reason   string   `json:"reason"`
	Products []string `json:"products"`
}

func (r recoTile) String() string {
	return fmt.Sprintf("{%s %q, %q, %q}", r.Status, r.Heading, r.Reason, r.Products)
}

// wantTile is what the recommendations tile shows to user: the simulated
// catalogue's picks for them.
func wantTile(user string) recoTile {
	r := catalogue.Default().Recommend(user)
	tile := recoTile{Status: "ok", Heading: "Recommended for you", Reason: r.Reason}
	if user != "" {
		tile.Heading = "Picked for " + user
	}
	for _, p := range r.Items {
		tile.Products = append(tile.Products, p.Name)
	}
	return tile
}

// recoJSONJS fetches the JSON page from the shopper's page, with its
// cookies, and returns the recommendations tile.
const recoJSONJS = `fetch("/home", {headers: {Accept: "application/json"}})
  .then((r) => r.json()).then((p) => p.tiles.recommendations)`

// recoJSON is the recommendations tile of the JSON page.
type recoJSON struct {
	Status string                    `json:"status"`
	Data   catalogue.Recommendations `json:"data"`
}

// visit loads base's homepage in the shopper's tab and checks that the
// recommendations tile, on the page and in the JSON page fetched from it, is
// the shopper's own.
func (s *shopper) visit(t *testing.T, base, round string) {
	t.Helper()
	s.tab.open(t, base+"/home")
	if got, want := eval[*recoTile](t, s.tab, recoTileJS), wantTile(s.user); got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("%s, %s sees recommendations %v; want their own, %v", round, s, got, want)
	}
	ctx, cancel := context.WithTimeout(s.tab.ctx, 10*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[recoJSON](recoJSONJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s, %s fetching the JSON page: %v", round, s, err)
	}
	if want := catalogue.Default().Recommend(s.user); got.Status != "ok" || !reflect.DeepEqual(got.Data, want) {
		t.Errorf("%s, %s's JSON page has recommendations %s %s; want ok and their own, %s",
			round, s, got.Status, picks(got.Data), picks(want))
	}
}

// picks sums r up for a message: its user, reason and products.
func picks(r catalogue.Recommendations) string {
	var ids []string
	for _, p := range r.Items {
		ids = append(ids, p.ID)
	}
	return fmt.Sprintf("{user %q, %q, %v}", r.User, r.Reason, ids)
}

// metric is the value of the sample named exactly series in base's /metrics.
func metric(t *testing.T, base, series string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return v
		}
	}
	return "(absent)"
}

// TestSessionsSeeTheirOwnTiles: alice and bob, each with a signed session
// cookie in a browser context of their own, and an anonymous shopper take
// turns loading the homepage of one Vitrine whose cache and shared tier
// hold the recommendations of all three. Each always sees their own, never
// another's; a second Vitrine on the same Redis serves them from there, each
// their own. The recommendations backend is asked once per shopper, so the
// pages after the first came from the cache.
func TestSessionsSeeTheirOwnTiles(t *testing.T) {
	browser := startBrowser(t)
	rdb := servertest.Redis(t)
	bin := buildVitrine(t)
	b := startBackends(t, map[string]time.Duration{"banners": 0, "products": 0, "recommendations": 0})
	users := []string{"alice", "bob", ""}
	for i, u := range users[:2] {
		if other := users[1-i]; reflect.DeepEqual(wantTile(u).Products, wantTile(other).Products) {
			t.Fatalf("%s and %s have the same picks: the test could not tell them apart", u, other)
		}
	}
	file := filepath.Join(t.TempDir(), "shop.yaml")
	yaml := "identity: {source: cookie, cookie: sid}\ntiles:\n"
	for _, name := range []string{"banners", "products", "recommendations"} {
		yaml += fmt.Sprintf("  - name: %s\n    url: %[2]s/%[1]s\n    ttl: 5m\n    personalised: %[3]v\n",
			name, b.url, name == "recommendations")
	}
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"VITRINE_IDENTITY_KEYS=" + sessionKey}
	args := []string{"-config", file, "-redis", rdb.URL(), "-key-secret", "the e2e test's key secret"}
	first := startVitrine(t, bin, env, args...)

	var shoppers []*shopper
	for _, u := range users {
		shoppers = append(shoppers, newShopper(t, browser, first, u))
	}
	for _, s := range shoppers { // the jars are apart: each holds its own cookie only
		if got := s.cookies(t, first); got != s.cookie {
			t.Fatalf("%s's browser context sends cookies %q; want only their own, %q", s, got, s.cookie)
		}
	}
	const rounds = 3
	for r := range rounds {
		for _, s := range shoppers {
			s.visit(t, first, fmt.Sprintf("round %d", r+1))
		}
	}
	// Every page and JSON page reached Vitrine, with the cookie it was sent.
	for result, want := range map[string]int{"valid": 2 * 2 * rounds, "absent": 2 * rounds} {
		if got := metric(t, first, `vitrine_identity_total{result="`+result+`"}`); got != fmt.Sprint(want) {
			t.Errorf("vitrine_identity_total{result=%q} = %s; want %d (a page and a JSON page per shopper and round)",
				result, got, want)
		}
	}
	fetched := func(what string) {
		t.Helper()
		st := b.stats(t)["recommendations"]
		if want := map[string]int64{"alice": 1, "bob": 1, "": 1}; !reflect.DeepEqual(st, want) {
			t.Errorf("%s, the recommendations backend was asked %v times by user; want once each, the rest cached", what, st)
		}
	}
	fetched(fmt.Sprintf("after %d rounds", rounds))

	second := startVitrine(t, bin, env, args...) // its memory is cold: Redis serves it
	for _, s := range slices.Backward(shoppers) {
		s.visit(t, second, "from the second Vitrine")
	}
	fetched("after the second Vitrine")
	for _, s := range shoppers {
		s.tab.checkClean(t)
	}
}
