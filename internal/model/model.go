// Package model is a reference model of a supervision tree's semantics, as
// SPEC.md section 2 and the package documentation of supervisor define them.
// It is a plain sequential simulation, used by the fuzz test to predict what
// the real tree does.
//
// The model is exact only under the fuzz driver's rules: every operation runs
// to completion (the tree is quiescent) before the next begins; children
// return at once when cancelled, except children with Hang set, which ignore
// cancellation and are abandoned after their Shutdown (always finite); a
// WaitReady child calls Ready at once, or returns at once before it (its
// first FailStarts incarnations). Timed features (backoff delays, missed
// heartbeats) are used only in trees without hung children, so that an
// operation either takes no time or takes time with no deadline falling
// inside it; Advance then lets the deadlines fall in order. Two deadlines
// at the same instant make the order the tree takes them in unknown: the
// model then sets Ambiguous and stops predicting.
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
	ErrDecline                 // ErrDoNotRestart
	ErrStopTree                // ErrStopTree
	ErrWatchdog                // ErrWatchdogTimeout: missed its heartbeat
	ErrStart                   // ErrStartFailed: returned before Ready
)

var errKindNames = [...]string{"nil", "boom", "panic", "canceled", "timeout", "decline", "stop-tree", "watchdog", "start-failed"}

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
	ExitDecline              // returns an error wrapping ErrDoNotRestart
	ExitStopTree             // returns an error wrapping ErrStopTree
)

var exitNames = [...]string{"normal", "error", "panic", "canceled", "decline", "stop-tree"}

func (e Exit) String() string { return exitNames[e] }

func (e Exit) kind() ErrKind {
	return [...]ErrKind{ErrNone, ErrBoom, ErrPanic, ErrCanceled, ErrDecline, ErrStopTree}[e]
}

// Result classifies an API call's error.
type Result uint8

const (
	OK          Result = iota
	Unknown            // ErrUnknownChild
	NotRunning         // ErrNotRunning
	Duplicate          // ErrDuplicateChild
	Timeout            // ErrShutdownTimeout
	StartFailed        // ErrStartFailed
)

var resultNames = [...]string{"ok", "unknown", "not-running", "duplicate", "timeout", "start-failed"}

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
	WaitReady   bool
	// FailStarts, shared by every copy of the spec, counts the incarnations
	// left that return at once, before Ready, as FailHow says (WaitReady
	// only).
	FailStarts *int
	FailHow    Exit
	// Watchdog > 0: a child that does not Beat fails Watchdog after it starts.
	Watchdog time.Duration
	Beat     bool
}

// Wait is why a child that does not run shows as Restarting.
type Wait uint8

const (
	NoWait   Wait = iota
	Backoff       // its backoff delay runs until At
	Grouped       // the group restart in progress will start it
	Deferred      // its failure waits for the group restart in progress to end
)

// Child is the model's record of a child.
type Child struct {
	Spec
	Running  bool
	Restarts int
	Err      ErrKind
	Wait     Wait
	At       time.Duration // end of the backoff delay
	WdAt     time.Duration // when its missed heartbeat is noticed; 0: never
	Gen      int           // bumped by Terminate and Delete
	started  time.Duration
	streak   int
}

// Restarting reports whether the tree shows c as Restarting.
func (c *Child) Restarting() bool { return c.Wait != NoWait }

// plan is a group restart waiting out its backoff delay or starting.
type plan struct {
	cause   *Child
	err     ErrKind
	members []*Child
	gens    []int
	at      time.Duration // end of the delay; 0 once over
	delayed bool          // it had a delay: recorded when it happens
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

	// Backoff: the n-th consecutive restart of a child waits
	// BackoffInitial·2^(n-1), capped at BackoffMax (the tree's jitter is
	// fixed at its middle). Zero: no backoff.
	BackoffInitial, BackoffMax time.Duration
	Unlimited                  bool // never give up

	// Outcome of the current or last Run.
	Returned    bool     // Run has returned
	GaveUp      bool     // ErrTooManyRestarts
	GaveUpChild string   // the child whose failure made it give up
	GaveUpErr   ErrKind  // and its error
	Abandoned   []string // children abandoned during this Run, in order
	StartFailed string   // the child whose failed start failed Run (ErrStartFailed)
	StopTree    string   // the child that stopped the tree (ErrStopTree)
	StopErr     ErrKind  // its error, if StartFailed or StopTree

	// Ambiguous: two deadlines fell at the same instant; the model no
	// longer knows the order the tree took them in.
	Ambiguous bool

	// Stale counts abandoned incarnations that are still blocked.
	Stale int

	window   []time.Duration // restart times, at most MaxRestarts+1
	batches  int
	plan     *plan
	deferred []*Child
	initial  []Spec // the specs given to New: each Run starts afresh from them
	stale    bool   // Children is what the last Run left; the next change or Run starts from initial
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

// startKind is who starts a child: it decides the fate of a failed start.
type startKind uint8

const (
	byInitial startKind = iota
	byAdd
	byManual
	byAuto
)

func (m *Model) start(c *Child, auto bool) {
	c.Running, c.Wait = true, NoWait
	if auto {
		c.Restarts++
	}
	c.started, c.WdAt = m.Now, 0
	if c.Watchdog > 0 && !c.Beat {
		c.WdAt = m.Now + c.Watchdog
	}
	m.log("start %s", c.Name)
}

// launch starts c; a WaitReady child with failed starts left returns at
// once. It reports the outcome of a failed start for the caller (OK if the
// child started, or declined to run).
func (m *Model) launch(c *Child, by startKind) Result {
	m.start(c, by == byAuto)
	if !c.WaitReady || c.FailStarts == nil || *c.FailStarts == 0 {
		return OK
	}
	*c.FailStarts--
	how := c.FailHow
	c.Running, c.WdAt = false, 0
	m.log("exit %s", c.Name)
	m.resetStreak(c)
	out := decide(c.Restart, how.kind())
	if out == outStay && how == ExitDecline {
		c.Err = how.kind()
		m.settle(c) // OTP's ignore: not an exit, so no auto shutdown either
		return OK
	}
	if by == byAuto {
		m.failed(c, ErrStart, failedStart(c.Restart, out))
		return OK
	}
	c.Err = ErrStart
	switch {
	case by == byAdd:
		m.remove(c)
	case by == byManual:
		m.settle(c)
	case by == byInitial && out != outStopTree:
		m.end(func() { m.StartFailed, m.StopErr = c.Name, ErrStart })
		m.shutdown()
	}
	if out == outStopTree {
		m.stopTree(c, ErrStart)
	}
	return StartFailed
}

// end records why Run will end, if nothing did before.
func (m *Model) end(f func()) {
	if !m.GaveUp && m.StartFailed == "" && m.StopTree == "" && m.Running {
		f()
	}
}

type outcome uint8

const (
	outRestart outcome = iota
	outStay
	outStopTree
)

func decide(r Restart, k ErrKind) outcome {
	switch {
	case k == ErrStopTree:
		return outStopTree
	case k == ErrDecline:
		return outStay
	case r == Permanent, r == Transient && k != ErrNone:
		return outRestart
	}
	return outStay
}

// failedStart is what a failed start during an automatic restart leads to,
// given what the child's error alone led to: a failed start is abnormal,
// whatever Run returned, unless the child stopped the tree.
func failedStart(r Restart, out outcome) outcome {
	if out == outStopTree {
		return out
	}
	return decide(r, ErrStart)
}

// resetStreak starts c's backoff streak afresh if it ran for BackoffMax.
func (m *Model) resetStreak(c *Child) {
	if m.BackoffInitial > 0 && m.Now-c.started >= m.BackoffMax {
		c.streak = 0
	}
}

// stop cancels a running child and waits for it; it reports whether the
// child had to be abandoned.
func (m *Model) stop(c *Child) bool {
	c.Running, c.WdAt = false, 0
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
	c.Wait = NoWait
	if c.Restart == Temporary || m.Strategy == SimpleOneForOne {
		m.remove(c)
	}
}

// record notes an automatic restart now and reports whether the tree may go
// on: false when more than MaxRestarts restarts fall in [Now-Period, Now]
// (closed, as OTP's window).
func (m *Model) record() bool {
	if m.Unlimited {
		return true
	}
	m.window = append(m.window, m.Now)
	if len(m.window) > m.MaxRestarts+1 {
		m.window = m.window[1:]
	}
	n := 0
	for _, t := range m.window {
		if t >= m.Now-m.Period {
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
	m.StartFailed, m.StopTree, m.StopErr = "", "", ErrNone
	m.window, m.plan, m.deferred = nil, nil, nil
	for _, c := range m.Children {
		c.Restarts, c.Err, c.streak, c.Wait, c.WdAt = 0, ErrNone, 0, NoWait, 0
	}
	for _, c := range slices.Clone(m.Children) {
		if !m.Running {
			break
		}
		if m.index(c) >= 0 && !c.Running {
			m.launch(c, byInitial)
		}
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
	m.plan, m.deferred = nil, nil
	if m.Strategy == SimpleOneForOne {
		m.batches++
		b := m.batches
		var wait time.Duration
		for i := len(m.Children) - 1; i >= 0; i-- {
			c := m.Children[i]
			if !c.Running {
				continue
			}
			c.Running, c.WdAt = false, 0
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

// Release lets abandoned incarnations return: their late exits change nothing.
func (m *Model) Release() { m.Stale = 0 }

// Exit makes the running child name end by itself.
func (m *Model) Exit(name string, how Exit) {
	c := m.Get(name)
	if c == nil || !c.Running || !m.Running {
		panic("model: Exit of a child that does not run: " + name)
	}
	c.Running, c.WdAt = false, 0
	m.log("exit %s", c.Name)
	m.resetStreak(c)
	m.failed(c, how.kind(), decide(c.Restart, how.kind()))
}

// failed handles the exit by itself of c, which no longer runs, with error
// k: restart it, leave it, or stop the tree.
func (m *Model) failed(c *Child, k ErrKind, out outcome) {
	c.Err = k
	switch out {
	case outStopTree:
		m.settle(c)
		m.stopTree(c, k)
	case outStay:
		m.settle(c)
		m.autoShutdown(c)
	default:
		m.restart(c, k, false)
	}
}

func (m *Model) stopTree(c *Child, k ErrKind) {
	m.end(func() { m.StopTree, m.StopErr = c.Name, k })
	if m.Running {
		m.shutdown()
	}
}

// restart acts on a failure of c that calls for a restart. Under a group
// strategy, a failure while a group restart is in progress waits for its
// end, unless it is a failed start of that restart (supersede), which
// replaces it.
func (m *Model) restart(c *Child, k ErrKind, supersede bool) {
	group := m.Strategy == OneForAll || m.Strategy == RestForOne
	if group && m.plan != nil {
		if !supersede {
			c.Wait = Deferred
			m.deferred = append(m.deferred, c)
			return
		}
		m.plan = nil
	}
	var delay time.Duration
	if m.BackoffInitial > 0 {
		c.streak++
		delay = m.delay(c.streak)
	}
	switch {
	case group:
		m.groupRestart(c, k, delay)
	case delay > 0:
		c.Wait, c.At = Backoff, m.Now+delay
	default:
		m.restartNow(c, k)
	}
}

// delay is the backoff before the streak-th consecutive restart.
func (m *Model) delay(streak int) time.Duration {
	d := m.BackoffInitial
	for i := 1; i < streak && d < m.BackoffMax; i++ {
		d *= 2
	}
	return min(d, m.BackoffMax)
}

// restartNow records an automatic restart of c and performs it, or gives up.
func (m *Model) restartNow(c *Child, k ErrKind) {
	c.Wait = NoWait
	if !m.record() {
		m.giveUp(c, k)
		return
	}
	m.launch(c, byAuto)
}

// groupRestart stops the other members of c's group in reverse start order,
// then, after delay, starts them all in start order. Without a delay the
// restart is recorded when it is decided, before the stops (as OTP records
// it); with one, when it happens (planStart).
func (m *Model) groupRestart(c *Child, k ErrKind, delay time.Duration) {
	if delay == 0 && !m.record() {
		c.Wait = NoWait
		m.giveUp(c, k)
		return
	}
	members := m.Children
	if m.Strategy == RestForOne {
		members = members[m.index(c):]
	}
	p := &plan{cause: c, err: k, members: slices.Clone(members)}
	for _, mb := range p.members {
		p.gens = append(p.gens, mb.Gen)
	}
	for i := len(p.members) - 1; i >= 0; i-- {
		mb := p.members[i]
		switch {
		case mb.Running:
			m.stop(mb)
			if mb.Restart == Temporary {
				m.remove(mb) // a Temporary bystander is not restarted
			} else {
				mb.Wait = Grouped
			}
		case m.index(mb) >= 0:
			mb.Wait = Grouped
		}
	}
	m.plan = p
	if delay > 0 {
		p.at, p.delayed = m.Now+delay, true
		return
	}
	m.planStart(p)
}

// planStart records the group restart and starts its members in order; a
// member terminated or deleted since the plan was made cuts it short.
func (m *Model) planStart(p *plan) {
	p.at = 0
	if p.delayed && !m.record() {
		m.plan = nil
		m.giveUp(p.cause, p.err)
		return
	}
	for j, mb := range p.members {
		if mb.Gen != p.gens[j] {
			for _, o := range p.members[j:] {
				if o.Wait == Grouped {
					o.Wait = NoWait
				}
			}
			break
		}
		if mb.Wait != Grouped || m.index(mb) < 0 {
			continue
		}
		mb.Wait = NoWait
		m.start(mb, true)
		if m.failStart(mb) {
			if m.plan != p {
				return // replaced by a new group restart, or the tree stopped
			}
		}
	}
	m.finish(p)
}

// failStart makes a member that the plan just started fail at once if it
// must (launch's byAuto path, where a restart supersedes the plan).
func (m *Model) failStart(c *Child) bool {
	if !c.WaitReady || c.FailStarts == nil || *c.FailStarts == 0 {
		return false
	}
	*c.FailStarts--
	how := c.FailHow
	c.Running, c.WdAt = false, 0
	m.log("exit %s", c.Name)
	m.resetStreak(c)
	out := decide(c.Restart, how.kind())
	k := ErrStart
	declined := out == outStay && how == ExitDecline
	if declined {
		k = how.kind()
	} else {
		out = failedStart(c.Restart, out)
	}
	c.Err = k
	switch out {
	case outStopTree:
		m.settle(c)
		m.stopTree(c, k)
	case outStay:
		m.settle(c)
		if !declined { // declining before Ready is OTP's ignore, not an exit
			m.autoShutdown(c)
		}
	default:
		m.restart(c, k, true)
	}
	return true
}

// finish ends the plan and handles the failures deferred behind it.
func (m *Model) finish(p *plan) {
	if m.plan == p {
		m.plan = nil
	}
	for len(m.deferred) > 0 && m.plan == nil && m.Running {
		c := m.deferred[0]
		m.deferred = m.deferred[1:]
		if c.Wait == Deferred && m.index(c) >= 0 {
			m.restart(c, c.Err, false)
		}
	}
}

// autoShutdown stops the tree when the exit of c, which is not restarted,
// calls for it.
func (m *Model) autoShutdown(c *Child) {
	if !c.Significant || !m.Running {
		return
	}
	switch m.AutoShutdown {
	case AnySignificant:
		m.shutdown()
	case AllSignificant:
		for _, o := range m.Children {
			if o.Significant && (o.Running || o.Restarting()) {
				return
			}
		}
		m.shutdown()
	}
}

func (m *Model) giveUp(c *Child, k ErrKind) {
	m.end(func() { m.GaveUp, m.GaveUpChild, m.GaveUpErr = true, c.Name, k })
	m.shutdown()
}

// Advance lets time pass, the deadlines falling due in order.
func (m *Model) Advance(d time.Duration) {
	end := m.Now + d
	for m.Running && !m.Ambiguous {
		at, run := m.next()
		if run == nil || at > end {
			break
		}
		m.Now = at
		run()
	}
	m.Now = end
}

// next returns the earliest deadline and what it does; two at the same
// instant make the model ambiguous.
func (m *Model) next() (time.Duration, func()) {
	var best time.Duration
	var run func()
	consider := func(at time.Duration, f func()) {
		switch {
		case run == nil || at < best:
			best, run = at, f
		case at == best:
			m.Ambiguous = true
		}
	}
	for _, c := range m.Children {
		switch {
		case c.Wait == Backoff:
			consider(c.At, func() { m.restartNow(c, c.Err) })
		case c.Running && c.WdAt > 0:
			consider(c.WdAt, func() { m.watchdog(c) })
		}
	}
	if p := m.plan; p != nil && p.at > 0 {
		consider(p.at, func() { m.planStart(p) })
	}
	return best, run
}

// watchdog fails a child that missed its heartbeat.
func (m *Model) watchdog(c *Child) {
	c.Running, c.WdAt = false, 0
	m.log("exit %s", c.Name)
	m.resetStreak(c)
	m.failed(c, ErrWatchdog, decide(c.Restart, ErrWatchdog))
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
		return m.launch(c, byAdd)
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
	c.Gen++
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
	c.Gen++
	res := m.halt(c)
	c.Wait = NoWait
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
	c.Wait = NoWait
	return m.launch(c, byManual)
}
