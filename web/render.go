package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"net/url"
	"slices"
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

// renderer renders the HTML homepage in pieces, each flushed when ready.
type renderer struct {
	t         *template.Template
	fragments *fragments        // the html view's, shared by the server's renderers
	views     map[string]string // Options.Views, and a page's own
	widths    map[string]string // a page's layout (Page.Widths); none: the homepage's fixed layout
	title     string            // the page's (Page.Title); "": the homepage's
}

// newRenderer returns a renderer drawing each tile with its view (viewOf).
func newRenderer(views map[string]string) *renderer {
	funcs := template.FuncMap{"price": formatPrice, "ms": formatMS}
	t := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
	return &renderer{t: t, views: views, fragments: newFragments()}
}

// slotView is a tile's place in the page's shell, sized by its view and width.
type slotView struct{ Name, View, Width string }

// shell writes the page up to its tiles' slots, for the tiles named names.
func (r *renderer) shell(w io.Writer, nonce, user string, names []string) error {
	slots := make([]slotView, len(names))
	for i, n := range names {
		slots[i] = slotView{Name: n, View: viewOf(r.views, n), Width: r.widths[n]}
	}
	return r.t.ExecuteTemplate(w, "shell", struct {
		Nonce, User, Title string
		Tiles              []slotView
	}{nonce, user, r.title, slots})
}

// tileView is what a tile template sees.
type tileView struct {
	Name             string
	View             string // the view it is drawn with (viewOf)
	Width            string // its width in the page's layout; "": the homepage's
	Status           tiles.Status
	ElapsedMS, AgeMS float64
	Data             any // the tile's data as its view takes it (viewTemplate)
	RetryURL         string
	Gone             bool // the backend said its content does not exist (404, 410): nothing to retry
}

// dataViews read a tile's data, for the tile named name, for the views that
// take more than JSON; the html view's is the renderer's (fragments).
var dataViews = map[string]func(name string, raw json.RawMessage) (any, error){
	ViewBanners:         decode[catalogue.Banners],
	ViewProducts:        decode[catalogue.Products],
	ViewRecommendations: decode[catalogue.Recommendations],
	ViewLinks:           decodeLinks,
}

// decodeLinks reads a links tile's data: a list of which every item has a
// title and a link, else an error (and the generic view draws it).
func decodeLinks(_ string, raw json.RawMessage) (any, error) {
	var l linkList
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, err
	}
	for _, it := range l.Items {
		if it.Title == "" || it.Link == "" {
			return nil, errors.New("links: an item without a title or a link")
		}
	}
	if len(l.Items) == 0 {
		return nil, errors.New("links: no items")
	}
	return l, nil
}

// linkList is what the links view draws: a list of links to other pages,
// such as the category index's (catalogue.Categories).
type linkList struct {
	Title string `json:"title"` // "": the tile's name
	Items []struct {
		Title string `json:"title"`
		Link  string `json:"link"`
		Count *int   `json:"count"` // how many things are behind the link; nil: not said
	} `json:"items"`
}

func decode[T any](_ string, raw json.RawMessage) (any, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}

// tile renders one tile into a buffer, so that a template failing half-way
// leaves nothing in the stream; the generic view takes over when the
// tile's own cannot take or render its data.
func (r *renderer) tile(res aggregator.Result, req tiles.Request) ([]byte, error) {
	v := tileView{Name: res.Name, View: viewOf(r.views, res.Name), Width: r.widths[res.Name], Status: res.Status,
		ElapsedMS: millis(res.Elapsed)}
	if res.Status == tiles.StatusStale {
		v.AgeMS = millis(res.Age)
	}
	var name string
	switch res.Status {
	case tiles.StatusOK, tiles.StatusStale, tiles.StatusFallback:
		name = r.viewTemplate(&v, res.Data)
	default: // only a failed tile has a retry link
		name, v.RetryURL = "tile-failed", retryURL(res.Name, req, v.View, v.Width)
		var be *tiles.BackendError
		v.Gone = errors.As(res.Cause, &be) && be.Gone()
	}
	var buf bytes.Buffer
	err := r.t.ExecuteTemplate(&buf, name, v)
	if err != nil && name != "tile-generic" && name != "tile-failed" {
		buf.Reset()
		name, v.Data = "tile-generic", jsonView(res.Data)
		err = r.t.ExecuteTemplate(&buf, name, v)
	}
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", res.Name, err)
	}
	return buf.Bytes(), nil
}

// viewTemplate sets v.Data to what the tile's view takes of data and
// returns the view's template.
func (r *renderer) viewTemplate(v *tileView, data json.RawMessage) string {
	read, ok := dataViews[v.View]
	if v.View == ViewHTML {
		read, ok = r.fragments.read, true
	}
	if ok && len(data) > 0 {
		if d, err := read(v.Name, data); err == nil {
			v.Data = d
			return "tile-" + v.View
		}
	}
	v.Data = jsonView(data)
	return "tile-generic"
}

func (r *renderer) place(w io.Writer, name, nonce string) error {
	return r.t.ExecuteTemplate(w, "place", struct{ Name, Nonce string }{name, nonce})
}

// finish writes the page's timing waterfall, with its trace id ("" none),
// the script that moves it into its slot, and the page's end.
func (r *renderer) finish(w io.Writer, page aggregator.Page, traceID, nonce string) error {
	v := newTimingView(page.Results, page.Elapsed)
	v.TraceID = traceID
	if err := r.t.ExecuteTemplate(w, "timing", v); err != nil {
		return err
	}
	if err := r.place(w, "timing", nonce); err != nil {
		return err
	}
	return r.t.ExecuteTemplate(w, "end", nil)
}

// timingView lays out the page's timing waterfall as SVG coordinates: one
// bar per tile on a shared time axis, then the page total.
type timingView struct {
	TotalMS, SlowestMS, SumMS float64
	Width, Height, AxisX      float64
	Bars                      []timingBar
	TraceID                   string // "" untraced
}

type timingBar struct {
	Label, Status string
	ElapsedMS     float64
	X, Y, W, H    float64
	TextY, LabelX float64
}

const (
	waterfallWidth = 640.0
	labelWidth     = 140.0
	durWidth       = 130.0
	rowHeight      = 26.0
	barHeight      = 16.0
)

func newTimingView(results []aggregator.Result, total time.Duration) timingView {
	totalMS := millis(total)
	v := timingView{TotalMS: totalMS, Width: waterfallWidth}
	span := totalMS
	for _, r := range results {
		v.SumMS += millis(r.Elapsed)
		v.SlowestMS = max(v.SlowestMS, millis(r.Elapsed))
		span = max(span, millis(r.Start)+millis(r.Elapsed))
	}
	if span <= 0 {
		span = 1
	}
	scale := (waterfallWidth - labelWidth - durWidth) / span
	bar := func(i int, label, status string, start, elapsed float64) timingBar {
		y := float64(i)*rowHeight + (rowHeight-barHeight)/2
		w := max(elapsed*scale, 2) // a 0 ms tile still shows
		x := labelWidth + start*scale
		return timingBar{Label: label, Status: status, ElapsedMS: elapsed,
			X: round1(x), Y: y, W: round1(w), H: barHeight, TextY: y + barHeight - 3, LabelX: round1(x + w + 6)}
	}
	for i, r := range results {
		v.Bars = append(v.Bars, bar(i, r.Name, string(r.Status), millis(r.Start), millis(r.Elapsed)))
	}
	v.Bars = append(v.Bars, bar(len(results), "page total", "total", 0, totalMS))
	v.Height = float64(len(v.Bars)) * rowHeight
	v.AxisX = round1(labelWidth + totalMS*scale)
	return v
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// retryURL loads tile name alone for req's user, with the page's
// parameters; on a page with a layout, with the view and width it has there.
func retryURL(name string, req tiles.Request, view, width string) string {
	q := url.Values{"format": {"html"}}
	if width != "" {
		q.Set("view", view)
		q.Set("width", width)
	}
	if req.User != "" {
		q.Set("user", req.User)
	}
	for k, v := range req.Params {
		q.Set(k, v)
	}
	return "/tiles/" + url.PathEscape(name) + "?" + q.Encode()
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
	unit := int64(math.Pow10(digits))
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

// The views the HTML page can draw a tile with (Options.Views): the built-in
// tiles' own, a generic view of any JSON, and an HTML fragment.
const (
	ViewBanners         = "banners"
	ViewProducts        = "products"
	ViewRecommendations = "recommendations"
	ViewJSON            = "json"
	ViewHTML            = "html"

	ViewLinks = "links"
)

// ViewNames lists every view Options.Views may name.
func ViewNames() []string {
	return []string{ViewBanners, ViewProducts, ViewRecommendations, ViewJSON, ViewHTML, ViewLinks}
}

// Widths are a tile's widths in a page's layout on a wide screen: the
// whole row, half of it, a third, or the whole row with its items in one
// line that scrolls sideways. On a phone every tile takes the whole row.
func Widths() []string { return []string{"full", "half", "third", "row"} }

// look returns r drawing tile name with view and width ("": as r does),
// for /tiles/NAME loaded by a page's retry link.
func (r *renderer) look(name, view, width string) (*renderer, error) {
	c := *r
	var err error
	if c.views, err = choose(r.views, name, "view", view, ViewNames()); err != nil {
		return nil, err
	}
	if c.widths, err = choose(r.widths, name, "width", width, Widths()); err != nil {
		return nil, err
	}
	return &c, nil
}

// choose returns a copy of m with m[name] = v, one of choices ("": m as it
// is); kind names v in the error.
func choose(m map[string]string, name, kind, v string, choices []string) (map[string]string, error) {
	if v == "" {
		return m, nil
	}
	if !slices.Contains(choices, v) {
		return nil, tiles.Errorf(tiles.EINVALID, "no %s %q; one of %s", kind, tiles.Clip(v, 32), strings.Join(choices, ", "))
	}
	c := maps.Clone(m)
	if c == nil {
		c = map[string]string{}
	}
	c[name] = v
	return c, nil
}

// viewOf is the view a tile is drawn with: the one views gives it, else
// its own name's if that is a built-in view, else the generic one.
func viewOf(views map[string]string, name string) string {
	if v, ok := views[name]; ok && slices.Contains(ViewNames(), v) {
		return v
	}
	switch name {
	case ViewBanners, ViewProducts, ViewRecommendations:
		return name
	}
	return ViewJSON
}

// Check reports an option that does not fit a page of the tiles named
// names: a primary tile or a view for a tile not on the page, or a view
// that does not exist. NewServer panics on such options.
func (o Options) Check(names []string) error {
	if o.Primary != "" && !slices.Contains(names, o.Primary) {
		return fmt.Errorf("web: the primary tile %q is not on the page (tiles: %s)", o.Primary, strings.Join(names, ", "))
	}
	for _, name := range o.SetCookie {
		if !slices.Contains(names, name) {
			return fmt.Errorf("web: set-cookie for %q, which is not on the page (tiles: %s)", name, strings.Join(names, ", "))
		}
	}
	for name, v := range o.Views {
		if !slices.Contains(names, name) {
			return fmt.Errorf("web: a view for %q, which is not on the page (tiles: %s)", name, strings.Join(names, ", "))
		}
		if !slices.Contains(ViewNames(), v) {
			return fmt.Errorf("web: tile %q: no view %q; views: %s", name, v, strings.Join(ViewNames(), ", "))
		}
	}
	return nil
}
