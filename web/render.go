package web

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"vitrine/aggregator"
	"vitrine/catalogue"
	"vitrine/tiles"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// renderer renders the HTML homepage in pieces, so that each can be flushed
// as soon as it is ready.
type renderer struct {
	t *template.Template
}

func newRenderer() *renderer {
	t := template.Must(template.New("").Funcs(template.FuncMap{
		"price": formatPrice,
		"ms":    formatMS,
		"json": func(raw json.RawMessage) (string, error) {
			if len(raw) == 0 {
				return "null", nil // an ok tile may have no data (a 204)
			}
			var b bytes.Buffer
			err := json.Indent(&b, raw, "", "  ")
			return b.String(), err
		},
	}).ParseFS(templateFS, "templates/*.html"))
	return &renderer{t: t}
}

type shellView struct {
	Nonce string
	User  string
	Tiles []string
}

func (r *renderer) shell(w io.Writer, v shellView) error {
	return r.t.ExecuteTemplate(w, "shell", v)
}

// tileView is what a tile template sees.
type tileView struct {
	Name             string
	Status           tiles.Status
	ElapsedMS, AgeMS float64
	Raw              json.RawMessage // the tile's data, for the generic view
	Data             any             // the same, decoded for the tile's own view
	RetryURL         string
}

// views decode the data of the tiles that have a view of their own.
var views = map[string]func(json.RawMessage) (any, error){
	"banners":         decode[catalogue.Banners],
	"products":        decode[catalogue.Products],
	"recommendations": decode[catalogue.Recommendations],
}

func decode[T any](raw json.RawMessage) (any, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}

// tile renders one tile into a buffer (a template that fails half-way must
// not leave half a tile in the stream) and falls back to the generic
// template when the tile's own view cannot decode or render its data.
func (r *renderer) tile(res aggregator.Result, user string) ([]byte, error) {
	v := tileView{Name: res.Name, Status: res.Status, ElapsedMS: millis(res.Elapsed), Raw: res.Data, RetryURL: retryURL(res.Name, user)}
	if res.Status == tiles.StatusStale {
		v.AgeMS = millis(res.Age)
	}
	name := "tile-failed"
	switch res.Status {
	case tiles.StatusOK, tiles.StatusStale, tiles.StatusFallback:
		name = "tile-generic"
		if view, ok := views[res.Name]; ok && len(res.Data) > 0 {
			if data, err := view(res.Data); err == nil {
				name, v.Data = "tile-"+res.Name, data
			}
		}
	}
	var buf bytes.Buffer
	err := r.t.ExecuteTemplate(&buf, name, v)
	if err != nil && name != "tile-generic" && name != "tile-failed" {
		buf.Reset()
		err = r.t.ExecuteTemplate(&buf, "tile-generic", v)
	}
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", res.Name, err)
	}
	return buf.Bytes(), nil
}

func (r *renderer) place(w io.Writer, name, nonce string) error {
	return r.t.ExecuteTemplate(w, "place", struct{ Name, Nonce string }{name, nonce})
}

func (r *renderer) timing(w io.Writer, results []aggregator.Result, total time.Duration) error {
	return r.t.ExecuteTemplate(w, "timing", newTimingView(results, total))
}

func (r *renderer) end(w io.Writer) error {
	return r.t.ExecuteTemplate(w, "end", nil)
}

func retryURL(name, user string) string {
	q := url.Values{"format": {"html"}}
	if user != "" {
		q.Set("user", user)
	}
	return "/tiles/" + url.PathEscape(name) + "?" + q.Encode()
}

// newNonce returns a fresh CSP nonce: 128 random bits.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// contentSecurityPolicy allows scripts only from this origin or with the
// page's nonce, and no inline styles at all.
func contentSecurityPolicy(nonce string) string {
	script := "'self'"
	if nonce != "" {
		script += " 'nonce-" + nonce + "'"
	}
	return "default-src 'self'; script-src " + script + "; style-src 'self'; img-src 'self'; connect-src 'self'; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

// formatPrice formats a price in minor units for its currency: €49.90,
// ¥8,800, CHF 12.50.
func formatPrice(minor int64, currency string) string {
	digits := catalogue.MinorDigits(currency)
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	unit := int64(1)
	for range digits {
		unit *= 10
	}
	whole := strconv.FormatInt(minor/unit, 10)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if digits > 0 {
		fmt.Fprintf(&b, ".%0*d", digits, minor%unit)
	}
	sym, ok := currencySymbols[currency]
	if !ok {
		sym = currency + " "
	}
	return sign + sym + b.String()
}

// formatMS formats milliseconds for people: 40 ms, 120.5 ms, 1.25 s.
func formatMS(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(math.Round(v/10)/100, 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}
