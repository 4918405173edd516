package main

import (
	"io"
	"sync"
	"time"
)

// logBuffer writes the log to w. Lines written through held (the access
// log) wait, at most logHold or until logBatch bytes are held, so that a
// busy server spends one write on many request lines rather than one each;
// a line written through now goes out at once, after the held lines, so
// that the order of lines is kept. Flush writes what is held (at exit).
type logBuffer struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	timer *time.Timer // armed while lines are held
	armed bool
}

const (
	logHold  = 100 * time.Millisecond
	logBatch = 8 << 10
)

func newLogBuffer(w io.Writer) *logBuffer {
	return &logBuffer{w: w, buf: make([]byte, 0, logBatch)}
}

// held returns the writer whose lines wait.
func (b *logBuffer) held() io.Writer {
	return writerFunc(func(p []byte) error { return b.write(p, false) })
}

// now returns the writer whose lines go out at once.
func (b *logBuffer) now() io.Writer {
	return writerFunc(func(p []byte) error { return b.write(p, true) })
}

// Flush writes the held lines.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.flushLocked() // the log's own failure has nowhere to be logged
}

func (b *logBuffer) write(p []byte, now bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	switch {
	case now || len(b.buf) >= logBatch:
		return b.flushLocked()
	case !b.armed && b.timer == nil:
		b.timer = time.AfterFunc(logHold, b.Flush)
	case !b.armed:
		b.timer.Reset(logHold)
	}
	b.armed = true
	return nil
}

func (b *logBuffer) flushLocked() error {
	if b.armed {
		b.timer.Stop()
		b.armed = false
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// writerFunc is an io.Writer that writes all of p or fails.
type writerFunc func(p []byte) error

func (f writerFunc) Write(p []byte) (int, error) {
	if err := f(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
