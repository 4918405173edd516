package sim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"vitrine/catalogue"
	"vitrine/sim"
)

// categorySim returns the category collection's simulated backend with b.
func categorySim(t *testing.T, b sim.Backend) *sim.Simulated {
	t.Helper()
	for _, def := range sim.Extra() {
		if def.Name == "category" {
			return newSim(t, def, catalogue.Default(), b)
		}
	}
	t.Fatal("sim.Extra has no category tile")
	return nil
}

// TestCategoryService: GET /category/SLUG answers that category's title and
// products; an unknown slug is a 404 that reached the tile, a slug that is
// no slug a 404 that did not; GET /category is the index.
func TestCategoryService(t *testing.T) {
	h := sim.Handler([]*sim.Simulated{categorySim(t, sim.Backend{})}, nil)
	tests := []struct {
		name, target string
		want         int
		title        string // of a 200
		says         string // in a 404's error
		reaches      bool   // counted in /stats
	}{
		{"outdoor", "/category/outdoor", http.StatusOK, "Outdoor", "", true},
		{"kitchen", "/category/kitchen", http.StatusOK, "Kitchen", "", true},
		{"user ignored", "/category/books?user=alice", http.StatusOK, "Books", "", true},
		{"unknown", "/category/nothing-here", http.StatusNotFound, "", `no category "nothing-here"; the categories are `, true},
		{"upper case", "/category/Outdoor", http.StatusNotFound, "", "a key is 1 to 64", false},
		{"empty", "/category/", http.StatusNotFound, "", `no category ""`, false},
		{"dot segments", "/category/..%2Fadmin", http.StatusNotFound, "", "a key is 1 to 64", false},
		{"NUL", "/category/%00", http.StatusNotFound, "", "a key is 1 to 64", false},
		{"300 characters", "/category/" + strings.Repeat("a", 300), http.StatusNotFound, "", "...", false},
		{"deeper", "/category/outdoor/tents", http.StatusNotFound, "", "a key is 1 to 64", false},
		{"bad user", "/category/outdoor?user=a%20b", http.StatusBadRequest, "", "", false},
	}
	reached := int64(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h, http.MethodGet, tt.target)
			if w.Code != tt.want {
				t.Fatalf("status = %d; want %d (body %s)", w.Code, tt.want, w.Body)
			}
			checkHeader(t, w, "Content-Type", "application/json")
			checkHeader(t, w, "Cache-Control", "")
			if tt.reaches {
				reached++
			}
			if tt.want != http.StatusOK {
				var body struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, tt.says) {
					t.Errorf("body = %s (%v); want an error saying %q", w.Body, err, tt.says)
				}
				checkHeader(t, w, "ETag", "")
				return
			}
			var got catalogue.Category
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Title != tt.title || len(got.Items) == 0 {
				t.Fatalf("body = %s (%v); want %q and its products", w.Body, err, tt.title)
			}
			for _, p := range got.Items {
				if p.Category != got.Slug {
					t.Errorf("product %s is in %q; want %q", p.ID, p.Category, got.Slug)
				}
			}
			if tag := w.Header().Get("ETag"); !etagPattern.MatchString(tag) {
				t.Errorf("ETag = %q; want a strong tag of 16 hex digits", tag)
			}
		})
	}
	var index catalogue.Categories
	if w := serve(h, http.MethodGet, "/category"); w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &index) != nil ||
		len(index.Items) == 0 {
		t.Errorf("GET /category: %d %s; want 200 and the category index", w.Code, w.Body)
	}
	var got int64
	for _, n := range getStats(t, h)["category"] {
		got += n
	}
	if got != reached+1 {
		t.Errorf("stats count %d requests to category; want %d (the index and the valid slugs)", got, reached+1)
	}
}

// TestCategoryETag: a category's ETag gets a 304; another category's gets
// its content.
func TestCategoryETag(t *testing.T) {
	h := sim.Handler([]*sim.Simulated{categorySim(t, sim.Backend{})}, nil)
	outdoor := serve(h, http.MethodGet, "/category/outdoor").Header().Get("ETag")
	kitchen := serve(h, http.MethodGet, "/category/kitchen").Header().Get("ETag")
	if outdoor == "" || outdoor == kitchen {
		t.Fatalf("ETags %q and %q; want two different tags", outdoor, kitchen)
	}
	tests := []struct {
		name, ifNoneMatch string
		want              int
	}{
		{"its tag", outdoor, http.StatusNotModified},
		{"another category's", kitchen, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h, http.MethodGet, "/category/outdoor", "If-None-Match", tt.ifNoneMatch)
			if w.Code != tt.want {
				t.Fatalf("status = %d; want %d", w.Code, tt.want)
			}
			checkHeader(t, w, "ETag", outdoor)
			if (w.Body.Len() == 0) != (tt.want == http.StatusNotModified) {
				t.Errorf("status %d with %d bytes of body", w.Code, w.Body.Len())
			}
		})
	}
}

// TestCategoryLatency: a category, known or not, answers after the
// simulated latency, fails as the simulator is set to, and a slug that is
// no slug is refused at once.
func TestCategoryLatency(t *testing.T) {
	const latency = 2 * time.Second
	tests := []struct {
		name   string
		target string
		fail   float64
		after  time.Duration
		want   int
	}{
		{"known", "/category/outdoor", 0, latency, http.StatusOK},
		{"unknown", "/category/nothing-here", 0, latency, http.StatusNotFound},
		{"simulated failure", "/category/outdoor", 1, latency, http.StatusServiceUnavailable},
		{"not a slug", "/category/..%2Fadmin", 1, 0, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := sim.Backend{Latency: latency, Fail: tt.fail, Rand: func() float64 { return 0.5 }}
				h := sim.Handler([]*sim.Simulated{categorySim(t, b)}, nil)
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, httptest.NewRequestWithContext(context.Background(), http.MethodGet, tt.target, nil))
				if got := time.Since(start); got != tt.after {
					t.Errorf("answered after %v; want %v", got, tt.after)
				}
				if w.Code != tt.want {
					t.Errorf("status = %d; want %d (body %s)", w.Code, tt.want, w.Body)
				}
			})
		})
	}
}

// TestCategorySpanName: a category's span is named by its route, never by
// its slug.
func TestCategorySpanName(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	h := sim.TracedHandler([]*sim.Simulated{categorySim(t, sim.Backend{})}, nil,
		sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	serve(h, http.MethodGet, "/category/outdoor")
	if spans := rec.Ended(); len(spans) != 1 || spans[0].Name() != "GET /category/{slug}" {
		t.Errorf("spans %v; want one named GET /category/{slug}", spans)
	}
}
