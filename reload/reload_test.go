package reload_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"vitrine/reload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// page is a generation: it answers its name, after gate is closed if set.
type page struct {
	name    string
	gate    chan struct{}
	started chan struct{} // closed when a request has started, if set
}

func (p page) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if p.started != nil {
		close(p.started)
	}
	if p.gate != nil {
		<-p.gate
	}
	io.WriteString(w, p.name)
}

// part counts its Close calls.
type part struct{ closed atomic.Int32 }

func (p *part) Close() { p.closed.Add(1) }

func get(h http.Handler) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Body.String()
}

// TestSwapInFlight: a request that started on a generation finishes on it,
// one that starts after the swap gets the new one, and a part only the old
// generation held is closed once that request has ended, not before; a part
// both hold stays open.
func TestSwapInFlight(t *testing.T) {
	kept, removed, added := &part{}, &part{}, &part{}
	gate, started := make(chan struct{}), make(chan struct{})
	h := reload.New[http.Handler](page{name: "A", gate: gate, started: started}, []reload.Part{kept, removed})

	var old string
	var wg sync.WaitGroup
	wg.Go(func() { old = get(h) })
	<-started
	h.Swap(page{name: "B"}, []reload.Part{kept, added})
	if got := get(h); got != "B" {
		t.Errorf("a request after the swap got %q; want B", got)
	}
	if n := removed.closed.Load(); n != 0 {
		t.Errorf("the removed part was closed %d times while a request held its generation; want 0", n)
	}
	close(gate)
	wg.Wait()
	if old != "A" {
		t.Errorf("the request in flight got %q; want A, its generation's", old)
	}
	if n := removed.closed.Load(); n != 1 {
		t.Errorf("the removed part was closed %d times once its last request ended; want 1", n)
	}
	if n := kept.closed.Load() + added.closed.Load(); n != 0 {
		t.Errorf("parts of the current generation were closed %d times; want 0", n)
	}
	h.Close()
	if k, a := kept.closed.Load(), added.closed.Load(); k != 1 || a != 1 {
		t.Errorf("after Close, kept and added closed %d and %d times; want 1 and 1", k, a)
	}
}

// TestSwapIdle: without a request in flight, a swap closes the parts only
// the old generation held at once, each once, whatever the number of swaps.
func TestSwapIdle(t *testing.T) {
	a, b := &part{}, &part{}
	h := reload.New[http.Handler](page{name: "A"}, []reload.Part{a})
	h.Swap(page{name: "B"}, []reload.Part{b})
	h.Swap(page{name: "C"}, []reload.Part{b})
	if n := a.closed.Load(); n != 1 {
		t.Errorf("a closed %d times; want 1", n)
	}
	if n := b.closed.Load(); n != 0 {
		t.Errorf("b, still held, closed %d times; want 0", n)
	}
	if got := h.Current().(page).name; got != "C" {
		t.Errorf("Current = %q; want C", got)
	}
}

// TestSwapUnderLoad: requests racing swaps each get a whole generation, and
// every part but the last generation's is closed exactly once.
func TestSwapUnderLoad(t *testing.T) {
	const swaps = 200
	parts := make([]*part, swaps+1)
	for i := range parts {
		parts[i] = &part{}
	}
	h := reload.New[http.Handler](page{name: "0"}, []reload.Part{parts[0]})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got := get(h); got == "" {
					t.Error("a request got no generation")
					return
				}
			}
		})
	}
	for i := 1; i <= swaps; i++ {
		h.Swap(page{name: "g"}, []reload.Part{parts[i]})
	}
	close(stop)
	wg.Wait()
	for i, p := range parts {
		want := int32(1)
		if i == swaps {
			want = 0
		}
		if n := p.closed.Load(); n != want {
			t.Errorf("part %d closed %d times; want %d", i, n, want)
		}
	}
	h.Close()
}
