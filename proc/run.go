//go:build unix

// This file holds one Run of a Process: starting the OS process, watching
// its readiness, stopping its group, and turning its end into Run's result.

package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	supervisor "github.com/arbor-go/supervisor"
)

// hooks let a pool follow a worker's life; nil for a plain Run. They are
// called from Run's goroutines and must not block.
type hooks struct {
	started   func(pid int)              // the process started
	ready     func()                     // the process became ready
	notify    func(key, val string) bool // an assignment the notifier does not know; false: malformed
	malformed func()                     // a notify line that makes no sense
}

// run is the state of one Run: one OS process.
type run struct {
	p       *Process
	ctx     context.Context // Run's context: Ready and Heartbeat go to it
	h       *hooks
	name    string
	stopSig syscall.Signal
	log     *slog.Logger // with child

	cmd     *exec.Cmd
	started chan struct{} // closed once Start returned; pid and plog are set then
	pid     int
	plog    *slog.Logger // log with pid
	grp     group        // the process group's signalling state

	readyOnce sync.Once
	readyCh   chan struct{} // closed when the process is ready
	outputs   []*lineWriter
}

func newRun(ctx context.Context, p *Process, h *hooks) *run {
	r := &run{
		p:       p,
		ctx:     ctx,
		h:       h,
		name:    p.name(),
		stopSig: syscall.SIGTERM,
		readyCh: make(chan struct{}),
		started: make(chan struct{}),
	}
	r.grp.graceOver = make(chan struct{})
	if s, ok := p.StopSignal.(syscall.Signal); ok {
		r.stopSig = s
	}
	if p.Logger != nil {
		r.log = p.Logger.With("child", r.name)
	} else {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.plog = r.log
	return r
}

// markReady records readiness once and tells the tree.
func (r *run) markReady(how string) {
	r.readyOnce.Do(func() {
		close(r.readyCh)
		r.plog.Debug("process ready", "by", how)
		if r.h != nil && r.h.ready != nil {
			r.h.ready()
		}
		supervisor.Ready(r.ctx)
	})
}

func (r *run) isReady() bool {
	select {
	case <-r.readyCh:
		return true
	default:
		return false
	}
}

func (r *run) readiness() Readiness {
	if r.p.Ready == nil {
		return ReadyOnStart()
	}
	return r.p.Ready
}

func (r *run) run() error {
	var nt *notifier
	if _, ok := r.readiness().(readyNotify); ok || r.p.Watchdog > 0 || r.h != nil {
		var err error // the notify socket must exist before the process does
		if nt, err = newNotifier(r); err != nil {
			return fmt.Errorf("proc: %s: notify socket: %w", r.name, err)
		}
		defer nt.close()
	}
	if err := r.command(nt); err != nil {
		return err
	}
	release, err := startProcess(r.cmd)
	if err == nil {
		r.pid = r.cmd.Process.Pid
		r.plog = r.log.With("pid", r.pid)
	}
	close(r.started)
	if err != nil {
		return fmt.Errorf("proc: %s: cannot start %q: %w", r.name, r.p.Path, err)
	}
	done := make(chan error, 1)
	go r.wait(done, release)
	supervisor.ReportPID(r.ctx, r.pid)
	if r.h != nil && r.h.started != nil {
		r.h.started(r.pid)
	}
	r.plog.Debug("process started", "path", r.p.Path)
	if nt != nil {
		nt.start()
	}
	watchCtx, stopWatch := context.WithCancel(r.ctx)
	var watchers sync.WaitGroup
	switch rd := r.readiness().(type) {
	case readyStart:
		r.markReady("start")
	case readyTCP:
		watchers.Go(func() { r.pollTCP(watchCtx, rd.addr) })
	}
	res := r.supervise(done)
	stopWatch()
	watchers.Wait()
	if nt != nil {
		nt.close()
	}
	for _, w := range r.outputs {
		w.flush()
	}
	return r.result(res)
}

// command builds r.cmd.
func (r *run) command(nt *notifier) error {
	p := r.p
	args := p.Args
	if len(args) == 0 {
		args = []string{p.Path}
	}
	cmd := exec.Command(p.Path, args[1:]...)
	cmd.Args = append([]string(nil), args...)
	if len(p.Sockets) > 0 {
		if err := r.activation(cmd); err != nil {
			return err
		}
	}
	cmd.Dir = p.Dir
	cmd.Env = append(r.env(nt), cmd.Env...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = drainDelay
	var match *readyOutput
	if ro, ok := r.readiness().(readyOutput); ok {
		match = &ro
	}
	cmd.Stdout = r.output(p.Stdout, "stdout", match)
	cmd.Stderr = r.output(p.Stderr, "stderr", match)
	r.cmd = cmd
	return nil
}

// wait waits for the leader's exit (without a thread where it can), lets
// the rest of the group finish a stop, reaps the leader and reports.
func (r *run) wait(done chan<- error, release func()) {
	pid := r.pid
	if waitExitNoReap(pid) {
		r.drainGroup(pid)
		r.leaderExited(pid)
	}
	err := r.cmd.Wait()
	r.leaderExited(pid) // where waitExitNoReap is unavailable: best effort
	release()
	done <- err
}

// outcome is how the wait for the process ended.
type outcome struct {
	err      error // from Cmd.Wait
	stopped  bool  // Run's context was done
	timedOut bool  // not ready within StartTimeout
}

// supervise waits for the process to exit, stopping it when Run's context
// is done or it is not ready in time.
func (r *run) supervise(done <-chan error) outcome {
	var (
		res        outcome
		ctxDone    = r.ctx.Done()
		readyCh    <-chan struct{}
		startTimer <-chan time.Time
		grace      *time.Timer
	)
	if r.p.StartTimeout > 0 {
		t := time.NewTimer(r.p.StartTimeout)
		defer t.Stop()
		startTimer, readyCh = t.C, r.readyCh
	}
	for {
		select {
		case <-ctxDone:
			res.stopped = true
			ctxDone, startTimer, readyCh = nil, nil, nil
			grace = r.stop("context done")
		case <-readyCh:
			readyCh, startTimer = nil, nil
		case <-startTimer:
			readyCh, startTimer = nil, nil
			if !r.isReady() {
				res.timedOut = true
				ctxDone = nil
				grace = r.stop("not ready within StartTimeout")
			}
		case res.err = <-done:
			if grace != nil {
				grace.Stop()
			}
			return res
		}
	}
}

// stop sends StopSignal to the group and arms the SIGKILL timer (none when
// Grace is Infinity).
func (r *run) stop(why string) *time.Timer {
	g, limited := r.p.grace()
	r.plog.Debug("stopping process", "reason", why, "signal", r.stopSig.String(), "grace", r.p.Grace)
	if err := r.signalGroup(r.pid, r.stopSig, true); err != nil && !errors.Is(err, os.ErrProcessDone) {
		r.plog.Warn("cannot signal process group", "signal", r.stopSig.String(), "err", err)
	}
	if !limited {
		return nil
	}
	return time.AfterFunc(g, func() {
		r.plog.Warn("process group still running after grace period, sending SIGKILL", "grace", g)
		_ = r.signalGroup(r.pid, syscall.SIGKILL, false)
		close(r.grp.graceOver)
	})
}

// result turns the outcome into Run's error.
func (r *run) result(res outcome) error {
	state := "exit status 0"
	if r.cmd.ProcessState != nil {
		state = r.cmd.ProcessState.String()
	}
	r.plog.Debug("process exited", "state", state)
	err := res.err
	switch {
	case res.stopped:
		return r.ctx.Err()
	case res.timedOut:
		return fmt.Errorf("proc: %s (pid %d): not ready within %v", r.name, r.pid, r.p.StartTimeout)
	case err == nil:
		return nil
	case errors.Is(err, exec.ErrWaitDelay):
		r.plog.Warn("output still held open after exit by a process outside the group", "wait", drainDelay)
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("proc: %s (pid %d): %w", r.name, r.pid, err)
	}
	return fmt.Errorf("proc: %s (pid %d): wait: %w", r.name, r.pid, err)
}

// ownEnv reports whether an environment entry belongs to the supervisor's
// own service manager and is never passed on.
func ownEnv(kv string) bool {
	for _, k := range []string{"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
		"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES="} {
		if strings.HasPrefix(kv, k) {
			return true
		}
	}
	return false
}

// env builds the child's environment (without the LISTEN_* variables).
func (r *run) env(nt *notifier) []string {
	base := r.p.Env
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+2)
	for _, kv := range base {
		if !ownEnv(kv) {
			env = append(env, kv)
		}
	}
	if nt != nil {
		env = append(env, "NOTIFY_SOCKET="+nt.addr)
		if wd := r.p.Watchdog; wd > 0 {
			env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(wd.Microseconds(), 10))
		}
	}
	return env
}

// output returns the writer for one of the process's streams.
func (r *run) output(user io.Writer, stream string, match *readyOutput) io.Writer {
	switch {
	case user != nil && match == nil:
		return user
	case user == nil && match == nil && r.p.Logger == nil:
		return nil // /dev/null
	}
	w := &lineWriter{r: r, stream: stream, log: user == nil, match: match}
	r.outputs = append(r.outputs, w)
	if user != nil {
		return io.MultiWriter(user, w)
	}
	return w
}
