// Package model is a reference model of a supervision tree's semantics, as
// SPEC.md section 2 and the package documentation of supervisor define them.
// It is a plain sequential simulation, used by the fuzz test to predict what
// the real tree does.
//
// The model is exact only under the fuzz driver's rules: every operation runs
// to completion (the tree is quiescent) before the next begins; children
// return at once when cancelled, except children with Hang set, which ignore
// cancellation and are abandoned after their Shutdown (always finite); no
// WaitReady, watchdogs, backoff or auto shutdown. Under these rules the only
// passage of time during an operation is the Shutdown wait of hung children,
// which the model adds to its clock.
package model

import (
	"fmt"
	"slices"
	"time"
)

// AutoShutdown mirrors supervisor.AutoShutdown.
type AutoShutdown uint8

const (
	Never AutoShutdown = iota
	AnySignificant
	AllSignificant
)

// Strategy mirrors supervisor.Strategy.
type Strategy uint8

const (
	OneForOne Strategy = iota
	OneForAll
	RestForOne
	SimpleOneForOne
)

// Restart mirrors supervisor.Restart.
type Restart uint8

const (
	Permanent Restart = iota
	Transient
	Temporary
)

// ErrKind classifies a child's last exit error (supervisor.ChildInfo.Err).
type ErrKind uint8

const (
	ErrNone     ErrKind = iota // nil
	ErrBoom                    // the child returned an error of its own
	ErrPanic                   // the child panicked
	ErrCanceled                // context.Canceled: stopped by the tree, or returned it while alive
	ErrTimeout                 // abandoned after its Shutdown
)

var errKindNames = [...]string{"nil", "boom", "panic", "canceled", "timeout"}

func (k ErrKind) String() string {
	if int(k) < len(errKindNames) {
		return errKindNames[k]
	}
	return fmt.Sprintf("ErrKind(%d)", k)
}

// Exit is how a child ends by itself.
type Exit uint8

const (
	ExitNormal   Exit = iota // returns nil
	ExitError                // returns an error
	ExitPanic                // panics
	ExitCanceled             // returns context.Canceled while its context is alive
)

func (e Exit) kind() ErrKind {
	return [...]ErrKind{ErrNone, ErrBoom, ErrPanic, ErrCanceled}[e]
}

// Result classifies an API call's error.
type Result uint8

const (
	OK         Result = iota
	Unknown           // ErrUnknownChild
	NotRunning        // ErrNotRunning
	Duplicate         // ErrDuplicateChild
	Timeout           // ErrShutdownTimeout
)

var resultNames = [...]string{"ok", "unknown", "not-running", "duplicate", "timeout"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return fmt.Sprintf("Result(%d)", r)
}

// Spec is a child's description.
type Spec struct {
	Name     string
	Restart  Restart
	Shutdown time.Duration // > 0
	Hang     bool          // ignores cancellation: abandoned after Shutdown
	// Significant children stop the tree (AutoShutdown) when they exit by
	// themselves and are not restarted.
	Significant bool
}

// Child is the model's record of a child.
type Child struct {
	Spec
	Running  bool
	Restarts int
	Err      ErrKind
}

// Entry is one record of the tree's activity: "start x", "stop x" (returned
// after the tree cancelled it), "exit x" (returned by itself), "abandon x".
// Entries with the same non-zero Batch happen concurrently, in any order.
type Entry struct {
	Text  string
	Batch int
}

// Model is a tree.
type Model struct {
	Strategy     Strategy
	AutoShutdown AutoShutdown
	MaxRestarts  int
	Period       time.Duration

	Now      time.Duration // the clock, advanced by Advance and by Shutdown waits
	Children []*Child      // in start order
	Running  bool          // Run is executing
	Log      []Entry

	// Outcome of the current or last Run.
	Returned    bool     // Run has returned
	GaveUp      bool     // ErrTooManyRestarts
	GaveUpChild string   // the child whose failure made it give up
	GaveUpErr   ErrKind  // and its error
	Abandoned   []string // children abandoned during this Run, in order

	// Stale counts abandoned incarnations that are still blocked.
	Stale int

	window  []time.Duration // restart times, at most MaxRestarts+1
	batches int
	initial []Spec // the specs given to New: each Run starts afresh from them
	stale   bool   // Children is what the last Run left; the next change or Run starts from initial
}

// New returns a tree that is not running, holding specs.
func New(s Strategy, maxRestarts int, period time.Duration, specs ...Spec) *Model {
	m := &Model{Strategy: s, MaxRestarts: maxRestarts, Period: period, initial: specs}
	for _, sp := range specs {
		m.Children = append(m.Children, &Child{Spec: sp})
	}
	return m
}

// fresh makes the children the specs given to New again if the last Run
// left them: runtime changes are not carried over to the next Run.
func (m *Model) fresh() {
	if !m.stale {
		return
	}
	m.stale = false
	m.Children = nil
	for _, sp := range m.initial {
		m.Children = append(m.Children, &Child{Spec: sp})
	}
}

func (m *Model) log(format string, args ...any) {
	m.Log = append(m.Log, Entry{Text: fmt.Sprintf(format, args...)})
}

// Get returns the child called name, or nil.
func (m *Model) Get(name string) *Child {
	for _, c := range m.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (m *Model) index(c *Child) int { return slices.Index(m.Children, c) }

func (m *Model) remove(c *Child) {
	if i := m.index(c); i >= 0 {
		m.Children = slices.Delete(m.Children, i, i+1)
	}
}

// Active is the number of children whose Run executes (abandoned excluded).
func (m *Model) Active() int {
	n := 0
	for _, c := range m.Children {
		if c.Running {
			n++
		}
	}
	return n
}

func (m *Model) start(c *Child, auto bool) {
	c.Running = true
	if auto {
		c.Restarts++
	}
	m.log("start %s", c.Name)
}

// stop cancels a running child and waits for it; it reports whether the
// child had to be abandoned.
func (m *Model) stop(c *Child) bool {
	c.Running = false
	if c.Hang {
		m.Now += c.Shutdown
		m.abandon(c, 0)
		return true
	}
	c.Err = ErrCanceled
	m.log("stop %s", c.Name)
	return false
}

func (m *Model) abandon(c *Child, batch int) {
	c.Err = ErrTimeout
	m.Abandoned = append(m.Abandoned, c.Name)
	m.Stale++
	m.Log = append(m.Log, Entry{Text: "abandon " + c.Name, Batch: batch})
}

// settle leaves a child that does not run as Stopped, or removes it.
func (m *Model) settle(c *Child) {
	if c.Restart == Temporary || m.Strategy == SimpleOneForOne {
		m.remove(c)
	}
}

// record notes an automatic restart now and reports whether the tree may go
// on: false when more than MaxRestarts restarts fall in (Now-Period, Now].
func (m *Model) record() bool {
	m.window = append(m.window, m.Now)
	if len(m.window) > m.MaxRestarts+1 {
		m.window = m.window[1:]
	}
	n := 0
	for _, t := range m.window {
		if t > m.Now-m.Period {
			n++
		}
	}
	return n <= m.MaxRestarts
}

// Run starts the tree: a fresh restart history, every spec started in order.
func (m *Model) Run() {
	if m.Running {
		panic("model: Run while running")
	}
	m.fresh()
	m.Running, m.Returned, m.GaveUp, m.GaveUpChild, m.GaveUpErr, m.Abandoned = true, false, false, "", ErrNone, nil
	m.window = nil
	for _, c := range m.Children {
		c.Restarts, c.Err = 0, ErrNone
	}
	for _, c := range m.Children {
		m.start(c, false)
	}
}

// Cancel cancels Run's context.
func (m *Model) Cancel() {
	if m.Running {
		m.shutdown()
	}
}

// shutdown stops every child in reverse start order (SimpleOneForOne: all at
// once) and ends Run.
func (m *Model) shutdown() {
	if m.Strategy == SimpleOneForOne {
		m.batches++
		b := m.batches
		var wait time.Duration
		for i := len(m.Children) - 1; i >= 0; i-- {
			c := m.Children[i]
			if !c.Running {
				continue
			}
			c.Running = false
			if c.Hang {
				wait = max(wait, c.Shutdown)
				m.abandon(c, b)
			} else {
				c.Err = ErrCanceled
				m.Log = append(m.Log, Entry{Text: "stop " + c.Name, Batch: b})
			}
		}
		m.Now += wait
	} else {
		for i := len(m.Children) - 1; i >= 0; i-- {
			if c := m.Children[i]; c.Running {
				m.stop(c)
			}
		}
	}
	for _, c := range slices.Clone(m.Children) {
		m.settle(c)
	}
	m.Running, m.Returned, m.stale = false, true, true
}

// Advance lets time pass.
func (m *Model) Advance(d time.Duration) { m.Now += d }

// Release lets abandoned incarnations return: their late exits change nothing.
func (m *Model) Release() { m.Stale = 0 }

// Exit makes the running child name end by itself.
func (m *Model) Exit(name string, how Exit) {
	c := m.Get(name)
	if c == nil || !c.Running || !m.Running {
		panic("model: Exit of a child that does not run: " + name)
	}
	c.Running = false
	c.Err = how.kind()
	m.log("exit %s", c.Name)
	if !(c.Restart == Permanent || c.Restart == Transient && how != ExitNormal) {
		m.settle(c)
		m.autoShutdown(c)
		return
	}
	switch m.Strategy {
	case OneForOne, SimpleOneForOne:
		if !m.record() {
			m.giveUp(c)
			return
		}
		m.start(c, true)
	default:
		members := m.Children
		if m.Strategy == RestForOne {
			members = members[m.index(c):]
		}
		members = slices.Clone(members)
		for i := len(members) - 1; i >= 0; i-- {
			mb := members[i]
			if mb != c && mb.Running {
				m.stop(mb)
			}
			if mb.Restart == Temporary && mb != c {
				m.remove(mb) // a Temporary bystander is not restarted
			}
		}
		if !m.record() {
			m.giveUp(c)
			return
		}
		for _, mb := range members {
			if m.index(mb) >= 0 {
				m.start(mb, true)
			}
		}
	}
}

// autoShutdown stops the tree when the exit of c, which is not restarted,
// calls for it.
func (m *Model) autoShutdown(c *Child) {
	if !c.Significant {
		return
	}
	switch m.AutoShutdown {
	case AnySignificant:
		m.shutdown()
	case AllSignificant:
		for _, o := range m.Children {
			if o.Significant && o.Running {
				return
			}
		}
		m.shutdown()
	}
}

func (m *Model) giveUp(c *Child) {
	m.GaveUp, m.GaveUpChild, m.GaveUpErr = true, c.Name, c.Err
	m.shutdown()
}

// Add adds a child: started at once when the tree runs, queued otherwise.
func (m *Model) Add(s Spec) Result {
	if !m.Running && m.Strategy == SimpleOneForOne {
		return NotRunning
	}
	if !m.Running {
		m.fresh()
	}
	if m.Get(s.Name) != nil {
		return Duplicate
	}
	c := &Child{Spec: s}
	m.Children = append(m.Children, c)
	if m.Running {
		m.start(c, false)
	}
	return OK
}

// Terminate stops a child, keeping its spec unless it is Temporary or the
// tree is SimpleOneForOne.
func (m *Model) Terminate(name string) Result {
	if !m.Running {
		return NotRunning
	}
	c := m.Get(name)
	if c == nil {
		return Unknown
	}
	res := m.halt(c)
	m.settle(c)
	return res
}

// Delete stops a child if needed and removes its spec.
func (m *Model) Delete(name string) Result {
	if !m.Running {
		m.fresh()
	}
	c := m.Get(name)
	if c == nil {
		return Unknown
	}
	res := m.halt(c)
	m.remove(c)
	return res
}

// halt stops c if it runs: Timeout when it had to be abandoned.
func (m *Model) halt(c *Child) Result {
	if c.Running && m.stop(c) {
		return Timeout
	}
	return OK
}

// Restart stops a child if it runs and starts it again; it never counts.
func (m *Model) Restart(name string) Result {
	if !m.Running {
		return NotRunning
	}
	c := m.Get(name)
	if c == nil {
		return Unknown
	}
	m.halt(c)
	m.start(c, false)
	return OK
}
