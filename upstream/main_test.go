package upstream

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a fetch leaves a goroutine behind: a body
// not closed or a request not cancelled keeps the transport's connection
// goroutines alive.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
