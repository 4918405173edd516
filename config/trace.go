package config

import (
	"fmt"
	"slices"
	"strings"

	"vitrine/tracing"
)

// ParseTraceMode checks a -trace value (the server's and `vitrine
// backends`'): one of tracing.Modes.
func ParseTraceMode(s string) (string, error) {
	if !slices.Contains(tracing.Modes, s) {
		return "", fmt.Errorf("%q is not a tracing mode (%s)", clip(s), strings.Join(tracing.Modes, ", "))
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
