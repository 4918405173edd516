package resilience

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// background fetch, hedge and cache task must be joined by Wait or Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
