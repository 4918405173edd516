// Package benchchart draws the benchmark charts of docs/benchmarks.md from
// the shared bench's tables committed under docs/bench/. It is a test, so it
// adds no production code and cannot go stale: the test fails when a
// committed SVG no longer matches its tables, and
//
//	go test ./docs/benchchart -update
//
// redraws them. The SVG is written by hand (no dependency): two panels per
// scenario, pages per second and p99 latency, one bar per contender and
// connection count, on an explicit white background so that it reads the
// same in light and dark themes.
package benchchart

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed SVG charts from the bench tables")

// benchDir holds the tables and the charts, seen from this package's folder.
const benchDir = "../bench"

// A series is one contender as drawn: its legend label and its colour
// (Okabe-Ito, safe for colour-blind readers).
type series struct {
	key, label, color string
}

// A pick takes one contender's rows from one table file as a series.
type pick struct {
	file, contender, series string
}

// A scenario is one row of panels: its title and where its bars come from.
type scenario struct {
	title string
	picks []pick
}

// A chart is one SVG file.
type chart struct {
	file     string // under docs/bench/
	title    string
	note     string // under the title, after the date of the first table
	series   []series
	conns    []int
	rows     []scenario
	footnote string
}

// measure is one wrk run: one contender at one connection count.
type measure struct {
	conns          int
	reqs, p50, p99 float64
}

// table is one bench file: its date line and its measured rows by contender.
type table struct {
	date string
	rows map[string][]measure
}

var charts = []chart{
	{
		file:  "peers.svg",
		title: "Vitrine beside its peers, every page fetching every tile (cache off)",
		note:  "wrk -t2 -d5s on the same 2 cores as each server",
		series: []series{
			{"vitrine", "Vitrine", "#0072B2"},
			{"ideal", "plain Go (net/http)", "#009E73"},
			{"lura", "Lura (KrakenD)", "#E69F00"},
			{"gunicorn", "Flask + gunicorn", "#CC79A7"},
			{"flask", "Flask dev server", "#8C8C8C"},
		},
		conns: []int{64, 256, 1024},
		rows: []scenario{
			{"Tiles of 40, 80 and 120 ms: a page takes at least 120 ms", peerPicks("latency")},
			{"Tiles of 0 ms: the cost of aggregation alone", peerPicks("zero")},
		},
		footnote: "Tables: docs/bench/peers-*-final.txt (Vitrine, plain Go, Lura) and " +
			"peers-*-all-1024.txt (Flask, same hour).",
	},
	{
		file:  "http.svg",
		title: "Tiles over HTTP: Vitrine beside plain Go and Lura, from the same upstream",
		note:  "wrk -t2 -d5s on the same 2 cores as each server",
		series: []series{
			{"on", "Vitrine, cache on (the default)", "#0072B2"},
			{"off", "Vitrine, cache off", "#56B4E9"},
			{"ideal", "plain Go over HTTP", "#009E73"},
			{"lura", "Lura (KrakenD)", "#E69F00"},
		},
		conns: []int{64, 256},
		rows: []scenario{
			{"Tiles of 40, 80 and 120 ms", httpPicks("default")},
			{"Tiles of 0 ms", httpPicks("zero")},
		},
		footnote: "Tables: docs/bench/http-*-cache-off.txt and http-*-cache-on.txt. " +
			"1,024 connections left out: there the cache-off runs shed load (see docs/benchmarks.md).",
	},
}

// peerPicks takes the peers tables of one mode: Vitrine, plain Go and Lura
// from the final run, the Flask app from the full run of the same hour.
func peerPicks(mode string) []pick {
	final, all := "peers-"+mode+"-final.txt", "peers-"+mode+"-all-1024.txt"
	return []pick{
		{final, "project", "vitrine"}, {final, "ideal", "ideal"}, {final, "lura", "lura"},
		{all, "seed-gunicorn", "gunicorn"}, {all, "seed-dev", "flask"},
	}
}

// httpPicks takes the tiles-over-HTTP tables of one mode: the peers from the
// cache-off run, measured back to back with Vitrine's cache off.
func httpPicks(mode string) []pick {
	off, on := "http-"+mode+"-cache-off.txt", "http-"+mode+"-cache-on.txt"
	return []pick{
		{on, "project-http", "on"}, {off, "project-http", "off"},
		{off, "ideal-http", "ideal"}, {off, "lura", "lura"},
	}
}

func TestCharts(t *testing.T) {
	for _, c := range charts {
		t.Run(c.file, func(t *testing.T) {
			got, err := c.render(benchDir)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(benchDir, c.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v; run: go test ./docs/benchchart -update", err)
			}
			if got != string(want) {
				t.Errorf("docs/bench/%s does not match its tables; run: go test ./docs/benchchart -update", c.file)
			}
		})
	}
}

func TestParseTable(t *testing.T) {
	const text = `Vitrine bench: homepage tile aggregators, side by side
date:     2026-11-25 14:13 UTC
contender       conns     req/s    p50 ms    p99 ms p50/120ms    err/tmo  notes
-------------- ------ --------- --------- --------- --------- ----------  -----
ideal              64       524    121.04    123.25      1.01        0/0  net/http + goroutines/WaitGroup
project             -         -         -         -         -          -  skipped: PROJECT_BIN not set

err/tmo: wrk socket errors
`
	tb, err := parseTable(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tb.date, "2026-11-25 14:13 UTC"; got != want {
		t.Errorf("date: got %q; want %q", got, want)
	}
	if got, want := tb.rows["ideal"], []measure{{64, 524, 121.04, 123.25}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ideal: got %v; want %v", got, want)
	}
	if got := tb.rows["project"]; got != nil {
		t.Errorf("a skipped contender: got %v; want no rows", got)
	}
	if _, err := parseTable(strings.NewReader("contender\n---\nideal 64 many 1 2\n")); err == nil {
		t.Error("a row with a bad number: got no error")
	}
}

// parseTable reads a table as run.sh prints it: header lines, a column
// header, a dashed rule, rows up to the first blank line. Skipped
// contenders (a "-" for conns) have no rows.
func parseTable(r io.Reader) (table, error) {
	tb := table{rows: map[string][]measure{}}
	sc := bufio.NewScanner(r)
	inRows := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "date:"):
			tb.date = strings.TrimSpace(strings.TrimPrefix(line, "date:"))
		case strings.HasPrefix(line, "---"):
			inRows = true
		case inRows && strings.TrimSpace(line) == "":
			return tb, sc.Err()
		case inRows:
			f := strings.Fields(line)
			if len(f) < 5 || f[1] == "-" {
				continue
			}
			m, err := parseMeasure(f[1:5])
			if err != nil {
				return tb, fmt.Errorf("row %q: %w", line, err)
			}
			tb.rows[f[0]] = append(tb.rows[f[0]], m)
		}
	}
	return tb, sc.Err()
}

// parseMeasure reads conns, req/s, p50 and p99.
func parseMeasure(f []string) (measure, error) {
	var v [4]float64
	for i, s := range f {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return measure{}, err
		}
		v[i] = x
	}
	return measure{int(v[0]), v[1], v[2], v[3]}, nil
}

// loaded is a scenario's data: per series, per connection count, and the
// dates of its tables.
type loaded struct {
	dates []string
	data  map[string]map[int]measure
}

func (c chart) load(dir string, s scenario) (loaded, error) {
	l := loaded{data: map[string]map[int]measure{}}
	for _, p := range s.picks {
		f, err := os.Open(filepath.Join(dir, p.file))
		if err != nil {
			return l, err
		}
		tb, err := parseTable(f)
		f.Close()
		if err != nil {
			return l, fmt.Errorf("%s: %w", p.file, err)
		}
		l.dates = append(l.dates, tb.date)
		byConns := map[int]measure{}
		for _, m := range tb.rows[p.contender] {
			byConns[m.conns] = m
		}
		for _, n := range c.conns {
			if _, ok := byConns[n]; !ok {
				return l, fmt.Errorf("%s: no row for %s at %d connections", p.file, p.contender, n)
			}
		}
		l.data[p.series] = byConns
	}
	return l, nil
}

// Layout, in SVG user units (pixels at 100 %).
const (
	width      = 860
	margin     = 20
	panelGap   = 36
	gutter     = 64 // left of each panel: the connection counts
	labelRoom  = 46 // right of the longest bar: its value
	barH       = 11
	barGap     = 2
	groupGap   = 12
	headerH    = 96 // title, note, legend
	rowTitleH  = 30
	axisH      = 44 // ticks and the axis title under the bars
	rowGap     = 18
	footerH    = 34
	fontFamily = "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
)

func (c chart) panelW() float64 { return (width - 2*margin - panelGap) / 2.0 }

func (c chart) plotH() float64 {
	n := float64(len(c.series))
	return float64(len(c.conns))*(n*(barH+barGap)-barGap) + float64(len(c.conns)-1)*groupGap
}

func (c chart) rowH() float64 { return rowTitleH + c.plotH() + axisH }

func (c chart) render(dir string) (string, error) {
	var rows []loaded
	for _, s := range c.rows {
		l, err := c.load(dir, s)
		if err != nil {
			return "", err
		}
		rows = append(rows, l)
	}
	height := headerH + float64(len(rows))*(c.rowH()+rowGap) - rowGap + footerH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%s" viewBox="0 0 %d %s" `+
		`role="img" aria-labelledby="title desc" font-family="%s">`+"\n",
		width, num(height), width, num(height), fontFamily)
	fmt.Fprintf(&b, "<title id=\"title\">%s</title>\n<desc id=\"desc\">%s</desc>\n", esc(c.title), esc(c.describe(rows)))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="17" font-weight="bold" fill="#1a1a1a">%s</text>`+"\n",
		margin, esc(c.title))
	fmt.Fprintf(&b, `<text x="%d" y="48" font-size="12" fill="#444444">Measured %s; %s. `+
		`Longer bars: more pages per second, or a slower p99.</text>`+"\n", margin, esc(when(rows)), esc(c.note))
	c.legend(&b, 72)
	y := float64(headerH)
	for i, s := range c.rows {
		fmt.Fprintf(&b, `<text x="%d" y="%s" font-size="14" font-weight="bold" fill="#1a1a1a">%s</text>`+"\n",
			margin, num(y+18), esc(s.title))
		top := y + rowTitleH
		c.panel(&b, margin, top, rows[i], "pages per second (more is better)", func(m measure) float64 { return m.reqs })
		c.panel(&b, margin+c.panelW()+panelGap, top, rows[i], "p99 latency, ms (less is better)",
			func(m measure) float64 { return m.p99 })
		y += c.rowH() + rowGap
	}
	fmt.Fprintf(&b, `<text x="%d" y="%s" font-size="11" fill="#555555">%s</text>`+"\n",
		margin, num(height-18), esc(c.footnote))
	fmt.Fprintf(&b, `<text x="%d" y="%s" font-size="11" fill="#555555">Redraw: go test ./docs/benchchart -update</text>`+"\n",
		margin, num(height-5))
	b.WriteString("</svg>\n")
	return b.String(), nil
}

// legend draws one swatch and label per series on one line.
func (c chart) legend(b *strings.Builder, y float64) {
	x := float64(margin)
	for _, s := range c.series {
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="12" height="12" fill="%s"/>`, num(x), num(y-10), s.color)
		fmt.Fprintf(b, `<text x="%s" y="%s" font-size="12" fill="#1a1a1a">%s</text>`+"\n", num(x+17), num(y), esc(s.label))
		x += 17 + 6.4*float64(len(s.label)) + 24
	}
}

// panel draws one metric of one scenario: a group of bars per connection
// count, a scale with gridlines, the axis title, each bar's value.
func (c chart) panel(b *strings.Builder, x, y float64, l loaded, axis string, value func(measure) float64) {
	plotX, plotW := x+gutter, c.panelW()-gutter-labelRoom
	max := 0.0
	for _, byConns := range l.data {
		for _, n := range c.conns {
			max = math.Max(max, value(byConns[n]))
		}
	}
	step := niceStep(max)
	top := step * math.Ceil(max/step)
	scale := plotW / top
	for t := 0.0; t <= top+step/2; t += step {
		tx := plotX + t*scale
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e2e2e2"/>`+"\n",
			num(tx), num(y), num(tx), num(y+c.plotH()+4))
		fmt.Fprintf(b, `<text x="%s" y="%s" font-size="10" fill="#555555" text-anchor="middle">%s</text>`+"\n",
			num(tx), num(y+c.plotH()+16), tick(t))
	}
	fmt.Fprintf(b, `<text x="%s" y="%s" font-size="11" fill="#333333" text-anchor="middle">%s</text>`+"\n",
		num(plotX+plotW/2), num(y+c.plotH()+32), esc(axis))
	gy := y
	groupH := float64(len(c.series))*(barH+barGap) - barGap
	for _, n := range c.conns {
		fmt.Fprintf(b, `<text x="%s" y="%s" font-size="11" fill="#333333" text-anchor="end">%s conns</text>`+"\n",
			num(plotX-8), num(gy+groupH/2+4), tick(float64(n)))
		for i, s := range c.series {
			v := value(l.data[s.key][n])
			by := gy + float64(i)*(barH+barGap)
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%d" fill="%s"><title>%s, %d conns: %s</title></rect>`+"\n",
				num(plotX), num(by), num(math.Max(v*scale, 1)), barH, s.color, esc(s.label), n, label(v))
			fmt.Fprintf(b, `<text x="%s" y="%s" font-size="10" fill="#1a1a1a">%s</text>`+"\n",
				num(plotX+v*scale+4), num(by+barH-2), label(v))
		}
		gy += groupH + groupGap
	}
	fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333"/>`+"\n",
		num(plotX), num(y-2), num(plotX), num(y+c.plotH()+2))
}

// describe says in words what the chart shows, for screen readers.
func (c chart) describe(rows []loaded) string {
	var parts []string
	for i, s := range c.rows {
		for _, n := range c.conns {
			var vals []string
			for _, se := range c.series {
				m := rows[i].data[se.key][n]
				vals = append(vals, fmt.Sprintf("%s %s pages/s, p99 %s ms", se.label, label(m.reqs), label(m.p99)))
			}
			parts = append(parts, fmt.Sprintf("%s, %d connections: %s", s.title, n, strings.Join(vals, "; ")))
		}
	}
	return strings.Join(parts, ". ") + "."
}

// when gives the span of the tables' dates ("2026-11-25 14:07 to 14:14 UTC"
// on one day); run.sh writes them as "YYYY-MM-DD HH:MM UTC", which sorts.
func when(rows []loaded) string {
	var ds []string
	for _, l := range rows {
		ds = append(ds, l.dates...)
	}
	slices.Sort(ds)
	first, last := ds[0], ds[len(ds)-1]
	if first == last {
		return first
	}
	if first[:10] == last[:10] {
		return strings.TrimSuffix(first, " UTC") + " to " + last[11:]
	}
	return strings.TrimSuffix(first, " UTC") + " to " + last
}

// niceStep is a gridline step of 1, 2 or 5 times a power of ten giving three
// to six gridlines up to max.
func niceStep(max float64) float64 {
	raw := max / 4
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// label prints a measured value: whole numbers with thousands separators
// from 100 up, one decimal below.
func label(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return tick(math.Round(v))
}

// tick prints a gridline's value: a whole number with thousands separators
// (steps are whole from a maximum of 4 up), else as short as it goes.
func tick(v float64) string {
	if v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatInt(int64(v), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// num prints a coordinate with at most one decimal.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
