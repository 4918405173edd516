package servertest

import "syscall"

// setDeathSignal makes the kernel send sig to the server when the thread
// that started it exits, so a test binary that dies (a panic, a timeout,
// SIGKILL) leaves no server behind. Go only ends a thread when a goroutine
// that locked it returns, which this package never does.
func setDeathSignal(a *syscall.SysProcAttr, sig syscall.Signal) { a.Pdeathsig = sig }
