package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"vitrine/sim"
	"vitrine/tiles"
	"vitrine/tracing"
)

// Backends is the parsed command line of `vitrine backends`, which serves
// the built-in tiles' simulated backends over HTTP. Latency has an entry
// for every built-in tile; Fail and Tail only for the tiles that fail or
// have a tail, as in Config.
type Backends struct {
	Addr    string
	Latency map[string]time.Duration
	Fail    map[string]float64
	Tail    map[string]Tail
	// Trace is how the backends trace their requests: one of tracing.Modes.
	// With stdout or otlp each request is a server span that continues
	// the trace of its traceparent.
	Trace string
}

// ParseBackends reads the flags of `vitrine backends` in args (after the
// subcommand's name), with the same value syntax and the same one-line
// *Error as Parse, and ErrHelp for -h.
//
// getenv is not read: the subcommand takes no VITRINE_* variables, because
// they configure the server, often started from the same shell, and a
// VITRINE_LATENCY meant for the server's own simulator must not slow the
// HTTP backends behind it too.
func ParseBackends(args []string, _ func(string) string) (Backends, error) {
	b := backendsDefaults()
	fs := newBackendsFlagSet(&b)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Backends{}, ErrHelp
		}
		return Backends{}, flagError(err)
	}
	if fs.NArg() > 0 {
		return Backends{}, &Error{Flag: "arguments", Msg: fmt.Sprintf("unexpected %q: vitrine backends takes only flags", tiles.Clip(fs.Arg(0), 64))}
	}
	return b, nil
}

// BackendsUsage writes the subcommand's flags and their defaults to w.
func BackendsUsage(w io.Writer) {
	b := backendsDefaults()
	fs := newBackendsFlagSet(&b)
	fmt.Fprintf(w, "Usage: vitrine backends [flags]\n\n"+
		"Serves the built-in tiles' simulated backends over HTTP, for Vitrine's -backend or -config:\n"+
		"GET /banners, /products and /recommendations?user=NAME answer JSON with an ETag (If-None-Match gets a 304),\n"+
		"GET /healthz says it serves, GET /stats counts the requests that reached each tile, per user.\n"+
		"It reads no VITRINE_* environment variables: those configure the server.\n\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// backendsDefaults returns the subcommand's configuration before any flag:
// the built-in tiles' latencies, as for the server's own simulator.
func backendsDefaults() Backends {
	b := Backends{
		Addr:    "localhost:9000",
		Latency: map[string]time.Duration{},
		Fail:    map[string]float64{},
		Tail:    map[string]Tail{},
		Trace:   tracing.Off,
	}
	for _, d := range sim.Builtins() {
		b.Latency[d.Name] = d.Latency
	}
	return b
}

func newBackendsFlagSet(b *Backends) *flag.FlagSet {
	fs := flag.NewFlagSet("vitrine backends", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, on one line
	known := sim.Names()
	fs.Var(scalar(&b.Addr, checkedAddr), "addr", "listen `address` (host:port; port 0 picks a free one)")
	fs.Var(list(known, parseLatency, latencySetter(b.Latency, b.Tail), b.Latency), "latency", "simulated latency per tile, `name=duration` pairs, each optionally with a heavy tail as in recommendations=120ms/p99=1s (1 fetch in 100 takes 1s); names not given keep their default")
	fs.Var(list(known, ParseProbability, set(b.Fail), b.Fail), "fail", "simulated failure probability per tile, `name=p` pairs with 0 <= p <= 1; a failure answers 503")
	fs.Var(scalar(&b.Trace, parseTrace), "trace", "OpenTelemetry tracing: `off|stdout|otlp`; stdout prints spans as JSON lines, otlp sends them over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (the standard OTEL_* variables apply); each request continues the trace of its traceparent")
	return fs
}

// parseTrace reads the backends' -trace value, spaces around it ignored
// as they always were.
func parseTrace(s string) (string, error) {
	return ParseTraceMode(strings.TrimSpace(s))
}
