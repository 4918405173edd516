package aggregator

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The encoders below write exactly what encoding/json writes for these
// types (a test holds them to it), but copy a tile's data as the bytes its
// MarshalJSON returns instead of reflecting over it and then re-validating
// those bytes: on a page of zero-latency tiles, encoding was the largest
// cost after the network.

// AppendJSON appends the JSON encoding of the page to b.
func (p Page) AppendJSON(b []byte) ([]byte, error) {
	names := make([]string, 0, len(p.Tiles))
	for name := range p.Tiles {
		names = append(names, name)
	}
	slices.Sort(names) // encoding/json sorts map keys
	b = append(b, `{"tiles":{`...)
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		var err error
		if b, err = p.Tiles[name].AppendJSON(b); err != nil {
			return nil, err
		}
	}
	b = append(b, `},"elapsed_ms":`...)
	b = appendFloat(b, p.ElapsedMS)
	b = append(b, `,"complete":`...)
	b = strconv.AppendBool(b, p.Complete)
	return append(b, '}'), nil
}

// AppendJSON appends the JSON encoding of the summary to b.
func (s Summary) AppendJSON(b []byte) []byte {
	b = append(b, `{"elapsed_ms":`...)
	b = appendFloat(b, s.ElapsedMS)
	b = append(b, `,"complete":`...)
	b = strconv.AppendBool(b, s.Complete)
	return append(b, '}')
}

// AppendJSON appends the JSON encoding of the tile to b.
func (r Result) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"name":`...)
	b = appendString(b, r.Name)
	b = append(b, `,"status":`...)
	b = appendString(b, string(r.Status))
	b = append(b, `,"start_ms":`...)
	b = appendFloat(b, r.StartMS)
	b = append(b, `,"elapsed_ms":`...)
	b = appendFloat(b, r.ElapsedMS)
	if r.AgeMS != nil {
		b = append(b, `,"age_ms":`...)
		b = appendFloat(b, *r.AgeMS)
	}
	if r.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, r.Error)
	}
	if r.Data != nil {
		var raw []byte
		var err error
		if m, ok := r.Data.(json.Marshaler); ok {
			// Vitrine's tile types return compact, valid JSON.
			raw, err = m.MarshalJSON()
		} else {
			raw, err = json.Marshal(r.Data)
		}
		if err != nil {
			return nil, err
		}
		b = append(b, `,"data":`...)
		b = append(b, raw...)
	}
	return append(b, '}'), nil
}

// appendFloat formats f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, '0') // cannot happen for durations; never invalid JSON
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
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
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
