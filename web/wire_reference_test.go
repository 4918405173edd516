package web

import (
	"bytes"
	"encoding/json"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// The contract's wire shape as encoding/json writes it, from structs with
// JSON tags: the reference that appendPage, appendTile and appendSummary are
// held to (wire_test.go), and the encoding/json side of
// BenchmarkPageEncoding.

// tileRef is one tile: age_ms only when stale, error only when there is a
// cause, data only when there is some.
type tileRef struct {
	Name      string          `json:"name"`
	Status    tiles.Status    `json:"status"`
	StartMS   float64         `json:"start_ms"`
	ElapsedMS float64         `json:"elapsed_ms"`
	AgeMS     *float64        `json:"age_ms,omitempty"`
	Error     string          `json:"error,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// summaryRef closes a page (and is the last line of an NDJSON page).
type summaryRef struct {
	ElapsedMS float64 `json:"elapsed_ms"`
	Complete  bool    `json:"complete"`
	TraceID   string  `json:"trace_id,omitempty"` // only when traced
}

// pageRef is GET /home as JSON: the tiles object, then the summary's fields.
type pageRef struct {
	Tiles tilesRef `json:"tiles"`
	summaryRef
}

// tilesRef is the tiles object, keyed by name, in page order: a map would
// have encoding/json sort its keys. Every key and value is still written by
// encoding/json.
type tilesRef []tileRef

func (ts tilesRef) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(t.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func newTileRef(r aggregator.Result) tileRef {
	t := tileRef{Name: r.Name, Status: r.Status, StartMS: millis(r.Start), ElapsedMS: millis(r.Elapsed), Data: r.Data}
	if r.Status == tiles.StatusStale {
		age := millis(r.Age)
		t.AgeMS = &age
	}
	if r.Cause != nil {
		t.Error = r.Cause.Error()
	}
	return t
}

func newSummaryRef(s aggregator.Summary) summaryRef {
	return summaryRef{ElapsedMS: millis(s.Elapsed), Complete: s.Complete}
}

func newPageRef(p aggregator.Page) pageRef {
	ts := make(tilesRef, len(p.Results))
	for i, r := range p.Results {
		ts[i] = newTileRef(r)
	}
	return pageRef{Tiles: ts, summaryRef: newSummaryRef(p.Summary)}
}
