package config

import (
	"fmt"
	"slices"
	"strings"
)

// TraceModes are the values of -trace (the server's and `vitrine
// backends`'): off (the default), stdout (spans as JSON lines on stdout),
// otlp (OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT). They are package
// tracing's modes, written here so that config depends on no exporter.
var TraceModes = []string{"off", "stdout", "otlp"}

// ParseTraceMode checks a -trace value.
func ParseTraceMode(s string) (string, error) {
	if !slices.Contains(TraceModes, s) {
		return "", fmt.Errorf("%q is not a tracing mode (%s)", clip(s), strings.Join(TraceModes, ", "))
	}
	return s, nil
}

// sampleFlag is -trace-sample: a share of traces in [0, 1], remembered as
// given so that, when it is not, OTEL_TRACES_SAMPLER may say instead.
type sampleFlag struct{ p **float64 }

func (f sampleFlag) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	return fmt.Sprint(**f.p)
}

func (f sampleFlag) Set(s string) error {
	v, err := ParseProbability(s)
	if err == nil {
		*f.p = &v
	}
	return err
}
