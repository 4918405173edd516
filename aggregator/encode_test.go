package aggregator_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// hostile strings that JSON must escape: quotes, HTML, controls, invalid
// UTF-8, the JavaScript line separators and non-ASCII text.
var hostile = []string{
	"", "plain", `say "hi"\now`, "<script>alert(1)</script>&amp;", "tab\there\nnew\rline\b\f",
	"\x00\x01\x1f\x7f", "bad \xff\xfe utf8", "line\u2028sep\u2029", "café ¥8,800 €49.90 日本",
}

// TestAppendJSONMatchesEncodingJSON holds the hand-written encoders to
// exactly what encoding/json writes for the same values.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	cat := tiles.DefaultCatalogue()
	age := 1234.5
	tiny := 1e-7
	var results []aggregator.Result
	for i, s := range hostile {
		results = append(results, aggregator.Result{Name: "t" + s, Status: aggregator.StatusError, Error: s, StartMS: float64(i) / 3, ElapsedMS: 1e21 * float64(i)})
	}
	for _, def := range tiles.Builtins() {
		for _, user := range []string{"", "alice"} {
			results = append(results, aggregator.Result{Name: def.Name, Status: aggregator.StatusOK, ElapsedMS: 40.3, Data: def.Content(cat, tiles.Request{User: user})})
		}
	}
	results = append(results,
		aggregator.Result{Name: "stale", Status: aggregator.StatusStale, AgeMS: &age, StartMS: tiny, Data: map[string]any{"k": []int{1, 2}, "h": "<b>"}},
		aggregator.Result{Name: "plain-data", Status: aggregator.StatusFallback, Data: struct{ A string }{"x&y"}},
		aggregator.Result{Name: "negative", ElapsedMS: -0.5},
	)
	for _, r := range results {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Result %q:\n got %s\nwant %s", r.Name, got, want)
		}
	}
	page := aggregator.Page{Tiles: map[string]aggregator.Result{}, Summary: aggregator.Summary{ElapsedMS: 121.4, Complete: false}}
	for _, r := range results {
		page.Tiles[r.Name] = r
	}
	want, _ := json.Marshal(page)
	got, err := page.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Page:\n got %s\nwant %s", got, want)
	}
	sum := aggregator.Summary{ElapsedMS: 0.1, Complete: true}
	want, _ = json.Marshal(sum)
	if got := sum.AppendJSON(nil); !bytes.Equal(got, want) {
		t.Errorf("Summary: got %s; want %s", got, want)
	}
}

type badData struct{}

func (badData) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot encode") }

func TestAppendJSONError(t *testing.T) {
	r := aggregator.Result{Name: "x", Status: aggregator.StatusOK, Data: badData{}}
	if _, err := r.AppendJSON(nil); err == nil {
		t.Error("AppendJSON with data that fails to encode: got no error")
	}
	if _, err := (aggregator.Result{Name: "y", Data: make(chan int)}).AppendJSON(nil); err == nil {
		t.Error("AppendJSON with data encoding/json refuses: got no error")
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := aggregator.Result{Name: s, Error: s, Status: aggregator.Status(s), ElapsedMS: float64(len(s)) * 1.1, StartMS: float64(time.Duration(len(s)))}
		want, _ := json.Marshal(r)
		got, err := r.AppendJSON(nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("got %s (%v); want %s", got, err, want)
		}
	})
}
