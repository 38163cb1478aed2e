package proc

import (
	"syscall"
	"unsafe"
)

// sysProcAttr puts the process in a group of its own and has the kernel kill
// it when the thread that started it dies (Run keeps that thread locked).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

const pPID = 1 // idtype_t P_PID

// waitExitNoReap blocks until the child pid has exited, leaving it a zombie
// for exec.Cmd.Wait to reap (waitid with WNOWAIT). It reports false if it
// could not wait (then the caller learns of the exit from Wait).
func waitExitNoReap(pid int) bool {
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch e {
		case 0:
			return true
		case syscall.EINTR:
			continue
		default:
			return false
		}
	}
}
