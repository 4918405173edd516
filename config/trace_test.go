package config_test

import (
	"strings"
	"testing"

	"vitrine/config"
)

func TestParseTrace(t *testing.T) {
	ratio := func(f float64) *float64 { return &f }
	tests := []struct {
		args   []string
		vars   map[string]string
		mode   string
		sample *float64
	}{
		{nil, nil, "off", nil},
		{[]string{"-trace", "stdout"}, nil, "stdout", nil},
		{nil, map[string]string{"VITRINE_TRACE": "otlp", "VITRINE_TRACE_SAMPLE": "0.01"}, "otlp", ratio(0.01)},
		{[]string{"-trace", "stdout", "-trace-sample", "0"}, map[string]string{"VITRINE_TRACE_SAMPLE": "0.5"}, "stdout", ratio(0)},
	}
	for _, tt := range tests {
		got, err := config.Parse(tt.args, env(tt.vars))
		if err != nil {
			t.Errorf("Parse(%q, %v): %v", tt.args, tt.vars, err)
			continue
		}
		if got.Trace != tt.mode || (got.TraceSample == nil) != (tt.sample == nil) || got.TraceSample != nil && *got.TraceSample != *tt.sample {
			t.Errorf("Parse(%q, %v): trace %q, sample %v; want %q, %v", tt.args, tt.vars, got.Trace, got.TraceSample, tt.mode, tt.sample)
		}
	}
}

func TestParseTraceErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-trace", "jaeger"}, `-trace: "jaeger" is not a tracing mode (off, stdout, otlp)`},
		{[]string{"-trace-sample", "1.5"}, "-trace-sample: 1.5 is outside [0, 1]"},
		{[]string{"-trace-sample", "often"}, `-trace-sample: "often" is not a number`},
	} {
		_, err := config.Parse(tt.args, env(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v; want %q", tt.args, err, tt.want)
		}
	}
}

// TestTraceSampleFile: the file's trace-sample is the ratio unless the
// command line or the environment gives one; a bad one is placed.
func TestTraceSampleFile(t *testing.T) {
	path := writeConfig(t, "trace-sample: 0.25\ntiles: [{name: banners}]\n")
	for _, tt := range []struct {
		args []string
		vars map[string]string
		want float64
	}{
		{nil, nil, 0.25},
		{[]string{"-trace-sample", "1"}, nil, 1},
		{nil, map[string]string{"VITRINE_TRACE_SAMPLE": "0"}, 0},
	} {
		got, err := config.Parse(append([]string{"-config", path}, tt.args...), env(tt.vars))
		if err != nil || got.TraceSample == nil || *got.TraceSample != tt.want {
			t.Errorf("Parse(%q, %v): sample %v, %v; want %g", tt.args, tt.vars, got.TraceSample, err, tt.want)
		}
	}
	for text, want := range map[string]string{
		"tiles: [{name: banners}]\ntrace-sample: 1.5\n":   ":2:15: trace-sample: 1.5 is outside [0, 1]",
		"tiles: [{name: banners}]\ntrace-sample: often\n": `:2:15: trace-sample: "often" is not a number`,
	} {
		path := writeConfig(t, text)
		if _, err := config.Parse([]string{"-config", path}, env(nil)); err == nil || !strings.Contains(err.Error(), path+want) {
			t.Errorf("Parse(file %q) error = %v; want %q", text, err, path+want)
		}
	}
}
