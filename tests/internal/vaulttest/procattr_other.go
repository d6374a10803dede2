//go:build !linux

package vaulttest

import "syscall"

func serverProcAttr() *syscall.SysProcAttr { return nil }
