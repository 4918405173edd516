package servertest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recordingTB is a testing.TB whose Fatal and Skip record their message
// and end the goroutine, as the real ones do; the rest is the real test's.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordingTB) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// record runs f with a recordingTB in its own goroutine, so that its
// Goexit ends only f.
func record(t *testing.T, f func(testing.TB)) *recordingTB {
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestMissingBinary(t *testing.T) {
	tests := []struct {
		name      string
		ci        string
		wantFatal bool
	}{
		{"in CI it fails", "true", true},
		{"elsewhere it skips", "", false},
		{"CI not true skips", "false", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := record(t, func(tb testing.TB) { lookBinary(tb, "vitrine-no-such-server", "no-such-pkg") })
			msg, other := r.skip, r.fatal
			if tt.wantFatal {
				msg, other = r.fatal, r.skip
			}
			if want := "vitrine-no-such-server not installed: apt-get install no-such-pkg"; msg != want {
				t.Errorf("message = %q; want %q", msg, want)
			}
			if other != "" {
				t.Errorf("also got %q; want only one of Fatal and Skip", other)
			}
		})
	}
}

func TestNginxThatDoesNotStartFailsWithItsErrorLog(t *testing.T) {
	lookBinary(t, "nginx", "nginx")
	site := fmt.Sprintf("server { listen %d; no_such_directive on; }", FreePort(t))
	r := record(t, func(tb testing.TB) { Nginx(tb, site) })
	if !strings.Contains(r.fatal, `unknown directive "no_such_directive"`) {
		t.Errorf("Fatal message = %q; want it to quote error.log's unknown directive", r.fatal)
	}
}

func TestNginxSiteWithoutListenFails(t *testing.T) {
	lookBinary(t, "nginx", "nginx")
	r := record(t, func(tb testing.TB) { Nginx(tb, "server { location / { return 204; } }") })
	if !strings.Contains(r.fatal, `no "listen PORT" directive`) {
		t.Errorf("Fatal message = %q; want it to ask for a listen directive", r.fatal)
	}
}
