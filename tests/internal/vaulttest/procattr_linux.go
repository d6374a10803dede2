package vaulttest

import "syscall"

// serverProcAttr stops the server if the test binary dies without calling Stop (for
// example when `go test -timeout` kills it).
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
