package web

// Tests of the wire format's writers (wire.go): byte for byte what
// encoding/json writes for the contract's shape (wire_reference_test.go),
// tiles in page order, and valid JSON whatever the durations.
//
// The seeds of the fuzz targets run with go test; to search for new
// failures:
//
//	go test -run XXX -fuzz FuzzAppendString -fuzztime 30s ./web/
//	go test -run XXX -fuzz FuzzAppendTile -fuzztime 30s ./web/

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/sim"
	"vitrine/tiles"
)

// hostile are strings that JSON must escape: quotes, HTML, controls,
// invalid UTF-8, the JavaScript line separators and non-ASCII text.
var hostile = []string{
	"", "plain", `say "hi"\now`, "<script>alert(1)</script>&amp;", "tab\there\nnew\rline\b\f",
	"\x00\x01\x1f\x7f", "bad \xff\xfe utf8", "cut \xe2\x80", "line\u2028sep\u2029", "café ¥8,800 €49.90 日本",
	"\U0001F642 \uFFFD", "</script><!--",
}

// canonical is v as json.Marshal writes it: compact and HTML-escaped, the
// form in which tile data reaches the page (the simulator and the
// fallbacks encode with json.Marshal).
func canonical(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// marshalRef is v as encoding/json writes it.
func marshalRef(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%+v): %v", v, err)
	}
	return b
}

// wireResults are tiles that exercise every field of the shape.
func wireResults(t testing.TB) []aggregator.Result {
	ms := time.Millisecond
	var rs []aggregator.Result
	for i, s := range hostile {
		rs = append(rs, aggregator.Result{
			Name:    "t" + s,
			Outcome: tiles.Outcome{Status: tiles.StatusError, Cause: fmt.Errorf("t%s: %s", s, s)},
			Start:   time.Duration(i) * ms / 3, Elapsed: time.Duration(i) * 1234567 * time.Microsecond,
		})
	}
	cat := catalogue.Default()
	for _, def := range sim.Builtins() {
		for _, user := range []string{"", "alice"} {
			data, err := def.Content(cat, tiles.Request{User: user})
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, aggregator.Result{Name: def.Name + "/" + user, Outcome: tiles.Fresh(data), Elapsed: 40*ms + 300*time.Microsecond})
		}
	}
	return append(rs,
		aggregator.Result{Name: "stale", Outcome: tiles.Outcome{
			Status: tiles.StatusStale, Age: 1234*ms + 500*time.Microsecond,
			Data: canonical(t, map[string]any{"k": []int{1, 2}, "h": "<b>&</b>", "s": "\u2028"}),
		}, Start: 100 * time.Nanosecond},
		aggregator.Result{Name: "stale of age 0", Outcome: tiles.Outcome{Status: tiles.StatusStale, Data: canonical(t, "old")}},
		aggregator.Result{Name: "stale with a cause", Outcome: tiles.Outcome{
			Status: tiles.StatusStale, Age: time.Hour, Cause: errors.New("stale with a cause: down"), Data: canonical(t, 1.5),
		}},
		aggregator.Result{Name: "fallback", Outcome: tiles.Outcome{
			Status: tiles.StatusFallback, Cause: errors.New(`fallback: "x&y" <failed>`), Data: canonical(t, struct{ A string }{"x&y"}),
		}},
		aggregator.Result{Name: "age ignored unless stale", Outcome: tiles.Outcome{Status: tiles.StatusFallback, Age: time.Second, Data: canonical(t, nil)}},
		aggregator.Result{Name: "timeout", Outcome: tiles.Outcome{Status: tiles.StatusTimeout, Cause: errors.New("timeout: no answer within 500ms")}, Elapsed: 500 * ms},
		aggregator.Result{Name: "empty data", Outcome: tiles.Outcome{Status: tiles.StatusOK, Data: json.RawMessage{}}},
		aggregator.Result{Name: "nil data", Outcome: tiles.Outcome{Status: tiles.StatusOK}},
		aggregator.Result{Name: "negative", Outcome: tiles.Fresh(canonical(t, []string{})), Start: -ms, Elapsed: -500 * time.Microsecond},
		aggregator.Result{Name: "rounded", Outcome: tiles.Fresh(canonical(t, 0)), Start: 49999 * time.Nanosecond, Elapsed: 50 * time.Microsecond},
		aggregator.Result{},
	)
}

func TestAppendTileMatchesEncodingJSON(t *testing.T) {
	for _, r := range wireResults(t) {
		t.Run(r.Name, func(t *testing.T) {
			want := marshalRef(t, newTileRef(r))
			if got := appendTile(nil, r); !bytes.Equal(got, want) {
				t.Errorf("appendTile:\n got %s\nwant %s", got, want)
			}
			// The writers append: what b held is kept.
			if got := appendTile([]byte("x"), r); !bytes.Equal(got, append([]byte("x"), want...)) {
				t.Errorf("appendTile after x = %s; want x%s", got, want)
			}
		})
	}
}

func TestAppendPageMatchesEncodingJSON(t *testing.T) {
	results := wireResults(t)
	for _, tc := range []struct {
		name string
		page aggregator.Page
	}{
		{"every kind of tile", aggregator.Page{Results: results, Summary: aggregator.Summary{Elapsed: 121400 * time.Microsecond}}},
		{"complete", aggregator.Page{Results: results[len(results)-5 : len(results)-1], Summary: aggregator.Summary{Elapsed: time.Millisecond, Complete: true}}},
		{"one tile", aggregator.Page{Results: results[:1]}},
		{"no tiles", aggregator.Page{Summary: aggregator.Summary{Complete: true}}},
		{"empty results", aggregator.Page{Results: []aggregator.Result{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := marshalRef(t, newPageRef(tc.page))
			if got := appendPage(nil, tc.page); !bytes.Equal(got, want) {
				t.Errorf("appendPage:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestAppendSummaryMatchesEncodingJSON(t *testing.T) {
	for _, s := range []aggregator.Summary{
		{},
		{Elapsed: 100 * time.Microsecond, Complete: true},
		{Elapsed: 120*time.Millisecond + 449*time.Microsecond},
		{Elapsed: 3 * time.Hour, Complete: true},
		{Elapsed: -time.Millisecond},
	} {
		want := marshalRef(t, newSummaryRef(s))
		if got := appendSummary(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendSummary(%+v) = %s; want %s", s, got, want)
		}
	}
}

// TestAppendPageRealPage encodes real pages of the built-in tiles, for an
// anonymous visitor and for a user, both ways.
func TestAppendPageRealPage(t *testing.T) {
	agg := builtinAggregator(t)
	for _, user := range []string{"", "alice", "Bob_2"} {
		t.Run("user="+user, func(t *testing.T) {
			page := agg.Page(t.Context(), tiles.Request{User: user})
			if !page.Complete {
				t.Fatalf("page not complete: %+v", page)
			}
			want := marshalRef(t, newPageRef(page))
			if got := appendPage(nil, page); !bytes.Equal(got, want) {
				t.Errorf("appendPage:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// builtinAggregator is an aggregator over the built-in tiles' simulated
// backends, instant and never failing.
func builtinAggregator(t testing.TB) *aggregator.Aggregator {
	t.Helper()
	cat := catalogue.Default()
	var fs []tiles.Fetcher
	for _, def := range sim.Builtins() {
		f, err := sim.New(def, cat, sim.Backend{})
		if err != nil {
			t.Fatalf("sim.New(%s): %v", def.Name, err)
		}
		fs = append(fs, f)
	}
	agg, err := aggregator.New(fs, aggregator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return agg
}

// TestAppendTileCopiesData: a tile's data is copied as its backend gave it,
// not re-compacted or re-escaped as encoding/json would; valid JSON in is
// valid JSON out, with the same meaning.
func TestAppendTileCopiesData(t *testing.T) {
	for _, data := range []string{
		`{ "a" : [1, 2] }`,
		"{\n  \"html\": \"<b>&</b>\"\n}",
		`"line` + "\u2028" + `sep"`,
		` 1.50 `,
	} {
		t.Run(data, func(t *testing.T) {
			r := aggregator.Result{Name: "t", Outcome: tiles.Fresh(json.RawMessage(data))}
			got := appendTile(nil, r)
			if !bytes.Contains(got, []byte(`,"data":`+data+`}`)) {
				t.Errorf("appendTile = %s; want the data %q as given", got, data)
			}
			if !json.Valid(got) {
				t.Fatalf("appendTile = %s; want valid JSON", got)
			}
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(marshalRef(t, newTileRef(r)), &wantV); err != nil {
				t.Fatal(err)
			}
			if g, w := fmt.Sprint(gotV), fmt.Sprint(wantV); g != w {
				t.Errorf("appendTile decodes to %s; want %s, as encoding/json's", g, w)
			}
		})
	}
}

// objectKeys returns the keys of the object at key in the JSON object b,
// in the order written.
func objectKeys(t *testing.T, b []byte, key string) []string {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	dec := json.NewDecoder(bytes.NewReader(top[key]))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s = %s; want an object", key, top[key])
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestAppendPageOrder: the tiles object is in page order, not sorted.
func TestAppendPageOrder(t *testing.T) {
	for _, order := range [][]string{
		{"weather", "banners"},
		{"recommendations", "products", "banners"},
		{"b", "a", "c", "B", "A"},
		{"banners", "products", "recommendations"},
	} {
		page := aggregator.Page{}
		for _, name := range order {
			page.Results = append(page.Results, aggregator.Result{Name: name, Outcome: tiles.Fresh(canonical(t, name))})
		}
		got := appendPage(nil, page)
		if keys := objectKeys(t, got, "tiles"); !slices.Equal(keys, order) {
			t.Errorf("tiles keys = %v; want page order %v", keys, order)
		}
		if want := marshalRef(t, newPageRef(page)); !bytes.Equal(got, want) {
			t.Errorf("appendPage:\n got %s\nwant %s", got, want)
		}
	}
}

// extremeDurations are the durations no real page has but a writer must
// still turn into valid JSON.
var extremeDurations = []time.Duration{
	0, 1, -1, 49999, 50000, time.Millisecond, 24 * time.Hour,
	math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1,
}

// traceID is a trace id as the page shows it: 32 hex digits.
const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

func tracedSummaryRef(s aggregator.Summary, id string) summaryRef {
	r := newSummaryRef(s)
	r.TraceID = id
	return r
}

func tracedPageRef(p aggregator.Page, id string) pageRef {
	r := newPageRef(p)
	r.TraceID = id
	return r
}

// TestAppendPageValidJSON: whatever the durations, every writer writes
// valid JSON, finite numbers that read back as the milliseconds given, and
// what encoding/json writes.
func TestAppendPageValidJSON(t *testing.T) {
	for _, d := range extremeDurations {
		t.Run(d.String(), func(t *testing.T) {
			r := aggregator.Result{
				Name:    "banners",
				Outcome: tiles.Outcome{Status: tiles.StatusStale, Age: d, Data: canonical(t, "x")},
				Start:   d, Elapsed: d,
			}
			page := aggregator.Page{Results: []aggregator.Result{r, {Name: "products", Outcome: tiles.Fresh(canonical(t, 1)), Elapsed: d}}, Summary: aggregator.Summary{Elapsed: d}}
			for _, w := range []struct {
				name      string
				got, want []byte
			}{
				{"appendPage", appendPage(nil, page), marshalRef(t, newPageRef(page))},
				{"appendTile", appendTile(nil, r), marshalRef(t, newTileRef(r))},
				{"appendSummary", appendSummary(nil, page.Summary), marshalRef(t, newSummaryRef(page.Summary))},
				{"appendTraceID(appendPage)", appendTraceID(appendPage(nil, page), traceID), marshalRef(t, tracedPageRef(page, traceID))},
				{"appendTraceID(appendSummary)", appendTraceID(appendSummary(nil, page.Summary), traceID), marshalRef(t, tracedSummaryRef(page.Summary, traceID))},
				{"appendTraceID untraced", appendTraceID(appendSummary(nil, page.Summary), ""), marshalRef(t, newSummaryRef(page.Summary))},
			} {
				if !json.Valid(w.got) {
					t.Errorf("%s = %s; want valid JSON", w.name, w.got)
				}
				if !bytes.Equal(w.got, w.want) {
					t.Errorf("%s:\n got %s\nwant %s", w.name, w.got, w.want)
				}
			}
			var tile struct {
				StartMS   *float64 `json:"start_ms"`
				ElapsedMS *float64 `json:"elapsed_ms"`
				AgeMS     *float64 `json:"age_ms"`
			}
			if err := json.Unmarshal(appendTile(nil, r), &tile); err != nil {
				t.Fatal(err)
			}
			want := millis(d)
			if math.IsInf(want, 0) || math.IsNaN(want) {
				t.Fatalf("millis(%d) = %v; want a finite number", int64(d), want)
			}
			for name, got := range map[string]*float64{"start_ms": tile.StartMS, "elapsed_ms": tile.ElapsedMS, "age_ms": tile.AgeMS} {
				if got == nil || *got != want {
					t.Errorf("%s = %v; want %v", name, got, want)
				}
			}
		})
	}
}

func TestMillis(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want float64
	}{
		{0, 0},
		{1, 0},
		{49999, 0},
		{50000, 0.1}, // halves round away from zero
		{-50000, -0.1},
		{40*time.Millisecond + 349*time.Microsecond, 40.3},
		{40*time.Millisecond + 350*time.Microsecond, 40.4},
		{500 * time.Millisecond, 500},
		{time.Hour, 3600000},
		{math.MaxInt64, float64(math.MaxInt64) / 1e6}, // rounding saturates
		{math.MinInt64, float64(math.MinInt64) / 1e6},
	} {
		if got := millis(tc.d); got != tc.want {
			t.Errorf("millis(%d) = %v; want %v", int64(tc.d), got, tc.want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Add("\xed\xa0\x80") // a UTF-16 surrogate encoded as UTF-8: invalid
	f.Add("\xf4\x90\x80\x80")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s; want %s", s, got, want)
		}
		if got := appendString([]byte(`[`), s); !bytes.Equal(got, append([]byte(`[`), want...)) {
			t.Errorf("appendString after [ = %s; want [%s", got, want)
		}
	})
}

// FuzzAppendTile writes a tile and a page of it with any name, cause and
// durations, stale or not: valid JSON, and what encoding/json writes.
func FuzzAppendTile(f *testing.F) {
	for i, s := range hostile {
		d := extremeDurations[i%len(extremeDurations)]
		f.Add(s, "cause "+s, int64(d), int64(-d), int64(i), i%2 == 0, s)
	}
	f.Add("banners", "", int64(math.MaxInt64), int64(math.MinInt64), int64(0), true, "")
	f.Fuzz(func(t *testing.T, name, cause string, start, elapsed, age int64, stale bool, data string) {
		r := aggregator.Result{Name: name, Outcome: tiles.Fresh(canonical(t, data)), Start: time.Duration(start), Elapsed: time.Duration(elapsed)}
		if stale {
			r.Status, r.Age = tiles.StatusStale, time.Duration(age)
		}
		if cause != "" { // the aggregator prefixes every cause with the tile's name
			r.Cause = errors.New(cause)
		}
		page := aggregator.Page{Results: []aggregator.Result{r}, Summary: aggregator.Summary{Elapsed: time.Duration(age), Complete: !stale}}
		for _, w := range []struct {
			name      string
			got, want []byte
		}{
			{"appendTile", appendTile(nil, r), marshalRef(t, newTileRef(r))},
			{"appendPage", appendPage(nil, page), marshalRef(t, newPageRef(page))},
		} {
			if !json.Valid(w.got) {
				t.Errorf("%s = %s; want valid JSON", w.name, w.got)
			}
			if !bytes.Equal(w.got, w.want) {
				t.Errorf("%s:\n got %s\nwant %s", w.name, w.got, w.want)
			}
		}
	})
}

// TestTileInfoJSON: GET /tiles describes each tile with its durations in
// milliseconds, its URL escaped, its source, view and whether it is the
// primary tile, the tail only when there is one and the policy only when
// the tile has one.
func TestTileInfoJSON(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		info    tiles.Info
		view    string
		primary bool
		want    string
	}{
		{"bare", tiles.Info{Name: "banners", Timeout: 500 * ms}, "banners", false,
			`{"name":"banners","latency_ms":0,"fail_rate":0,"timeout_ms":500,"personalised":false,"url":"/tiles/banners","source":"","view":"banners","primary":false}`},
		{"simulated with a tail and a policy", tiles.Info{
			Name: "recommendations", Personalised: true, Timeout: 250 * ms, Source: "simulator",
			Latency: 120 * ms, FailRate: 0.25, Tail: time.Second, TailRate: 0.01,
			Policy: &tiles.PolicyInfo{
				TTL: 30 * time.Second, MaxStale: 5 * time.Minute, Coalesced: true, Hedge: "after 200ms",
				BreakerFailures: 5, MaxDetached: 100, Fallback: true,
			},
		}, "recommendations", false,
			`{"name":"recommendations","latency_ms":120,"fail_rate":0.25,"tail_ms":1000,"tail_rate":0.01,"timeout_ms":250,"personalised":true,"url":"/tiles/recommendations","source":"simulator","view":"recommendations","primary":false,` +
				`"policy":{"cache_ttl_ms":30000,"max_stale_ms":300000,"coalesced":true,"max_detached":100,"hedge":"after 200ms","breaker_failures":5,"fallback":true}}`},
		{"uncached policy", tiles.Info{Name: "products", Latency: 80*ms + 449*time.Microsecond, Policy: &tiles.PolicyInfo{Hedge: "off"}}, "products", false,
			`{"name":"products","latency_ms":80.4,"fail_rate":0,"timeout_ms":0,"personalised":false,"url":"/tiles/products","source":"","view":"products","primary":false,` +
				`"policy":{"cache_ttl_ms":0,"max_stale_ms":0,"coalesced":false,"max_detached":0,"hedge":"off","breaker_failures":0,"fallback":false}}`},
		{"an HTTP backend, primary", tiles.Info{Name: "weather", Timeout: 300 * ms, Source: "weather-api", Host: "weather.internal:9100",
			Policy: &tiles.PolicyInfo{TTL: time.Minute, Hedge: "off", Bulkhead: 16, BackendTTL: true}}, "json", true,
			`{"name":"weather","timeout_ms":300,"personalised":false,"url":"/tiles/weather","source":"weather-api","view":"json","primary":true,` +
				`"policy":{"cache_ttl_ms":60000,"max_stale_ms":0,"coalesced":false,"max_detached":0,"hedge":"off","breaker_failures":0,"fallback":false,"bulkhead":16,"backend_ttl":true}}`},
		{"an HTTP backend's freshness, capped", tiles.Info{Name: "weather", Source: "weather", Host: "weather.internal:9100",
			Policy: &tiles.PolicyInfo{TTL: time.Minute, Hedge: "off", BackendTTL: true, MaxTTL: 10 * time.Minute}},
			"json", false,
			`{"name":"weather","timeout_ms":0,"personalised":false,"url":"/tiles/weather","source":"weather","view":"json","primary":false,` +
				`"policy":{"cache_ttl_ms":60000,"max_stale_ms":0,"coalesced":false,"max_detached":0,"hedge":"off","breaker_failures":0,"fallback":false,"backend_ttl":true,"max_ttl_ms":600000}}`},
		{"a name to escape", tiles.Info{Name: "a b/c?<d>"}, "json", false,
			`{"name":"a b/c?\u003cd\u003e","latency_ms":0,"fail_rate":0,"timeout_ms":0,"personalised":false,"url":"/tiles/a%20b%2Fc%3F%3Cd%3E","source":"","view":"json","primary":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := marshalRef(t, newTileInfo(tc.info, tc.view, tc.primary)); string(got) != tc.want {
				t.Errorf("newTileInfo:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
