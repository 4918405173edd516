package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"vitrine/servertest"
)

// The shipped Grafana dashboard, docs/grafana/vitrine.json, must not rot:
// every PromQL expression in it parses, and names only metrics and labels
// that a Vitrine exposes at /metrics after a run that uses its features.

const dashboardFile = "docs/grafana/vitrine.json"

// targetLabels are added by Prometheus when it scrapes a replica, not
// exposed by Vitrine itself.
var targetLabels = []string{"instance", "job"}

// dashboard is the part of a Grafana dashboard the check reads.
type dashboard struct {
	Panels     []dashboardPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"` // a string, or {"query": "..."}
		} `json:"list"`
	} `json:"templating"`
}

type dashboardPanel struct {
	Type        string           `json:"type"`
	Title       string           `json:"title"`
	Description string           `json:"description"`
	Panels      []dashboardPanel `json:"panels"` // a collapsed row's
	Targets     []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// exposed is what /metrics showed: each series name with the label names
// its series carry.
type exposed map[string]map[string]bool

func exposedBy(samples metricSamples) exposed {
	e := exposed{}
	for _, s := range samples {
		name := string(s.Metric[model.MetricNameLabel])
		if e[name] == nil {
			e[name] = map[string]bool{}
		}
		for l := range s.Metric {
			e[name][string(l)] = true
		}
	}
	return e
}

// grafanaVars stand for the dashboard's variables when an expression is
// parsed as Prometheus would receive it.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "${instance}", ".*", "$instance", ".*")

// checkExpr reports what in the PromQL expr does not parse or is not in e.
func checkExpr(expr string, e exposed) []string {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return []string{fmt.Sprintf("does not parse: %v", err)}
	}
	var problems []string
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			if _, ok := e[n.Name]; !ok {
				problems = append(problems, "no series "+n.Name)
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != model.MetricNameLabel {
					problems = append(problems, missingLabel(e, []string{n.Name}, m.Name)...)
				}
			}
		case *parser.AggregateExpr: // by (...) or without (...) labels of the series under it
			for _, l := range n.Grouping {
				problems = append(problems, missingLabel(e, selectors(n.Expr), l)...)
			}
		}
		return nil
	})
	return problems
}

// selectors returns the names of the series node reads.
func selectors(node parser.Node) []string {
	var names []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// missingLabel names label unless every one of names carries it.
func missingLabel(e exposed, names []string, label string) []string {
	if slices.Contains(targetLabels, label) {
		return nil
	}
	var missing []string
	for _, name := range names {
		if labels, ok := e[name]; ok && !labels[label] {
			missing = append(missing, fmt.Sprintf("no label %q on %s", label, name))
		}
	}
	return missing
}

// labelValues matches Grafana's label_values(METRIC, LABEL) variable query.
var labelValues = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)

// dashboardExprs returns every expression of d, named by where it is.
func dashboardExprs(t *testing.T, d dashboard) map[string]string {
	exprs := map[string]string{}
	var walk func([]dashboardPanel)
	walk = func(panels []dashboardPanel) {
		for _, p := range panels {
			if p.Title == "" || p.Description == "" {
				t.Errorf("panel %q (%s): every panel and row has a title and says what it answers", p.Title, p.Type)
			}
			for i, tg := range p.Targets {
				exprs[fmt.Sprintf("panel %q, target %d", p.Title, i)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return exprs
}

func TestDashboardNamesWhatMetricsExpose(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	e := exposedBy(scrapeAfterRun(t))
	exprs := dashboardExprs(t, d)
	if len(exprs) < 20 {
		t.Fatalf("%s: %d expressions; the dashboard lost its panels", dashboardFile, len(exprs))
	}
	for where, expr := range exprs {
		for _, p := range checkExpr(expr, e) {
			t.Errorf("%s, %s: %s\n\t%s", dashboardFile, where, p, expr)
		}
	}
	for _, v := range d.Templating.List {
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		if s == "" {
			continue // the datasource variable
		}
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(METRIC, LABEL)", v.Name, s)
		} else if _, ok := e[m[1]]; !ok {
			t.Errorf("variable %s: no series %s", v.Name, m[1])
		}
	}
}

// scrapeAfterRun serves pages in every form from a Vitrine with the shared
// tier over HTTP backends, then returns its /metrics.
func scrapeAfterRun(t *testing.T) metricSamples {
	redis := servertest.Redis(t)
	backends := startBackends(t, "-latency", "banners=1ms,products=2ms,recommendations=3ms")
	in := start(t, append([]string{"-redis", redis.URL(), "-backend", tilesAt(backends.base)}, sturdyArgs...)...)
	return pagesThenMetrics(t, in.base, "/home?user=dashboard&format=", "json", "html", "ndjson", "json")
}

// TestCheckExprFails checks the check itself: each kind of rot is caught.
func TestCheckExprFails(t *testing.T) {
	e := exposed{
		"vitrine_pages_total":                  {"__name__": true, "complete": true},
		"vitrine_page_duration_seconds_bucket": {"__name__": true, "format": true, "le": true},
	}
	for _, tt := range []struct {
		expr string
		want []string // problems, sorted
	}{
		{`sum by (complete) (rate(vitrine_pages_total{instance=~"$instance"}[$__rate_interval]))`, nil},
		{`histogram_quantile(0.99, sum by (format, le) (rate(vitrine_page_duration_seconds_bucket[5m])))`, nil},
		{`rate(vitrine_pages_totl[1m])`, []string{"no series vitrine_pages_totl"}},
		{`sum by (status) (rate(vitrine_pages_total[1m]))`, []string{`no label "status" on vitrine_pages_total`}},
		{`vitrine_pages_total{tile="x"}`, []string{`no label "tile" on vitrine_pages_total`}},
		{`sum(rate(vitrine_pages_total[1m])`, []string{"does not parse"}},
	} {
		got := checkExpr(tt.expr, e)
		sort.Strings(got)
		if len(got) != len(tt.want) {
			t.Errorf("checkExpr(%s) = %q; want %q", tt.expr, got, tt.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tt.want[i]) {
				t.Errorf("checkExpr(%s) = %q; want %q", tt.expr, got, tt.want)
			}
		}
	}
}
