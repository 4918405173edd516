package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"vitrine/tracing/tracingtest"
)

// TestTraceAcrossProcesses follows one page across Vitrine and `vitrine
// backends`, both exporting over OTLP/HTTP to a receiver in the test: the
// client's traceparent is continued by Vitrine's server span, under it the
// page, its tiles, each tile's backend attempt and HTTP request, and the
// backends' server spans, all in the client's trace.
func TestTraceAcrossProcesses(t *testing.T) {
	recv := tracingtest.NewReceiver(t, true)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	be := startBackends(t, "-trace", "otlp", "-latency", "banners=1ms,products=2ms,recommendations=3ms")
	vitrine := start(t, "-trace", "otlp", "-cache=false", "-hedge", "banners=off,products=off,recommendations=off",
		"-backend", tilesAt(be.base))

	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodGet, vitrine.base+"/home?user=alice", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-"+clientSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Stopping flushes both exporters.
	if err := vitrine.stop(); err != nil {
		t.Fatal(err)
	}
	if err := be.stop(); err != nil {
		t.Fatal(err)
	}

	byID := map[string]tracingtest.Span{}
	children := map[string][]tracingtest.Span{}
	for _, s := range recv.Spans() {
		if s.TraceID != traceID {
			continue // the test's own /healthz polls, each a trace
		}
		byID[s.SpanID] = s
		children[s.Parent] = append(children[s.Parent], s)
	}
	one := func(parent, name string) tracingtest.Span {
		t.Helper()
		var found []tracingtest.Span
		for _, s := range children[parent] {
			if s.Name == name {
				found = append(found, s)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d spans %q under %s (%q); want 1; children: %v", len(found), name, parent, byID[parent].Name, children[parent])
		}
		return found[0]
	}
	server := one(clientSpan, "GET /home")
	page := one(server.SpanID, "page")
	if page.Attrs["vitrine.user"] != "true" || page.Attrs["vitrine.tiles"] != "3" || page.Attrs["vitrine.complete"] != "true" || page.Attrs["vitrine.format"] != "json" {
		t.Errorf("page attributes %v; want user true, tiles 3, complete true, format json", page.Attrs)
	}
	for _, name := range []string{"banners", "products", "recommendations"} {
		tile := one(page.SpanID, "tile "+name)
		if tile.Attrs["vitrine.status"] != "ok" || tile.Service != "vitrine" {
			t.Errorf("tile %s: %v from %s; want status ok from vitrine", name, tile.Attrs, tile.Service)
		}
		attempt := one(tile.SpanID, "attempt")
		if attempt.Attrs["vitrine.attempt"] != "first" || attempt.Attrs["vitrine.result"] != "won" {
			t.Errorf("%s attempt %v; want first, won", name, attempt.Attrs)
		}
		if len(children[attempt.SpanID]) != 1 {
			t.Fatalf("%s attempt has %d children; want its HTTP request", name, len(children[attempt.SpanID]))
		}
		client := children[attempt.SpanID][0]
		backend := one(client.SpanID, "GET /"+name)
		if backend.Service != "vitrine-backends" {
			t.Errorf("%s backend span from %q; want vitrine-backends", name, backend.Service)
		}
	}
	if !strings.Contains(vitrine.stderr.String(), "trace_id="+traceID) {
		t.Errorf("Vitrine's log has no line with trace_id=%s:\n%s", traceID, vitrine.stderr)
	}
}

// TestTraceSample runs Vitrine with -trace-sample 0 and 1 and sends three
// pages: one under a sampled traceparent, which is continued whatever the
// ratio; one under an unsampled traceparent, never exported; one with
// none, a root traced at the ratio.
func TestTraceSample(t *testing.T) {
	const sampled, unsampled = "4bf92f3577b34da6a3ce929d0e0e4736", "5bf92f3577b34da6a3ce929d0e0e4737"
	for _, ratio := range []string{"0", "1"} {
		t.Run(ratio, func(t *testing.T) {
			recv := tracingtest.NewReceiver(t, true)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
			vitrine := start(t, append([]string{"-trace", "otlp", "-trace-sample", ratio}, fastArgs...)...)
			get := func(traceparent string) (traceID string) {
				req, _ := http.NewRequest(http.MethodGet, vitrine.base+"/home", nil)
				if traceparent != "" {
					req.Header.Set("traceparent", traceparent)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var page struct {
					TraceID string `json:"trace_id"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
					t.Fatal(err)
				}
				return page.TraceID
			}
			get("00-" + sampled + "-00f067aa0ba902b7-01")
			get("00-" + unsampled + "-00f067aa0ba902b7-00")
			root := get("")
			if err := vitrine.stop(); err != nil { // flushes the exporter
				t.Fatal(err)
			}
			pages := map[string]int{}
			for _, s := range recv.Spans() {
				if s.Name == "page" {
					pages[s.TraceID]++
				}
			}
			want := map[string]int{sampled: 1}
			if ratio == "1" {
				want[root] = 1
			}
			if root != "" != (ratio == "1") || !maps.Equal(pages, want) {
				t.Errorf("page spans by trace %v, the root page's trace id %q; want %v", pages, root, want)
			}
		})
	}
}
