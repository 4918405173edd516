package main

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"vitrine/web/webtest"
)

// awaitStuck polls base's /metrics until want requests to route are in
// flight and no page has been assembled for a while: each is stuck on a
// write its client does not read. It fails the test after 10s.
func awaitStuck(t *testing.T, base, route string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	lastPages, still := -1.0, 0
	for {
		m, err := scrapeMetrics(http.DefaultClient, base)
		if err != nil {
			t.Fatalf("scraping /metrics: %v", err)
		}
		inFlight, pages := m.sum("vitrine_http_requests_in_flight", "route", route), m.sum("vitrine_pages_total")
		if inFlight == want && pages == lastPages {
			still++
		} else {
			still = 0
		}
		if still == 3 { // 300ms without a page
			return
		}
		lastPages = pages
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %v requests to %s in flight, %v pages assembled and counting; want %v stuck", inFlight, route, pages, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBinaryShutdownCutsNonReaders sends SIGTERM to the built binary while
// clients that never read their answers hold requests in flight, stuck on
// writes. The drain (-shutdown-timeout) ends, the server closes what is
// left, logs how many requests it cut, and exits 0 (cutting them is what
// a bounded drain is for), well within the drain plus a bound.
func TestBinaryShutdownCutsNonReaders(t *testing.T) {
	bin := buildBinary(t)
	// Shorter than the write stall (web.DefaultWriteStall, 5s): the stuck
	// requests are still there when the drain ends.
	const drain = 500 * time.Millisecond
	p := startBinary(t, bin, cleanEnv(), append(fastArgs, "-shutdown-timeout", drain.String())...)
	const clients = 2
	for range clients {
		webtest.NonReader(t, strings.TrimPrefix(p.base, "http://"), "/home?format=html&user=w%d", 2000)
	}
	awaitStuck(t, p.base, "/home", clients)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(drain + 10*time.Second):
		t.Fatalf("vitrine still running %v after SIGTERM with a drain of %v", drain+10*time.Second, drain)
	}
	if p.err != nil {
		t.Errorf("vitrine after SIGTERM: %v; want exit status 0", p.err)
	}
	stderr := p.stderr.String()
	if want := fmt.Sprintf("cut=%d", clients); !strings.Contains(stderr, "drain over") || !strings.Contains(stderr, want) {
		t.Errorf("stderr does not log the drain's end with %s:\n%s", want, stderr)
	}
}
