package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLatePagesAreShed sends pages whose headers take a while to come in
// after their first byte: the server counts their wait from that byte, so a
// page that waited past half its page deadline (or all of it) is shed, a
// 200 whose every tile is its fallback, asked of no backend; one that waited
// less is served as usual. The client's pace is set with sleeps; nothing
// depends on how fast the machine is, but a page served in time.
func TestLatePagesAreShed(t *testing.T) {
	if testing.Short() {
		t.Skip("sends headers over seconds; skipped in -short mode")
	}
	s := start(t, "-cache=false", "-tile-timeout", "500ms", "-page-timeout", "1s")
	addr := strings.TrimPrefix(s.base, "http://")
	for _, tt := range []struct {
		trickle time.Duration
		want    string // each tile's status
	}{
		{0, "ok"},
		{700 * time.Millisecond, "fallback"},  // shed: waited
		{1500 * time.Millisecond, "fallback"}, // shed: expired
	} {
		code, statuses := trickledPage(t, addr, tt.trickle)
		if code != http.StatusOK || len(statuses) != 3 {
			t.Errorf("headers over %v: status %d, tiles %v; want 200 and 3 tiles", tt.trickle, code, statuses)
		}
		for name, st := range statuses {
			if st != tt.want {
				t.Errorf("headers over %v: %s is %s; want %s", tt.trickle, name, st, tt.want)
			}
		}
	}
	m, err := scrapeMetrics(http.DefaultClient, s.base)
	if err != nil {
		t.Fatal(err)
	}
	for reason, want := range map[string]float64{"waited": 1, "expired": 1} {
		if got := m.sum("vitrine_pages_shed_total", "reason", reason); got != want {
			t.Errorf("vitrine_pages_shed_total{reason=%q} = %v; want %v", reason, got, want)
		}
	}
	if got := m.sum("vitrine_backend_fetches_total"); got != 3 {
		t.Errorf("vitrine_backend_fetches_total = %v; want 3: the shed pages ask no backend", got)
	}
	if got := m.sum("vitrine_admission_wait_seconds_bucket", "le", "0.5"); got != 1 {
		t.Errorf("%v pages waited at most 0.5s; want 1", got)
	}
}

// trickledPage asks for /home on a connection of its own, sending the
// request line at once and the rest of the header after trickle, and says
// the status and each tile's status.
func trickledPage(t *testing.T, addr string, trickle time.Duration) (int, map[string]string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /home HTTP/1.1\r\n")
	time.Sleep(trickle)
	fmt.Fprint(c, "Host: vitrine\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("headers over %v: %v", trickle, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var page struct {
		Tiles map[string]struct {
			Status string `json:"status"`
		} `json:"tiles"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("headers over %v: %v in %s", trickle, err, body)
	}
	statuses := map[string]string{}
	for name, tile := range page.Tiles {
		statuses[name] = tile.Status
	}
	return res.StatusCode, statuses
}
