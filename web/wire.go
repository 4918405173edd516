package web

import (
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"vitrine/aggregator"
	"vitrine/tiles"
)

// The wire shape of pages and tiles is written here and only here: what
// encoding/json would write (a test holds them to it), but with each tile's
// data copied as its backend gave it, already valid JSON, not re-compacted.

// appendPage appends the JSON document of a page: its tiles as an object in
// page order, then the summary.
func appendPage(b []byte, p aggregator.Page) []byte {
	b = append(b, `{"tiles":{`...)
	for i, r := range p.Results {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r.Name)
		b = append(b, ':')
		b = appendTile(b, r)
	}
	return appendSummaryFields(append(b, "},"...), p.Summary)
}

// appendSummary appends the closing line of an NDJSON page.
func appendSummary(b []byte, s aggregator.Summary) []byte {
	return appendSummaryFields(append(b, '{'), s)
}

func appendSummaryFields(b []byte, s aggregator.Summary) []byte {
	b = append(b, `"elapsed_ms":`...)
	b = appendMillis(b, s.Elapsed)
	b = append(b, `,"complete":`...)
	b = strconv.AppendBool(b, s.Complete)
	return append(b, '}')
}

// appendTraceID adds "trace_id" to the JSON object that ends b, unless id
// is "" (untraced). An id is hex digits: nothing to escape.
func appendTraceID(b []byte, id string) []byte {
	if id == "" {
		return b
	}
	b = append(b[:len(b)-1], `,"trace_id":"`...)
	b = append(b, id...)
	return append(b, `"}`...)
}

// appendTile appends one tile: name, status, timing, age_ms when stale,
// error when there is a cause, data when there is some.
func appendTile(b []byte, r aggregator.Result) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, r.Name)
	b = append(b, `,"status":`...)
	b = appendString(b, string(r.Status))
	b = append(b, `,"start_ms":`...)
	b = appendMillis(b, r.Start)
	b = append(b, `,"elapsed_ms":`...)
	b = appendMillis(b, r.Elapsed)
	if r.Status == tiles.StatusStale {
		b = append(b, `,"age_ms":`...)
		b = appendMillis(b, r.Age)
	}
	if r.Cause != nil && r.Cause.Error() != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, r.Cause.Error())
	}
	if len(r.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, r.Data...)
	}
	return append(b, '}')
}

// millis converts a duration to milliseconds, rounded to 0.1 ms, as every
// duration is written.
func millis(d time.Duration) float64 {
	return float64(d.Round(100*time.Microsecond)) / float64(time.Millisecond)
}

// appendMillis writes millis(d) as encoding/json writes a float64 (a
// duration is small enough never to take the exponent form).
func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, millis(d), 'f', -1, 64)
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string, escaping as encoding/json does
// (HTML-safe: <, > and & too; invalid UTF-8 as U+FFFD).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
}

// serverTiming formats the Server-Timing value for results and the total:
// "banners;dur=40.3, products;desc="stale";dur=80.2, total;dur=80.6".
func serverTiming(results []aggregator.Result, total time.Duration) string {
	b := make([]byte, 0, 32*(len(results)+1))
	for _, r := range results {
		b = append(b, r.Name...)
		if r.Status != tiles.StatusOK {
			b = append(b, `;desc="`+string(r.Status)+`"`...)
		}
		b = appendMillis(append(b, ";dur="...), r.Elapsed)
		b = append(b, ", "...)
	}
	return string(appendMillis(append(b, "total;dur="...), total))
}

// tileInfo is one tile as GET /tiles lists it. LatencyMS and FailRate
// describe a simulated backend (nil for an HTTP tile); Source is
// "simulator" or the backend's label, never its host or URL; Host, the
// backend's host:port, is the operator port's only.
type tileInfo struct {
	Name         string      `json:"name"`
	LatencyMS    *float64    `json:"latency_ms,omitempty"`
	FailRate     *float64    `json:"fail_rate,omitempty"`
	TailMS       float64     `json:"tail_ms,omitempty"`
	TailRate     float64     `json:"tail_rate,omitempty"`
	TimeoutMS    float64     `json:"timeout_ms"`
	Personalised bool        `json:"personalised"`
	URL          string      `json:"url"`
	Source       string      `json:"source"`
	Host         string      `json:"host,omitempty"`
	View         string      `json:"view"`
	Primary      bool        `json:"primary"`
	SetCookie    bool        `json:"set_cookie,omitempty"` // its backend's Set-Cookie reaches the browser
	Policy       *policyInfo `json:"policy,omitempty"`
}

type policyInfo struct {
	CacheTTLMS      float64 `json:"cache_ttl_ms"` // 0: not cached
	MaxStaleMS      float64 `json:"max_stale_ms"`
	Coalesced       bool    `json:"coalesced"`
	MaxDetached     int     `json:"max_detached"`
	Hedge           string  `json:"hedge"`
	BreakerFailures int     `json:"breaker_failures"` // 0: no breaker
	Fallback        bool    `json:"fallback"`
	Bulkhead        int     `json:"bulkhead,omitempty"`
	BackendTTL      bool    `json:"backend_ttl,omitempty"` // the backend's Cache-Control sets freshness
	MaxTTLMS        float64 `json:"max_ttl_ms,omitempty"`  // with backend_ttl: the most it may give
}

func newTileInfo(t tiles.Info, view string, primary bool) tileInfo {
	info := tileInfo{
		Name: t.Name, TailMS: millis(t.Tail), TailRate: t.TailRate, TimeoutMS: millis(t.Timeout),
		Personalised: t.Personalised, URL: "/tiles/" + url.PathEscape(t.Name),
		Source: t.Source, View: view, Primary: primary,
	}
	if t.Host == "" {
		latency, fail := millis(t.Latency), t.FailRate
		info.LatencyMS, info.FailRate = &latency, &fail
	}
	if p := t.Policy; p != nil {
		info.Policy = &policyInfo{
			CacheTTLMS: millis(p.TTL), MaxStaleMS: millis(p.MaxStale), Coalesced: p.Coalesced,
			MaxDetached: p.MaxDetached, Hedge: p.Hedge, BreakerFailures: p.BreakerFailures, Fallback: p.Fallback,
			Bulkhead: p.Bulkhead, BackendTTL: p.BackendTTL, MaxTTLMS: millis(p.MaxTTL),
		}
	}
	return info
}
