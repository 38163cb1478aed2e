//go:build unix

// This file holds the signalling of a process group: stop signal, SIGKILL,
// and letting the rest of a group finish its grace period after the leader
// exited, without ever signalling a group id that may have been reused.

package proc

import (
	"errors"
	"os"
	"sync"
	"syscall"
)

// group is the signalling state of one process group. Its id is the
// leader's pid, which cannot be reused while the leader is unreaped: every
// signal is sent before the leader is reaped, never after.
type group struct {
	mu         sync.Mutex
	leaderGone bool          // the leader is about to be reaped: no more signals
	stopping   bool          // StopSignal was sent
	graceOver  chan struct{} // closed when the grace period ended (SIGKILL sent)
}

// signalGroup sends sig to the process group, unless the leader is gone.
// stop says that sig is the stop signal.
func (r *run) signalGroup(pid int, sig syscall.Signal, stop bool) error {
	r.grp.mu.Lock()
	defer r.grp.mu.Unlock()
	if r.grp.leaderGone {
		return os.ErrProcessDone
	}
	if stop {
		r.grp.stopping = true
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	return nil
}

// leaderExited kills what is left of the group once the leader has exited
// (on Linux, before it is reaped), and forbids any later signal.
func (r *run) leaderExited(pid int) {
	r.grp.mu.Lock()
	defer r.grp.mu.Unlock()
	if !r.grp.leaderGone {
		r.grp.leaderGone = true
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// drainGroup is called once the leader has exited and before it is reaped.
// When the stop signal had been sent, the other members of the group keep
// the rest of the grace period: drainGroup returns when none of them is left
// or the grace period is over (then SIGKILL has been sent). The unreaped
// leader keeps the group id from being reused meanwhile. After a natural
// exit it returns at once: the rest of the group is killed.
func (r *run) drainGroup(pid int) {
	r.grp.mu.Lock()
	stopping := r.grp.stopping
	r.grp.mu.Unlock()
	if !stopping {
		return
	}
	gone, cancel := watchGroup(pid)
	defer cancel()
	select {
	case <-gone:
	case <-r.grp.graceOver:
	}
}
