//go:build unix

package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	supervisor "github.com/arbor-go/supervisor"
)

const (
	// DefaultGrace is the Grace of a Process that leaves it zero.
	DefaultGrace = 5 * time.Second

	// ReapMargin is what Spec adds to Grace for a Shutdown limit: the time to
	// deliver SIGKILL, reap the process, drain its output (at most
	// drainDelay) and clean up.
	ReapMargin = 3 * time.Second

	// drainDelay is Cmd.WaitDelay: how long Run waits for the output pipes
	// to reach end of file after the leader exited (or after the final
	// SIGKILL), before closing them on whoever still holds them.
	drainDelay = time.Second
)

// Process describes an OS process to run under a supervisor. Its zero value
// is not runnable: set Path (Command does). A Process must not be modified
// while Run may be executing; Run itself never modifies it, and any number of
// Runs may execute at once, each with its own OS process.
type Process struct {
	// Path is the program to run. If it contains no path separator, it is
	// looked up in PATH (of the supervising process) at each Run.
	Path string
	// Args holds the command-line arguments, including the program name as
	// Args[0]. Empty means []string{Path}.
	Args []string

	// Dir is the working directory; empty means the supervisor's.
	Dir string
	// Env is the environment, as "KEY=value" strings; nil inherits the
	// supervisor's environment. NOTIFY_SOCKET, WATCHDOG_USEC and
	// WATCHDOG_PID are never inherited: they belong to the supervisor's own
	// service manager. Run sets them when the notify protocol is in use.
	Env []string
	// Stdout and Stderr receive the process's output; nil logs each line
	// to Logger (see the package documentation).
	Stdout io.Writer
	Stderr io.Writer
	// StopSignal is sent to the whole process group when Run's context is
	// done; nil means SIGTERM. It must be a syscall.Signal.
	StopSignal os.Signal
	// Grace is how long the process group has to exit after StopSignal
	// before Run sends SIGKILL to the group. Zero means DefaultGrace; a
	// negative Grace sends SIGKILL at once.
	Grace time.Duration

	// Name names the process in log records (attribute "child") and errors;
	// empty means the base name of Path. Spec sets it to the child's name.
	Name string
	// Logger receives the output lines (when Stdout or Stderr is nil) and a
	// few lifecycle records; nil discards them.
	Logger *slog.Logger
	// Ready says when the process counts as started; nil means
	// ReadyOnStart(). Run calls supervisor.Ready(ctx) at that point.
	Ready Readiness
	// StartTimeout, when positive, bounds the wait for readiness: a process
	// not ready in time is stopped (as on cancellation) and Run returns an
	// error. Zero waits as long as the process runs.
	StartTimeout time.Duration
	// Watchdog, when positive, enables the notify protocol (as ReadyOnNotify
	// does, whatever Ready says), announces the interval to the process as
	// WATCHDOG_USEC, and is copied into Spec.Watchdog by Spec: the process
	// must then send WATCHDOG=1 at least that often. Each WATCHDOG=1 calls
	// supervisor.Heartbeat whether or not Watchdog is set.
	Watchdog time.Duration
}

// Command returns a Process that runs the named program with the given
// arguments, in the manner of exec.Command.
func Command(name string, args ...string) *Process {
	return &Process{
		Path: name,
		Args: append([]string{name}, args...),
	}
}

// Spec returns a supervisor.Spec that runs p under the given child name. Its
// Shutdown leaves room for Grace plus ReapMargin, so that the tree never
// abandons a process it is still stopping; WaitReady is set unless p is ready
// at start; Watchdog is p.Watchdog. The Spec runs a copy of p taken now (with
// Name set to name if it was empty): later changes to p do not affect it.
// Restart is left Permanent; change the returned Spec as needed.
func (p *Process) Spec(name string) supervisor.Spec {
	q := *p
	if q.Name == "" {
		q.Name = name
	}
	return supervisor.Spec{
		Name:      name,
		Run:       q.Run,
		Shutdown:  q.grace() + ReapMargin,
		WaitReady: !isReadyOnStart(q.Ready),
		Watchdog:  q.Watchdog,
	}
}

func (p *Process) grace() time.Duration {
	switch {
	case p.Grace == 0:
		return DefaultGrace
	case p.Grace < 0:
		return 0
	}
	return p.Grace
}

func (p *Process) name() string {
	if p.Name != "" {
		return p.Name
	}
	return filepath.Base(p.Path)
}

// Run starts the process and waits for it; see the package documentation
// for how it stops the process, and what it returns. Each call starts a new
// process. When ctx is already done, Run returns ctx.Err() without starting
// anything.
func (p *Process) Run(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.Path == "" {
		return errors.New("proc: Process.Path is empty")
	}
	stopSig := syscall.SIGTERM
	if p.StopSignal != nil {
		s, ok := p.StopSignal.(syscall.Signal)
		if !ok {
			return fmt.Errorf("proc: %s: StopSignal %v is not a syscall.Signal", p.name(), p.StopSignal)
		}
		stopSig = s
	}
	r := &run{
		p:       p,
		ctx:     ctx,
		name:    p.name(),
		stopSig: stopSig,
		readyCh: make(chan struct{}),
		started: make(chan struct{}),
	}
	if p.Logger != nil {
		r.log = p.Logger.With("child", r.name)
	} else {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r.run()
}

// run is the state of one Run: one OS process.
type run struct {
	p       *Process
	ctx     context.Context // Run's context: Ready and Heartbeat go to it
	name    string
	stopSig syscall.Signal
	log     *slog.Logger // with child

	cmd     *exec.Cmd
	started chan struct{} // closed once Start returned; pid and plog are set then
	pid     int
	plog    *slog.Logger // log with pid

	mu         sync.Mutex
	leaderGone bool // the leader exited: the group must not be signalled again

	readyOnce sync.Once
	readyCh   chan struct{} // closed when the process is ready

	outputs []*lineWriter
}

// markReady records readiness once and tells the tree.
func (r *run) markReady(how string) {
	r.readyOnce.Do(func() {
		close(r.readyCh)
		r.plog.Debug("process ready", "by", how)
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

// signalGroup sends sig to the process group, unless the leader is gone.
func (r *run) signalGroup(pid int, sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.leaderGone {
		return os.ErrProcessDone
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
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.leaderGone {
		r.leaderGone = true
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

func (r *run) run() error {
	p := r.p
	readiness := p.Ready
	if readiness == nil {
		readiness = ReadyOnStart()
	}

	// The notify socket must exist before the process does.
	var nt *notifier
	if _, ok := readiness.(readyNotify); ok || p.Watchdog > 0 {
		var err error
		if nt, err = newNotifier(r); err != nil {
			return fmt.Errorf("proc: %s: notify socket: %w", r.name, err)
		}
		defer nt.close()
	}

	// exec's context is not Run's: it is cancelled only when the grace
	// period is over, and then Cmd.Cancel sends SIGKILL to the group.
	execCtx, cancelExec := context.WithCancel(context.Background())
	defer cancelExec()
	path := p.Path
	args := p.Args
	if len(args) == 0 {
		args = []string{path}
	}
	cmd := exec.CommandContext(execCtx, path, args[1:]...)
	cmd.Args = append([]string(nil), args...)
	cmd.Dir = p.Dir
	cmd.Env = r.env(nt)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return r.signalGroup(cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = drainDelay
	var match *readyOutput
	if ro, ok := readiness.(readyOutput); ok {
		match = &ro
	}
	cmd.Stdout = r.output(p.Stdout, "stdout", match)
	cmd.Stderr = r.output(p.Stderr, "stderr", match)
	r.cmd = cmd

	// The starter goroutine starts the process from a locked OS thread and
	// stays there until the process is reaped: Pdeathsig is tied to the
	// thread that forked.
	startErr := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		if err == nil {
			r.pid = cmd.Process.Pid
			r.plog = r.log.With("pid", r.pid)
		}
		close(r.started)
		startErr <- err
		if err != nil {
			return
		}
		pid := cmd.Process.Pid
		if waitExitNoReap(pid) {
			r.leaderExited(pid)
		}
		err = cmd.Wait()
		r.leaderExited(pid) // where waitExitNoReap is unavailable: best effort
		done <- err
	}()
	if err := <-startErr; err != nil {
		return fmt.Errorf("proc: %s: cannot start %q: %w", r.name, path, err)
	}
	pid := r.pid
	supervisor.ReportPID(r.ctx, pid)
	log := r.plog
	log.Debug("process started", "path", path)
	if nt != nil {
		nt.start()
	}

	// Readiness watchers run until the process has exited.
	watchCtx, stopWatch := context.WithCancel(r.ctx)
	var watchers sync.WaitGroup
	switch rd := readiness.(type) {
	case readyStart:
		r.markReady("start")
	case readyTCP:
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			r.pollTCP(watchCtx, rd.addr)
		}()
	}

	var (
		ctxDone    = r.ctx.Done()
		readyCh    <-chan struct{}
		startTimer <-chan time.Time
		grace      *time.Timer
		stopped    bool // Run's context was done
		timedOut   bool // not ready within StartTimeout
	)
	if p.StartTimeout > 0 {
		t := time.NewTimer(p.StartTimeout)
		defer t.Stop()
		startTimer = t.C
		readyCh = r.readyCh
	}
	stop := func(why string) {
		ctxDone, startTimer, readyCh = nil, nil, nil
		g := p.grace()
		log.Debug("stopping process", "reason", why, "signal", r.stopSig.String(), "grace", g)
		if err := r.signalGroup(pid, r.stopSig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			log.Warn("cannot signal process group", "signal", r.stopSig.String(), "err", err)
		}
		grace = time.AfterFunc(g, func() {
			log.Warn("process group still running after grace period, sending SIGKILL", "grace", g)
			cancelExec()
		})
	}
	var err error
wait:
	for {
		select {
		case <-ctxDone:
			stopped = true
			stop("context done")
		case <-readyCh:
			readyCh, startTimer = nil, nil
		case <-startTimer:
			if !r.isReady() {
				timedOut = true
				stop("not ready within StartTimeout")
			}
			readyCh, startTimer = nil, nil
		case err = <-done:
			break wait
		}
	}
	if grace != nil {
		grace.Stop()
	}
	stopWatch()
	watchers.Wait()
	if nt != nil {
		nt.close()
	}
	for _, w := range r.outputs {
		w.flush()
	}

	state := "exit status 0"
	if cmd.ProcessState != nil {
		state = cmd.ProcessState.String()
	}
	log.Debug("process exited", "state", state)
	switch {
	case stopped:
		return r.ctx.Err()
	case timedOut:
		return fmt.Errorf("proc: %s (pid %d): not ready within %v", r.name, pid, p.StartTimeout)
	case err == nil:
		return nil
	case errors.Is(err, exec.ErrWaitDelay):
		log.Warn("output still held open after exit by a process outside the group", "wait", drainDelay)
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("proc: %s (pid %d): %w", r.name, pid, err)
	}
	return fmt.Errorf("proc: %s (pid %d): wait: %w", r.name, pid, err)
}

// env builds the child's environment.
func (r *run) env(nt *notifier) []string {
	base := r.p.Env
	inherit := base == nil
	if inherit {
		base = os.Environ()
	}
	if !inherit && nt == nil {
		return base
	}
	env := make([]string, 0, len(base)+2)
	for _, kv := range base {
		if strings.HasPrefix(kv, "NOTIFY_SOCKET=") || strings.HasPrefix(kv, "WATCHDOG_USEC=") ||
			strings.HasPrefix(kv, "WATCHDOG_PID=") {
			continue
		}
		env = append(env, kv)
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
