package servertest

import (
	"testing"

	"go.uber.org/goleak"
)

// Each server is watched by a goroutine until it exits: a stop that does
// not wait for the exit shows up here.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
