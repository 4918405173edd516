package config

import (
	"fmt"
	"io"
	"strings"

	"vitrine/sim"
	"vitrine/tracing"
)

// Backends is the parsed command line of `vitrine backends`, which serves
// the built-in tiles' simulated backends over HTTP.
type Backends struct {
	Addr  string
	Tiles []Tile // the tiles served (sim's built-in and extra ones); only Latency, Tail and Fail are set
	Trace string // one of tracing.Modes
}

// ParseBackends reads the flags of `vitrine backends` as Parse does, but no
// VITRINE_* variables: they configure the server, often run from the same shell.
func ParseBackends(args []string, _ func(string) string) (Backends, error) {
	b := newBackends()
	cmd, err := scan(args, b.options(), "vitrine backends")
	if err != nil {
		return Backends{}, err
	}
	for _, a := range cmd {
		if err := a.s.apply(a.value, "", map[string]bool{}); err != nil {
			return Backends{}, &Error{Flag: "-" + a.s.key, Msg: err.Error()}
		}
	}
	for i := range b.Tiles {
		b.Tiles[i].given = nil
	}
	return *b, nil
}

// BackendsUsage writes the subcommand's flags and their defaults to w.
func BackendsUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: vitrine backends [flags]\n\n"+
		"Serves the built-in tiles' simulated backends over HTTP, for Vitrine's -backend or -config:\n"+
		"GET /banners, /products, /recommendations?user=NAME and /notice (a fourth tile, for -config) answer JSON\n"+
		"with an ETag (If-None-Match gets a 304); so does GET /category/SLUG, a category's title and products\n"+
		"for the pages /c/{slug} (404 for an unknown slug or one not of 1 to 64 a-z, 0-9 and -; /category lists them),\n"+
		"GET /healthz says it serves, GET /stats counts the requests that reached each tile, per user.\n"+
		"It reads no VITRINE_* environment variables: those configure the server.\n\n")
	printFlags(w, newBackends().options())
}

// newBackends returns the subcommand's defaults: the latencies of the
// tiles it serves, the built-in ones and the extra ones.
func newBackends() *Backends {
	b := &Backends{Addr: "localhost:9000", Trace: tracing.Off}
	for _, d := range append(sim.Builtins(), sim.Extra()...) {
		b.Tiles = append(b.Tiles, Tile{Name: d.Name, Latency: d.Latency})
	}
	return b
}

func (b *Backends) options() []setting {
	tiles := func() []Tile { return b.Tiles }
	return []setting{
		opt("addr", "listen `address` (host:port; port 0 picks a free one)", &b.Addr, checkedAddr),
		list("latency", "simulated latency per tile, `name=duration` pairs, each optionally with a heavy tail as in "+
			"recommendations=120ms/p99=1s (1 fetch in 100 takes 1s); names not given keep their default", "latency", tiles),
		list("fail", "simulated failure probability per tile, `name=p` pairs with 0 <= p <= 1; a failure answers 503",
			"fail", tiles),
		opt("trace", "OpenTelemetry tracing: `off|stdout|otlp`; stdout prints spans as JSON lines, otlp sends them "+
			"over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (the standard OTEL_* variables apply); each request "+
			"continues the trace of its traceparent", &b.Trace,
			func(s string) (string, error) { return ParseTraceMode(strings.TrimSpace(s)) }),
	}
}
