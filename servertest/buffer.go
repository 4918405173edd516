package servertest

import (
	"bytes"
	"fmt"
	"sync"
)

// Buffer is an io.Writer that a server may write to while the test reads
// it. With Max above zero it keeps the first Max bytes and counts the
// rest: a server under load logs a line per request.
type Buffer struct {
	Max int

	mu      sync.Mutex
	b       bytes.Buffer
	dropped int
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if b.Max > 0 {
		p = p[:min(n, max(b.Max-b.b.Len(), 0))]
		b.dropped += n - len(p)
	}
	b.b.Write(p)
	return n, nil
}

// String is what was kept, and how much was dropped if anything was.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("%s[%d more bytes dropped]\n", b.b.String(), b.dropped)
	}
	return b.b.String()
}
