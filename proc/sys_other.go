//go:build unix && !linux

// This file holds the process plumbing outside Linux: no parent-death
// signal, no pidfd, and a thread blocked in wait per running process.

package proc

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the process in a group of its own. Parent-death signals
// are a Linux feature.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// startProcess starts cmd from the calling goroutine.
func startProcess(cmd *exec.Cmd) (release func(), err error) {
	return func() {}, cmd.Start()
}

// waitExitNoReap is not available: the group is killed after Wait.
func waitExitNoReap(pid int) bool { return false }

// watchGroup cannot tell when a group is empty: it waits for the end of
// the grace period.
func watchGroup(pgid int) (<-chan struct{}, func()) { return nil, func() {} }
