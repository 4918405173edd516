package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// writes records each Write it is given.
type writes struct {
	mu  sync.Mutex
	got []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, string(p))
	return len(p), nil
}

func (w *writes) calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// TestLogBufferHoldsRequestLines: held lines go out together, once logHold
// has passed since the first; a line through now takes the held ones with
// it, before itself; Flush writes what is held.
func TestLogBufferHoldsRequestLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &writes{}
		b := newLogBuffer(w)
		b.held().Write([]byte("a\n"))
		time.Sleep(logHold / 2)
		b.held().Write([]byte("b\n"))
		time.Sleep(logHold/2 - time.Millisecond)
		synctest.Wait()
		if got := w.calls(); len(got) != 0 {
			t.Fatalf("before logHold: writes %q; want none", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got, want := w.calls(), []string{"a\nb\n"}; !slices.Equal(got, want) {
			t.Fatalf("at logHold: writes %q; want %q", got, want)
		}
		b.held().Write([]byte("c\n"))
		b.now().Write([]byte("warn\n"))
		if got, want := w.calls()[1:], []string{"c\nwarn\n"}; !slices.Equal(got, want) {
			t.Fatalf("a line through now: writes %q; want %q", got, want)
		}
		b.held().Write([]byte("d\n"))
		b.Flush()
		time.Sleep(2 * logHold) // the timer was stopped: nothing more
		synctest.Wait()
		if got, want := w.calls()[2:], []string{"d\n"}; !slices.Equal(got, want) {
			t.Fatalf("Flush: writes %q; want %q", got, want)
		}
	})
}

// TestLogBufferWritesFullBatches: logBatch bytes held go out at once.
func TestLogBufferWritesFullBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &writes{}
		b := newLogBuffer(w)
		line := strings.Repeat("x", 99) + "\n"
		for range logBatch / len(line) {
			b.held().Write([]byte(line))
		}
		if got := w.calls(); len(got) != 0 {
			t.Fatalf("under logBatch: %d writes; want none", len(got))
		}
		b.held().Write([]byte(line))
		if got := w.calls(); len(got) != 1 || len(got[0]) != (logBatch/len(line)+1)*len(line) {
			t.Fatalf("at logBatch: %d writes; want 1 of every line", len(got))
		}
		b.Flush()
	})
}

// BenchmarkLogLine measures one request line through slog's text handler
// into a file (as stderr redirected to a file is), written at once (direct)
// or held by a logBuffer (held).
func BenchmarkLogLine(b *testing.B) {
	for _, held := range []bool{false, true} {
		b.Run(map[bool]string{false: "direct", true: "held"}[held], func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var w io.Writer = f
			if held {
				logs := newLogBuffer(f)
				defer logs.Flush()
				w = logs.held()
			}
			logger := slog.New(slog.NewTextHandler(w, nil))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				logger.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", "GET"), slog.String("uri", "/home"),
					slog.Int("status", 200), slog.Duration("latency", 136*time.Microsecond),
					slog.String("request_id", "7a0bd8918a3ddc48c4ad455c698573ca"))
			}
		})
	}
}
