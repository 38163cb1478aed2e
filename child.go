// child.go: what a child is. Spec is the user's description; child is the
// tree's record of it (state, counters, timers, waiters); incarnation is one
// run of it, and doubles as the context.Context the child's Run receives, so
// that Ready and Heartbeat find their way back to the tree. Children are kept
// in an intrusive doubly-linked list in start order plus a map by name, so
// that Add, Delete and lookups are O(1).

package supervisor

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/supervisor/internal/deadline"
)

// Spec describes a child.
type Spec struct {
	// Name is unique in its tree; when empty, the tree generates one.
	Name string
	// Run is the child's body; required. It must return when ctx is
	// cancelled. A nil return is a normal exit; an error or a panic is a
	// failure, unless the tree itself cancelled ctx.
	Run func(ctx context.Context) error
	// Restart says when the child is restarted (zero value: Permanent).
	Restart Restart
	// Shutdown is how long the tree waits for Run to return after cancelling
	// ctx before it abandons the child: 0 means DefaultShutdown, Infinity
	// means no limit.
	Shutdown time.Duration
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

// shutdown returns the effective shutdown limit.
func (s *Spec) shutdown() time.Duration {
	if s.Shutdown == 0 {
		return DefaultShutdown
	}
	return s.Shutdown
}

// ChildState is the state of a child as Children reports it.
type ChildState uint8

const (
	Stopped    ChildState = iota // spec kept, not running
	Starting                     // running, Ready not yet called (WaitReady)
	Running                      // running
	Restarting                   // waiting to be started again (backoff, group restart)
	Stopping                     // cancelled, waiting for Run to return
)

var stateNames = [...]string{"stopped", "starting", "running", "restarting", "stopping"}

// String returns the state's name in lower case.
func (s ChildState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "ChildState(" + strconv.Itoa(int(s)) + ")"
}

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

// Ready tells the tree that the calling child has finished starting. ctx is
// the context the child's Run received. No-op outside a tree, for a child
// without WaitReady, or when called twice.
func Ready(ctx context.Context) {
	inc, ok := ctx.Value(incKey{}).(*incarnation)
	if !ok || !inc.c.spec.WaitReady || !inc.readySent.CompareAndSwap(false, true) {
		return
	}
	inc.l.send(event{kind: evReady, inc: inc})
}

// Heartbeat tells the tree that the calling child is alive (see
// Spec.Watchdog). It costs one atomic store. No-op outside a tree.
func Heartbeat(ctx context.Context) {
	if inc, ok := ctx.Value(incKey{}).(*incarnation); ok {
		inc.lastBeat.Store(int64(inc.l.now()))
	}
}

// incKey is the context key under which an incarnation finds itself.
type incKey struct{}

// incarnation is one run of a child: created by each start, and the context
// its Run receives. Exits and Ready calls carry the incarnation, so the loop
// recognises and drops reports from an old incarnation of a child that was
// abandoned, restarted, or deleted and re-added under the same name.
//
// As a context.Context it is cancelled only by the tree and carries the
// values of Run's context. It implements cancellation itself, which saves the
// allocations of context.WithCancel on every start, and offers AfterFunc so
// that contexts derived from it (context.WithTimeout and the like) learn of
// its cancellation without a goroutine each.
type incarnation struct {
	c *child
	l *loop

	// Owned by the loop.
	by       startKind // who started it, which decides a start failure's fate
	ready    bool      // the loop saw Ready, or the child needs none
	announce bool      // report evEntered before calling Run
	entered  bool      // the loop saw evEntered
	stopping bool      // the tree cancelled it on purpose: its exit is a shutdown
	watchdog bool      // the tree cancelled it for a missed heartbeat: its exit is a failure

	readySent atomic.Bool  // Ready was called (set by the child)
	cancelled atomic.Bool  // the context is cancelled
	lastBeat  atomic.Int64 // loop clock at the last Heartbeat (set by the child)
	pid       atomic.Int64 // set by ReportPID

	mu   sync.Mutex
	done atomic.Value // chan struct{}, made on first use

	// req is the API call waiting on this incarnation, if any: an Add waits
	// for it to start, a Terminate or Delete for it to end. Loop-owned.
	req  *request
	side atomic.Pointer[incSide] // rarely needed, made on first use
}

// incSide holds what few incarnations need: waiters beyond req (loop-owned),
// and the AfterFunc registrations of contexts derived from it (guarded by
// the incarnation's mu).
type incSide struct {
	onStop  []func(abandoned bool) // called when it ends (returns or is abandoned)
	onReady []func(err error)      // called when it has started, or ends before that
	afters  map[*afterFunc]struct{}
}

// sided returns the side struct, making it if needed; safe from any goroutine.
func (inc *incarnation) sided() *incSide {
	if s := inc.side.Load(); s != nil {
		return s
	}
	inc.side.CompareAndSwap(nil, &incSide{})
	return inc.side.Load()
}

type afterFunc struct{ f func() }

// afters and setAfters access the AfterFunc registrations; mu is held.
func (inc *incarnation) afters() map[*afterFunc]struct{} {
	if s := inc.side.Load(); s != nil {
		return s.afters
	}
	return nil
}

func (inc *incarnation) setAfters(m map[*afterFunc]struct{}) {
	if m == nil && inc.side.Load() == nil {
		return
	}
	inc.sided().afters = m
}

// closedChan is the Done channel of an incarnation cancelled before anyone
// asked for it.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Deadline implements context.Context: a child's context has no deadline.
func (inc *incarnation) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context.
func (inc *incarnation) Done() <-chan struct{} {
	if d, ok := inc.done.Load().(chan struct{}); ok {
		return d
	}
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if d, ok := inc.done.Load().(chan struct{}); ok {
		return d
	}
	d := make(chan struct{})
	inc.done.Store(d)
	return d
}

// Err implements context.Context.
func (inc *incarnation) Err() error {
	if inc.cancelled.Load() {
		return context.Canceled
	}
	return nil
}

// Value implements context.Context: the incarnation itself under incKey,
// else the values of Run's context.
func (inc *incarnation) Value(key any) any {
	if key == (incKey{}) {
		return inc
	}
	return inc.l.base.Value(key)
}

// String describes the context, as the context package's types do.
func (inc *incarnation) String() string {
	return "supervisor child context " + strconv.Quote(inc.c.spec.Name)
}

// AfterFunc arranges for f to run in its own goroutine once the context is
// cancelled; stop undoes that if f has not started. The context package uses
// it to propagate cancellation to derived contexts.
func (inc *incarnation) AfterFunc(f func()) (stop func() bool) {
	inc.mu.Lock()
	if inc.cancelled.Load() {
		inc.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	if inc.afters() == nil {
		inc.setAfters(make(map[*afterFunc]struct{}))
	}
	inc.afters()[a] = struct{}{}
	inc.mu.Unlock()
	return func() bool {
		inc.mu.Lock()
		defer inc.mu.Unlock()
		if _, ok := inc.afters()[a]; ok {
			delete(inc.afters(), a)
			return true
		}
		return false
	}
}

// cancel cancels the context; later calls do nothing.
func (inc *incarnation) cancel() {
	inc.mu.Lock()
	if inc.cancelled.Load() {
		inc.mu.Unlock()
		return
	}
	inc.cancelled.Store(true)
	if d, ok := inc.done.Load().(chan struct{}); ok {
		close(d)
	} else {
		inc.done.Store(closedChan)
	}
	afters := inc.afters()
	inc.setAfters(nil)
	inc.mu.Unlock()
	for a := range afters {
		go a.f()
	}
}

// onStop registers f to run when inc ends.
func (inc *incarnation) onStop(f func(abandoned bool)) {
	s := inc.sided()
	s.onStop = append(s.onStop, f)
}

// onReady registers f to run when inc has started, or ends before that.
func (inc *incarnation) onReady(f func(err error)) {
	s := inc.sided()
	s.onReady = append(s.onReady, f)
}

// readyWaited reports whether anything waits for inc to start.
func (inc *incarnation) readyWaited() bool {
	if inc.req != nil && inc.req.op != opTerminate && inc.req.op != opDelete {
		return true
	}
	s := inc.side.Load()
	return s != nil && len(s.onReady) > 0
}

// startKind says which part of the tree started an incarnation.
type startKind uint8

const (
	byInitial startKind = iota // Run's initial start: a start failure fails Run
	byAdd                      // Add: a start failure fails Add, the spec is dropped
	byManual                   // Restart: a start failure fails Restart, the child stays Stopped
	byAuto                     // an automatic restart: a start failure is another failure
)

// run executes the child's Run in the incarnation's goroutine and reports the
// exit to the loop, turning a panic into *PanicError.
func (inc *incarnation) run() {
	var err error
	returned := false
	defer func() {
		if !returned {
			if v := recover(); v != nil {
				err = newPanicError(inc.c.spec.Name, v)
			} else {
				err = errGoexit
			}
		}
		inc.l.send(event{kind: evExit, inc: inc, err: err})
	}()
	if inc.announce {
		inc.l.send(event{kind: evEntered, inc: inc})
	}
	err = inc.c.spec.Run(inc)
	returned = true
}

// child is the tree's record of a child. Owned by the loop while the tree
// runs, and by Tree.mu otherwise. Kept to 128 bytes: what only backoff,
// watchdogs and group restarts need lives in x, allocated on first use.
type child struct {
	spec       Spec
	state      ChildState
	removing   bool          // Delete (or a SimpleOneForOne Terminate) will remove it once stopped
	removed    bool          // no longer in the tree
	deferred   bool          // a failure waits for the running group plan to end
	gen        uint32        // bumped by Terminate and Delete: plans skip children whose gen moved
	restarts   int           // automatic restarts in this Run
	err        error         // last exit's error
	since      time.Duration // loop clock when state last changed
	started    time.Duration // loop clock at the last start; -1: none in this Run
	prev, next *child
	inc        *incarnation // the live incarnation, nil when none
	x          *childExtra
}

// childExtra is the part of a child's record that few children need.
type childExtra struct {
	restart   timer         // a backoff delay before an automatic restart
	watchdog  timer         // the next heartbeat check
	startedAt time.Duration // start of the live incarnation (with backoff only)
	streak    int           // consecutive automatic restarts (with backoff only)
	stopPlan  *plan         // the group plan that will stop it; its own exits meanwhile are absorbed
}

// timer is an entry in the loop's deadline heap; its Value says what is due.
type timer = deadline.Entry[timerTarget]

type timerTarget struct {
	kind timerKind
	c    *child
	p    *plan
	q    *stopQueue
}

type timerKind uint8

const (
	tRestart timerKind = iota
	tWatchdog
	tPlanDelay
	tStopQueue
)

func (c *child) ext() *childExtra {
	if c.x == nil {
		c.x = &childExtra{
			restart:  timer{Value: timerTarget{kind: tRestart, c: c}},
			watchdog: timer{Value: timerTarget{kind: tWatchdog, c: c}},
		}
	}
	return c.x
}

// stopPlan returns the group plan that is to stop c, if any.
func (c *child) stopPlan() *plan {
	if c.x == nil {
		return nil
	}
	return c.x.stopPlan
}

func (c *child) setStopPlan(p *plan) {
	if p != nil || c.x != nil {
		c.ext().stopPlan = p
	}
}

// stopQueue holds the Shutdown deadlines of the stopping incarnations whose
// children share one Shutdown duration. Each deadline is the stop time plus
// that duration, so they arrive in order: a FIFO whose head alone sits in the
// loop's heap replaces a timer per stopping child. Entries of incarnations
// that ended are dropped when they reach the head.
type stopQueue struct {
	d     time.Duration
	items []stopItem
	head  int
	timer timer
}

type stopItem struct {
	inc *incarnation
	at  time.Duration
}

// live reports whether the item's incarnation is still the one that runs.
func (it stopItem) live() bool { return it.inc.c.inc == it.inc }

// trim drops the ended incarnations at the head and reports the first
// deadline left, if any.
func (q *stopQueue) trim() (time.Duration, bool) {
	for q.head < len(q.items) && !q.items[q.head].live() {
		q.items[q.head] = stopItem{}
		q.head++
	}
	if q.head == len(q.items) {
		if cap(q.items) > 1024 {
			q.items = nil // let a mass stop's memory go
		} else {
			q.items = q.items[:0]
		}
		q.head = 0
		return 0, false
	}
	if q.head > 64 && q.head > len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	}
	return q.items[q.head].at, true
}

// reset clears what a Run left in c for the next Run. It never writes
// c.spec: an abandoned child of the previous Run may still be reading it.
func (c *child) reset() {
	c.state = Stopped
	c.removing, c.removed, c.deferred = false, false, false
	c.gen, c.restarts, c.err = 0, 0, nil
	c.since, c.started = 0, -1
	c.inc, c.x = nil, nil
}

// info describes c; t0 is the origin of the loop clock of the tree's last
// (or current) Run, zero if it never ran.
func (c *child) info(t0 time.Time) ChildInfo {
	ci := ChildInfo{Name: c.spec.Name, State: c.state, Restart: c.spec.Restart, Restarts: c.restarts, Err: c.err,
		Subtree: c.spec.sub != nil}
	if !t0.IsZero() {
		ci.Since = t0.Add(c.since)
		if c.started >= 0 {
			ci.Started = t0.Add(c.started)
		}
	}
	if c.inc != nil {
		ci.PID = int(c.inc.pid.Load())
	}
	return ci
}

// childList holds the children in start order with a map by name.
type childList struct {
	head, tail *child
	byName     map[string]*child
	n          int
	subs       int // children that are trees
}

func (cl *childList) init() {
	if cl.byName == nil {
		cl.byName = make(map[string]*child)
	}
}

func (cl *childList) get(name string) *child { return cl.byName[name] }

func (cl *childList) pushBack(c *child) {
	cl.init()
	c.prev, c.next = cl.tail, nil
	if cl.tail != nil {
		cl.tail.next = c
	} else {
		cl.head = c
	}
	cl.tail = c
	cl.byName[c.spec.Name] = c
	cl.n++
	if c.spec.sub != nil {
		cl.subs++
	}
}

func (cl *childList) remove(c *child) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		cl.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		cl.tail = c.prev
	}
	c.prev, c.next = nil, nil
	delete(cl.byName, c.spec.Name)
	cl.n--
	if c.spec.sub != nil {
		cl.subs--
	}
	c.removed = true
}

func (cl *childList) infos(t0 time.Time) []ChildInfo {
	out := make([]ChildInfo, 0, cl.n)
	for c := cl.head; c != nil; c = c.next {
		out = append(out, c.info(t0))
	}
	return out
}

// counts returns the tree's counts given how many incarnations are live.
func (cl *childList) counts(live int) Counts {
	return Counts{Specs: cl.n, Active: live, Supervisors: cl.subs}
}

// fromHead returns the children from c to the tail, in start order.
func fromHead(c *child) []*child {
	var out []*child
	for ; c != nil; c = c.next {
		out = append(out, c)
	}
	return out
}
