package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/vaulttest"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on Linux).
const clockTicks = 100

// cpuUse is the CPU time (user+system) of the Vault server, every process it started
// (plugins), and this test process (clients and simulators).
type cpuUse struct{ vault, plugins, test time.Duration }

// sampleCPU reads the processes' cumulative CPU time from /proc; on systems without it
// every figure is zero and phases print no CPU line.
func sampleCPU(srv *vaulttest.Server) cpuUse {
	var u cpuUse
	u.vault = procCPU(srv.PID())
	u.test = procCPU(os.Getpid())
	for _, pid := range childPIDs(srv.PID()) {
		u.plugins += procCPU(pid)
	}
	return u
}

func (u cpuUse) sub(v cpuUse) cpuUse {
	return cpuUse{vault: u.vault - v.vault, plugins: u.plugins - v.plugins, test: u.test - v.test}
}

// perOp renders the CPU each operation cost, per process group.
func (u cpuUse) perOp(ops int64) string {
	if ops == 0 || u.vault+u.plugins+u.test == 0 {
		return ""
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(ops) }
	return fmt.Sprintf("CPU per op: vault %.2fms + plugins %.2fms + test process %.2fms = %.2fms",
		ms(u.vault), ms(u.plugins), ms(u.test), ms(u.vault+u.plugins+u.test))
}

// procStat returns the fields after "pid (comm)" of /proc/<pid>/stat.
func procStat(pid int) []string {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(stat[i+1:]))
}

func procCPU(pid int) time.Duration {
	f := procStat(pid)
	// state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

func childPIDs(parent int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStat(pid); len(f) > 1 && f[1] == strconv.Itoa(parent) {
			pids = append(pids, pid)
		}
	}
	return pids
}
