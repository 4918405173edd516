// Package e2e holds Vitrine's end-to-end tests: they serve the real tiles
// from web.NewServer on a real socket and open the homepage in a real
// headless Chromium, driven from Go with chromedp, to prove what only a
// browser can show. The page frame appears before any tile, tiles appear
// as they finish and take their places in the layout, a timed-out tile
// offers a retry that works, and the page logs no error and breaks no
// Content-Security-Policy rule. The screen tests lay the page out on
// phones (with mobile emulation), a tablet and a laptop, in light and dark
// mode: nothing wider than the screen, two product columns on a phone, and
// Web Vitals measured while the tiles stream in (layout shift, first
// contentful paint). The tests save screenshots of the finished page (to
// VITRINE_SCREENSHOT and, on a phone, VITRINE_SCREENSHOT_PHONE when set;
// the page with a fourth tile over HTTP to VITRINE_SCREENSHOT_FOURTH).
// With real HTTP backends (sim.Handler, as `vitrine backends` serves
// them), the built-in tiles draw as from the in-process simulator, a tile
// Vitrine does not know shows in the generic view of its JSON, and a
// backend's HTML fragment shows its markup without its script, and a
// hostile one can neither navigate the page nor take another tile's place.
// The accessibility tests audit the page with axe-core in every state,
// width and colour scheme, and walk it with the Tab key to every product
// and retry link. Two shoppers with signed session cookies, each in a
// browser context of its own, and an anonymous one take turns on one
// Vitrine (the built binary, with a redis-server as its shared tier), and
// each always sees its own recommendations.
//
// The tests need a Chromium: $CHROMIUM, /usr/bin/chromium or chromium in
// PATH. Without one they skip, or fail when CI=true. The axe-core audit
// also needs axe.min.js, named by VITRINE_AXE (.ci/run installs axe-core
// from npm); without it, it skips, or fails when CI=true. The sessions
// test also needs redis-server (servertest) and the go tool, to build
// vitrine.
package e2e

import (
	"errors"
	"os"
	"os/exec"
)

// FindBrowser returns the path of the Chromium to drive: $CHROMIUM if set,
// else /usr/bin/chromium, else the first of chromium, chromium-browser,
// google-chrome-stable and google-chrome found in PATH.
func FindBrowser(getenv func(string) string) (string, error) {
	if p := getenv("CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", errors.New("CHROMIUM=" + p + ": " + err.Error())
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: set CHROMIUM, or install one (apt-get install chromium)")
}
