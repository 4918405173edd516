package web

// Tests of the primary tile: it decides /home's status in every form, the
// streamed forms hold their header (not the other tiles) until it is done,
// and the body is still the whole page. Inside testing/synctest bubbles: a
// tile held on a channel blocks until the test lets it go, and
// synctest.Wait says when everything else has happened.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"vitrine/aggregator"
	"vitrine/tiles"
	"vitrine/tiles/tilestest"
)

// primaryServer serves fs with primary as the primary tile.
func primaryServer(t testing.TB, timeout time.Duration, primary string, fs ...tiles.Fetcher) http.Handler {
	t.Helper()
	agg, err := aggregator.New(fs, aggregator.Options{TileTimeout: timeout})
	if err != nil {
		t.Fatalf("aggregator.New: %v", err)
	}
	return NewServer(slog.New(slog.DiscardHandler), agg, Options{Primary: primary})
}

// formTiles returns what each form of the page says of its tiles: name to
// status, for every tile in the body.
var formTiles = map[string]func(t *testing.T, body string) map[string]string{
	"json": func(t *testing.T, body string) map[string]string {
		var page struct {
			Tiles map[string]struct{ Status string } `json:"tiles"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		out := map[string]string{}
		for name, tile := range page.Tiles {
			out[name] = tile.Status
		}
		return out
	},
	"ndjson": func(t *testing.T, body string) map[string]string {
		out := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			var line struct{ Name, Status string }
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			if line.Name != "" {
				out[line.Name] = line.Status
			}
		}
		return out
	},
	"html": func(t *testing.T, body string) map[string]string {
		if !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
			t.Errorf("page does not end with </html>: the whole page must be drawn")
		}
		out := map[string]string{}
		for _, n := range streamedTiles(t, body) {
			name, _ := attr(n, "data-tile")
			out[name], _ = attr(n, "data-status")
		}
		return out
	},
}

func TestPrimaryStatus(t *testing.T) {
	data := json.RawMessage(`{"title":"Featured","items":[]}`)
	gone := func(code int) error { return &tiles.BackendError{Tile: "products", Code: code} }
	tests := []struct {
		name       string
		primary    *tilestest.Fetcher
		wantCode   int
		wantStatus string // the primary tile's status in the body
	}{
		{"ok", tilestest.After("products", 80*time.Millisecond, data), http.StatusOK, "ok"},
		{"backend 404", tilestest.Failing("products", gone(404)), http.StatusNotFound, "error"},
		{"backend 410", tilestest.Failing("products", gone(410)), http.StatusGone, "error"},
		{"backend 500", tilestest.Failing("products", gone(500)), http.StatusBadGateway, "error"},
		{"timeout", tilestest.After("products", 5*time.Second, data), http.StatusGatewayTimeout, "timeout"},
		{"error", tilestest.Failing("products", errors.New("connection refused")), http.StatusBadGateway, "error"},
		{"stale with a 503 cause", tilestest.Serving("products", tiles.Outcome{Data: data, Status: tiles.StatusStale, Age: time.Minute, Cause: gone(503)}),
			http.StatusOK, "stale"},
		{"fallback", tilestest.Serving("products", tiles.Outcome{Data: data, Status: tiles.StatusFallback, Cause: errors.New("down")}),
			http.StatusOK, "fallback"},
		// The backend's "does not exist" wins over the content drawn instead.
		{"fallback for a 404", tilestest.Serving("products", tiles.Outcome{Data: data, Status: tiles.StatusFallback, Cause: gone(404)}),
			http.StatusNotFound, "fallback"},
	}
	for _, tt := range tests {
		for _, form := range []string{"json", "html", "ndjson"} {
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					banners := tilestest.After("banners", 10*time.Millisecond, json.RawMessage(`{"items":[]}`))
					e := primaryServer(t, 500*time.Millisecond, "products", banners, tt.primary)
					rec, _ := serveAt(t.Context(), e, "/home?format="+form)
					if rec.code != tt.wantCode {
						t.Errorf("status = %d; want %d", rec.code, tt.wantCode)
					}
					got := formTiles[form](t, rec.body.String())
					if got["products"] != tt.wantStatus || got["banners"] != "ok" || len(got) != 2 {
						t.Errorf("tiles = %v; want products %s and banners ok", got, tt.wantStatus)
					}
					if form != "json" {
						if tr := rec.sent.Get("Trailer"); tr != "Server-Timing" {
							t.Errorf("Trailer = %q; want Server-Timing", tr)
						}
					}
					if st := rec.header.Get("Server-Timing"); !strings.Contains(st, "products;") || !strings.Contains(st, "total;") {
						t.Errorf("Server-Timing = %q; want products and total", st)
					}
				})
			})
		}
	}
}

// tileOrder returns the names of the tiles in a piece of a streamed page,
// in the order sent.
func tileOrder(t *testing.T, form, body string) []string {
	var out []string
	if form == "html" {
		for _, n := range streamedTiles(t, body) {
			name, _ := attr(n, "data-tile")
			out = append(out, name)
		}
		return out
	}
	for line := range strings.Lines(body) {
		var tile struct{ Name string }
		if err := json.Unmarshal([]byte(line), &tile); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if tile.Name != "" {
			out = append(out, tile.Name)
		}
	}
	return out
}

// TestPrimaryHoldsHeader: with a primary slower than another tile, nothing
// is sent, header included, until the primary is done, while the faster
// tile is fetched and finishes; then the header goes with everything so
// far (the faster tile first), and the page goes on streaming.
func TestPrimaryHoldsHeader(t *testing.T) {
	for _, form := range []string{"html", "ndjson"} {
		t.Run(form, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				held := &tilestest.Fetcher{TileName: "products", FetchFn: func(ctx context.Context, _ tiles.Request) (tiles.Outcome, error) {
					select {
					case <-release:
						return tiles.Outcome{}, &tiles.BackendError{Tile: "products", Code: 404}
					case <-ctx.Done():
						return tiles.Outcome{}, ctx.Err()
					}
				}}
				fast := tilestest.After("banners", 0, json.RawMessage(`{"items":[]}`))
				slow := tilestest.After("recommendations", time.Second, json.RawMessage(`{"items":[]}`))
				e := primaryServer(t, 5*time.Second, "products", fast, held, slow)
				rec := newClockRecorder()
				done := make(chan struct{})
				go func() {
					defer close(done)
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "/home?format="+form, nil)
					e.ServeHTTP(rec, req)
				}()
				synctest.Wait() // every goroutine blocked: banners done, products held
				if fast.Calls() != 1 || held.Calls() != 1 || slow.Calls() != 1 {
					t.Errorf("calls = %d, %d, %d; want every tile fetched at once", fast.Calls(), held.Calls(), slow.Calls())
				}
				rec.mu.Lock()
				code, wrote, flushed := rec.code, rec.body.Len(), len(rec.flushes)
				rec.mu.Unlock()
				if code != 0 || wrote != 0 || flushed != 0 {
					t.Fatalf("before the primary: status %d, %d bytes, %d flushes; want nothing sent", code, wrote, flushed)
				}
				close(release)
				synctest.Wait()
				if got, want := rec.code, http.StatusNotFound; got != want {
					t.Errorf("status = %d; want %d", got, want)
				}
				cs := rec.chunks()
				if len(cs) == 0 {
					t.Fatal("nothing sent after the primary")
				}
				if got, want := tileOrder(t, form, string(cs[0].body)), []string{"banners", "products"}; !slices.Equal(got, want) {
					t.Errorf("first chunk holds %v; want %v (completion order, not yet recommendations)", got, want)
				}
				<-done
				got := formTiles[form](t, rec.body.String())
				if got["recommendations"] != "ok" || len(got) != 3 {
					t.Errorf("tiles = %v; want all three, recommendations ok", got)
				}
				cs = rec.chunks()
				if last := cs[len(cs)-1]; last.at != time.Second {
					t.Errorf("last chunk at %v; want 1s, when recommendations finished", last.at)
				}
			})
		})
	}
}

// TestNoPrimaryHeaderFirst: without a primary tile the header is sent
// before any tile is done, as always.
func TestNoPrimaryHeaderFirst(t *testing.T) {
	for _, form := range []string{"html", "ndjson"} {
		t.Run(form, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				slow := tilestest.After("products", 100*time.Millisecond, json.RawMessage(`{"items":[]}`))
				e := primaryServer(t, time.Second, "", slow)
				rec, _ := serveAt(t.Context(), e, "/home?format="+form)
				if len(rec.flushes) == 0 || rec.flushes[0].at != 0 || rec.code != http.StatusOK {
					t.Errorf("first flush %v, status %d; want the header at 0 and 200", rec.flushes, rec.code)
				}
			})
		})
	}
}

// TestPrimaryClientGone: a client that leaves while the header is held
// gets nothing, not an error answer, and the tiles stop.
func TestPrimaryClientGone(t *testing.T) {
	for _, form := range []string{"html", "ndjson"} {
		t.Run(form, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				primary := tilestest.After("products", time.Hour, json.RawMessage(`{}`))
				other := tilestest.After("banners", time.Hour, json.RawMessage(`{}`))
				e := primaryServer(t, 2*time.Hour, "products", other, primary)
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				rec, took := serveAt(ctx, e, "/home?format="+form)
				if took != time.Second {
					t.Errorf("handler took %v; want 1s, when the client left", took)
				}
				if rec.code != 0 || rec.body.Len() != 0 {
					t.Errorf("sent status %d and %q; want nothing", rec.code, rec.body.String())
				}
			})
		})
	}
}
