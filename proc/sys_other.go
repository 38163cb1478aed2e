//go:build unix && !linux

package proc

import "syscall"

// sysProcAttr puts the process in a group of its own. Parent-death signals
// are a Linux feature.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// waitExitNoReap is not available: the group is killed after Wait.
func waitExitNoReap(pid int) bool { return false }
