//go:build unix

// This file holds the Process type: what to run, how to stop it, and the
// checks made before anything starts.

package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
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

// ErrInvalidProcess is matched (errors.Is) by the error Run and Validate
// return for a Process whose settings are wrong; nothing is started then.
var ErrInvalidProcess = errors.New("proc: invalid process")

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
	// supervisor's environment. NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID
	// and the LISTEN_* variables are never inherited: they belong to the
	// supervisor's own service manager. Run sets them when the notify
	// protocol or Sockets are in use.
	Env []string
	// Stdout and Stderr receive the process's output; nil logs each line
	// to Logger (see the package documentation).
	Stdout io.Writer
	Stderr io.Writer
	// StopSignal is sent to the whole process group when Run's context is
	// done; nil means SIGTERM. It must be a syscall.Signal. SIGKILL kills
	// the group at once.
	StopSignal os.Signal
	// Grace is how long the process group has to exit after StopSignal
	// before Run sends SIGKILL to the group. Zero means DefaultGrace;
	// supervisor.Infinity means no limit: Run waits as long as the group
	// takes and never sends SIGKILL. Other negative values are invalid.
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
	// Sockets are listening sockets passed to the process by systemd socket
	// activation: as file descriptors 3, 4, ... in this order, announced by
	// LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES. They belong to whoever
	// created them (see Listen), not to the process: they stay open, with
	// their backlog, across the process's exits and restarts. The process
	// is started through /bin/sh, which sets LISTEN_PID to its own pid and
	// execs the program (see the package documentation); the program's
	// argv[0] is then its path.
	Sockets []*Socket
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
// abandons a process it is still stopping (supervisor.Infinity when Grace is
// Infinity or so large that the sum would not fit in a time.Duration);
// WaitReady is set unless p is ready at start; Watchdog is p.Watchdog. The
// Spec runs a copy of p taken now (with Name set to name if it was empty):
// later changes to p do not affect it. Restart is left Permanent; change the
// returned Spec as needed. An invalid p makes the Spec's Run fail at once
// (see Validate).
func (p *Process) Spec(name string) supervisor.Spec {
	q := *p
	if q.Name == "" {
		q.Name = name
	}
	return supervisor.Spec{
		Name:      name,
		Run:       q.Run,
		Shutdown:  q.shutdown(),
		WaitReady: !isReadyOnStart(q.Ready),
		Watchdog:  max(q.Watchdog, 0),
	}
}

// shutdown is the Shutdown limit Spec gives the tree.
func (p *Process) shutdown() time.Duration {
	g, ok := p.grace()
	if !ok || g > math.MaxInt64-ReapMargin {
		return supervisor.Infinity
	}
	return g + ReapMargin
}

// grace returns the grace period, and false when it has no limit.
func (p *Process) grace() (time.Duration, bool) {
	switch {
	case p.Grace == 0:
		return DefaultGrace, true
	case p.Grace < 0:
		return 0, false
	}
	return p.Grace, true
}

func (p *Process) name() string {
	if p.Name != "" {
		return p.Name
	}
	return filepath.Base(p.Path)
}

// Validate reports whether p can be run: a non-empty Path, a StopSignal
// that is a syscall.Signal, a Grace that is positive, zero or
// supervisor.Infinity, non-negative StartTimeout and Watchdog, a readiness
// condition that is complete (ReadyOnOutput with a regular expression,
// ReadyOnTCP with a host:port address) and open Sockets. Run calls it before
// it starts anything; the error matches ErrInvalidProcess.
func (p *Process) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidProcess, p.name(), fmt.Sprintf(format, args...))
	}
	if p.Path == "" {
		return fmt.Errorf("%w: Path is empty", ErrInvalidProcess)
	}
	if _, ok := p.StopSignal.(syscall.Signal); p.StopSignal != nil && !ok {
		return bad("StopSignal %v is not a syscall.Signal", p.StopSignal)
	}
	switch {
	case p.Grace < 0 && p.Grace != supervisor.Infinity:
		return bad("Grace %v is negative and not supervisor.Infinity (use StopSignal SIGKILL to kill at once)", p.Grace)
	case p.StartTimeout < 0:
		return bad("StartTimeout %v is negative", p.StartTimeout)
	case p.Watchdog < 0:
		return bad("Watchdog %v is negative", p.Watchdog)
	}
	switch r := p.Ready.(type) {
	case readyOutput:
		if r.re == nil {
			return bad("ReadyOnOutput has a nil regular expression")
		}
	case readyTCP:
		if _, _, err := net.SplitHostPort(r.addr); err != nil {
			return bad("ReadyOnTCP address %q: %v", r.addr, err)
		}
	}
	for i, s := range p.Sockets {
		if s == nil {
			return bad("Sockets[%d] is nil", i)
		}
	}
	return nil
}

// Run starts the process and waits for it; see the package documentation
// for how it stops the process, and what it returns. Each call starts a new
// process. When ctx is already done, Run returns ctx.Err() without starting
// anything; when p is invalid (see Validate), Run returns that error.
func (p *Process) Run(ctx context.Context) error {
	return p.run(ctx, nil)
}

// run is Run with hooks for a pool (nil for plain Run).
func (p *Process) run(ctx context.Context, h *hooks) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	r := newRun(ctx, p, h)
	return r.run()
}
