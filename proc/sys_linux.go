// This file holds the Linux process plumbing: one forker thread that starts
// every process (so that Pdeathsig stays armed without a thread per
// process), and pidfd-based waiting through the runtime's poller (so that a
// running process holds no OS thread).

package proc

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// sysProcAttr puts the process in a group of its own and has the kernel kill
// it when the thread that started it dies (the forker thread, which lives as
// long as any process it started).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// forker is the goroutine, locked to its OS thread, that starts every
// process. The kernel sends a process its parent-death signal when the
// thread that forked it exits, so the forker keeps its thread as long as a
// process it started may be alive: it exits (taking its thread along) only
// when the last of them has been reaped, and the next start makes a new one.
var forker struct {
	mu   sync.Mutex
	live int              // processes started (or being started) and not yet reaped
	reqs chan forkRequest // nil when no forker runs
}

type forkRequest struct {
	cmd *exec.Cmd
	res chan error
}

func forkLoop(reqs <-chan forkRequest) {
	runtime.LockOSThread()
	// No UnlockOSThread: the thread ends with the goroutine, when no
	// process it started is left.
	for req := range reqs {
		req.res <- req.cmd.Start()
	}
}

// startProcess starts cmd from the forker thread. release must be called
// once the process has been reaped (it is a no-op when Start failed).
func startProcess(cmd *exec.Cmd) (release func(), err error) {
	forker.mu.Lock()
	if forker.reqs == nil {
		forker.reqs = make(chan forkRequest)
		go forkLoop(forker.reqs)
	}
	forker.live++
	reqs := forker.reqs
	forker.mu.Unlock()

	res := make(chan error, 1)
	reqs <- forkRequest{cmd: cmd, res: res}
	err = <-res
	var once sync.Once
	release = func() { once.Do(releaseForker) }
	if err != nil {
		release()
		return func() {}, err
	}
	return release, nil
}

func releaseForker() {
	forker.mu.Lock()
	defer forker.mu.Unlock()
	forker.live--
	if forker.live == 0 {
		close(forker.reqs)
		forker.reqs = nil
	}
}

// pidfdOpen is pidfd_open(2) with PIDFD_NONBLOCK.
func pidfdOpen(pid int) (int, error) {
	const sysPidfdOpen = 434 // the same on every Linux architecture
	fd, _, e := syscall.Syscall(sysPidfdOpen, uintptr(pid), uintptr(syscall.O_NONBLOCK), 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

const pPIDFD = 3 // idtype_t P_PIDFD

// exitedNoReap reports whether the process behind pidfd has exited, without
// reaping it (waitid WNOHANG|WNOWAIT).
func exitedNoReap(pidfd uintptr) (exited, ok bool) {
	var info [128]byte // siginfo_t; si_signo first, SIGCHLD when a child was found
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPIDFD, pidfd,
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT|syscall.WNOHANG, 0, 0)
		switch e {
		case 0:
			return *(*int32)(unsafe.Pointer(&info[0])) != 0, true
		case syscall.EINTR:
			continue
		default:
			return false, false
		}
	}
}

// waitExitNoReap waits until the child pid has exited, leaving it a zombie
// for exec.Cmd.Wait to reap. It waits through the runtime's poller on a
// pidfd, so no OS thread is blocked. It reports false if it could not wait
// (then the caller learns of the exit from Wait).
func waitExitNoReap(pid int) bool {
	fd, err := pidfdOpen(pid)
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	ok := true
	err = rc.Read(func(fd uintptr) bool {
		var exited bool
		exited, ok = exitedNoReap(fd)
		return exited || !ok
	})
	return err == nil && ok
}
