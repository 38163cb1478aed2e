// child.go: what a child is. Spec is the user's description of a child;
// child is the tree's record of it, whose phase is the one field that says
// where the child stands; ChildState, ChildInfo and Counts are how callers
// see children.

package supervisor

import (
	"context"
	"encoding/json"
	"time"
)

// Spec describes a child.
type Spec struct {
	// Name is unique in its tree; when empty, the tree generates one that
	// no name given by the user can take.
	Name string
	// Run is the child's body; required. It must return when ctx is
	// cancelled. A nil return is a normal exit; an error or a panic is a
	// failure, unless the tree itself cancelled ctx. Returning an error that
	// matches ErrDoNotRestart or ErrStopTree decides the outcome instead.
	// Once Run has returned, ctx is cancelled: goroutines the child started
	// with it stop too.
	Run func(ctx context.Context) error
	// Shutdown is how long the tree waits for Run to return after cancelling
	// ctx before it abandons the child: 0 means DefaultShutdown, Infinity
	// (or any duration too large to add to a clock reading) means no limit.
	Shutdown time.Duration
	// Restart says when the child is restarted (zero value: Permanent).
	// (It sits next to the other one-byte fields, which saves 8 bytes in
	// every child's record.)
	Restart Restart
	// Significant children trigger the tree's auto shutdown when they exit by
	// themselves and are not restarted. Not allowed on Permanent children or
	// in a tree whose AutoShutdown is Never.
	Significant bool
	// WaitReady makes the start of the child complete only when it calls
	// Ready(ctx); the next child starts, and Add returns, only then.
	WaitReady bool
	// Watchdog, when positive, requires the child to call Heartbeat(ctx) at
	// least this often, counted from its start (from Ready if WaitReady).
	Watchdog time.Duration

	sub *Tree // set by Tree.Spec: this child is a subtree
}

// ChildState is the state of a child as Children reports it.
type ChildState uint8

const (
	Stopped    ChildState = iota // spec kept, not running
	Starting                     // running, Ready not yet called (WaitReady)
	Running                      // running
	Restarting                   // waiting to be started again: backoff delay, group restart, or a failure deferred behind one
	Stopping                     // cancelled, waiting for Run to return
)

var stateNames = [...]string{"stopped", "starting", "running", "restarting", "stopping"}

// String returns the state's name in lower case.
func (s ChildState) String() string { return enumName(stateNames[:], "ChildState", int(s)) }

// ChildInfo describes one child, as Children and Child return it.
type ChildInfo struct {
	Name     string
	State    ChildState
	Restart  Restart
	Restarts int       // automatic restarts of this child so far in this Run
	Err      error     // error of its last exit; nil if none
	Since    time.Time // when State last changed; zero before the tree first ran
	Started  time.Time // when the child last started; zero if it has not in this Run
	PID      int       // the OS process the child reported with ReportPID; 0 if none
	Subtree  bool      // the child is a tree, added through Tree.Spec
}

// Counts is what Count returns. As OTP's count_children, it tells subtrees
// (children made with Tree.Spec) from workers: Supervisors counts the
// former, Workers returns the latter.
type Counts struct {
	Specs       int `json:"specs"`       // children the tree knows
	Active      int `json:"active"`      // children whose Run is executing (abandoned ones excluded)
	Supervisors int `json:"supervisors"` // children that are trees (made with Tree.Spec)
}

// Workers returns how many children are not trees.
func (c Counts) Workers() int { return c.Specs - c.Supervisors }

// MarshalJSON encodes the counts with "workers" alongside the fields.
func (c Counts) MarshalJSON() ([]byte, error) {
	type plain Counts
	return json.Marshal(struct {
		plain
		Workers int `json:"workers"`
	}{plain(c), c.Workers()})
}

// phase is where a child stands. It is the one field that says so, written
// only by loop.enter, which does the bookkeeping of leaving and entering
// each phase. The live phases are those with an incarnation (c.inc != nil).
type phase uint8

const (
	phStopped  phase = iota // not running; its spec is kept
	phStarting              // live; its start is not complete (no Ready yet, or its goroutine not yet entered Run)
	phRunning               // live and started
	phStopping              // live; the tree cancelled it on purpose, so its exit is a shutdown
	phFailing               // live; its watchdog cancelled it, so its exit is a failure
	phBackoff               // waits for its backoff delay before an automatic restart
	phGrouped               // waits for the group restart in progress to start it
	phDeferred              // its failure waits for the group restart in progress to end
	phGone                  // removed from the tree
)

// live reports whether a child in phase p has an incarnation.
func (p phase) live() bool { return p >= phStarting && p <= phFailing }

// state maps a phase to what callers see.
func (p phase) state(waitReady bool) ChildState {
	switch p {
	case phStarting:
		if waitReady {
			return Starting
		}
		return Running
	case phRunning:
		return Running
	case phStopping, phFailing:
		return Stopping
	case phBackoff, phGrouped, phDeferred:
		return Restarting
	}
	return Stopped
}

// afterStop says what becomes of a child once the tree has stopped it.
type afterStop uint8

const (
	afterKeep    afterStop = iota // it stays, Stopped
	afterRemove                   // it is removed (Delete; Terminate of a Temporary or SimpleOneForOne child)
	afterRestart                  // it starts again (Restart)
	afterGroup                    // the group restart in progress starts it again
)

// child is the tree's record of a child. Owned by the loop while the tree
// runs, and by Tree.mu otherwise. It holds the fields of its Spec that every
// child uses; Watchdog and the subtree, which few children have, are in x.
// (At 96 bytes, the record is 16 bytes smaller than it would be holding a
// whole Spec: Go rounds 104 bytes up to 112.)
type child struct {
	name        string
	run         func(ctx context.Context) error
	grace       time.Duration // Spec.Shutdown, as given (see shutdown)
	restart     Restart
	significant bool
	waitReady   bool
	phase       phase         // written only by loop.enter
	after       afterStop     // what its stop leads to
	gen         uint32        // bumped by Terminate and Delete: plans see who was stopped by a call
	since       time.Duration // loop clock when the state callers see last changed
	started     time.Duration // loop clock at the last start; -1: none in this Run
	prev, next  *child
	inc         *incarnation // the live incarnation; nil unless phase.live()
	x           *childExtra  // made with the record for a watchdog or a subtree; else by the first exit the child outlives, or a backoff
}

// newChild makes the record of a child that has not run in this Run.
func newChild(s Spec) *child {
	c := &child{name: s.Name, run: s.Run, grace: s.Shutdown, restart: s.Restart, significant: s.Significant,
		waitReady: s.WaitReady, started: -1}
	if s.Watchdog > 0 || s.sub != nil {
		x := c.ext()
		x.every, x.sub = s.Watchdog, s.sub
	}
	return c
}

// specOf returns the Spec c was made from (with its name, if generated).
func (c *child) specOf() Spec {
	return Spec{Name: c.name, Run: c.run, Shutdown: c.grace, Restart: c.restart, Significant: c.significant,
		WaitReady: c.waitReady, Watchdog: c.watchdog(), sub: c.sub()}
}

// shutdown returns the effective shutdown limit.
func (c *child) shutdown() time.Duration {
	if c.grace == 0 {
		return DefaultShutdown
	}
	return c.grace
}

// watchdog is Spec.Watchdog: how often the child must call Heartbeat; 0:
// never.
func (c *child) watchdog() time.Duration {
	if c.x == nil {
		return 0
	}
	return c.x.every
}

// sub is the tree this child runs, if it was made with Tree.Spec.
func (c *child) sub() *Tree {
	if c.x == nil {
		return nil
	}
	return c.x.sub
}

// childExtra is the part of a child's record that few children need: a
// child without a watchdog, which is not a subtree and is removed when it
// exits (SimpleOneForOne, Temporary), never has one unless it has a backoff.
type childExtra struct {
	restart   timer         // the backoff delay before an automatic restart
	watchdog  timer         // the next heartbeat check
	every     time.Duration // Spec.Watchdog
	sub       *Tree         // the subtree it runs (Tree.Spec)
	startedAt time.Duration // start of the live incarnation (with backoff only)
	streak    int           // consecutive automatic restarts (with backoff only)
	restarts  int           // automatic restarts in this Run
	exited    time.Duration // loop clock at the last end of its Run; -1: none in this Run
	err       error         // the error of its last exit
	grp       *plan         // the group restart in progress it is a member of, if any
	at        int           // its place in grp.starts
}

func (c *child) ext() *childExtra {
	if c.x == nil {
		c.x = &childExtra{
			restart:  timer{Value: timerTarget{kind: tRestart, c: c}},
			watchdog: timer{Value: timerTarget{kind: tWatchdog, c: c}},
			exited:   -1,
		}
	}
	return c.x
}

// restarts is how many times the tree restarted c by itself in this Run.
func (c *child) restarts() int {
	if c.x == nil {
		return 0
	}
	return c.x.restarts
}

// lastErr is the error of c's last exit; nil if none.
func (c *child) lastErr() error {
	if c.x == nil {
		return nil
	}
	return c.x.err
}

// exited is the loop clock at the last end of c's Run; -1: none in this Run.
func (c *child) exited() time.Duration {
	if c.x == nil {
		return -1
	}
	return c.x.exited
}

// state is what callers see of c.
func (c *child) state() ChildState { return c.phase.state(c.waitReady) }

// info describes c; t0 is the origin of the loop clock of the tree's last
// (or current) Run, zero if it never ran.
func (c *child) info(t0 time.Time) ChildInfo {
	ci := ChildInfo{Name: c.name, State: c.state(), Restart: c.restart, Restarts: c.restarts(), Err: c.lastErr(),
		Subtree: c.sub() != nil}
	if !t0.IsZero() {
		ci.Since = t0.Add(c.since)
		if c.started >= 0 {
			ci.Started = t0.Add(c.started)
		}
	}
	if c.inc != nil {
		ci.PID = c.inc.pidOf()
	}
	return ci
}

// String names the phase, for invariant reports.
func (p phase) String() string {
	names := [...]string{"stopped", "starting", "running", "stopping", "failing", "backoff", "grouped", "deferred", "gone"}
	return enumName(names[:], "phase", int(p))
}
