//go:build !linux

package servertest

import "syscall"

// setDeathSignal does nothing where the kernel has no parent-death signal:
// the servers are stopped by the tests' cleanups only.
func setDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}
