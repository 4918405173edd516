package config_test

import (
	"testing"
	"time"

	"vitrine/config"
)

// TestParseShutdownTimeout: -shutdown-timeout and VITRINE_SHUTDOWN_TIMEOUT
// set how long a shutdown drains, 15s unless set.
func TestParseShutdownTimeout(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration
	}{
		{name: "default", want: 15 * time.Second},
		{name: "flag", args: []string{"-shutdown-timeout", "500ms"}, want: 500 * time.Millisecond},
		{name: "flag with =", args: []string{"--shutdown-timeout=1m"}, want: time.Minute},
		{name: "VITRINE_SHUTDOWN_TIMEOUT", env: map[string]string{"VITRINE_SHUTDOWN_TIMEOUT": "25s"}, want: 25 * time.Second},
		{name: "flag overrides VITRINE_SHUTDOWN_TIMEOUT", args: []string{"-shutdown-timeout", "2s"},
			env: map[string]string{"VITRINE_SHUTDOWN_TIMEOUT": "1s"}, want: 2 * time.Second},
		{name: "independent of -test-delay", args: []string{"-test-delay", "1m"}, want: 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse(tt.args, env(tt.env))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v; want nil", tt.args, err)
			}
			if got.ShutdownTimeout != tt.want {
				t.Errorf("ShutdownTimeout = %v; want %v", got.ShutdownTimeout, tt.want)
			}
		})
	}
}

// TestParseShutdownTimeoutErrors: a drain must be a positive duration.
func TestParseShutdownTimeoutErrors(t *testing.T) {
	tests := []errorCase{
		{name: "zero", args: []string{"-shutdown-timeout", "0s"}, says: []string{`"0s" must be more than zero`}},
		{name: "negative", args: []string{"-shutdown-timeout", "-1s"}, says: []string{`"-1s" is negative`}},
		{name: "no unit", args: []string{"-shutdown-timeout", "15"}, says: []string{`"15" has no unit`}},
		{name: "bad VITRINE_SHUTDOWN_TIMEOUT", env: map[string]string{"VITRINE_SHUTDOWN_TIMEOUT": "soon"},
			from: "VITRINE_SHUTDOWN_TIMEOUT", says: []string{`"soon"`}},
	}
	checkParseErrors(t, "-shutdown-timeout", tests)
}
