// Package supervisor runs goroutines as a supervision tree, with the
// semantics of Erlang/OTP's supervisor: ordered child specs with restart
// types (Permanent, Transient, Temporary), four strategies (OneForOne,
// OneForAll, RestForOne, SimpleOneForOne), a sliding-window restart
// intensity, per-child shutdown limits, nested trees, and Add, Terminate,
// Restart and Delete at run time. Beyond Erlang it offers readiness (an
// ordered start that waits for each child to call Ready), restart backoff,
// heartbeat watchdogs, and structured events and slog records.
//
// # Design
//
// A running tree is one event loop: the goroutine that called Run. It owns
// every piece of tree state, so nothing in the package takes a lock while
// the tree runs (Tree.mu only hands the state between Run and the calls made
// while the tree is stopped). Three things feed the loop:
//
//   - children: each child runs in its own goroutine, and reports its exit
//     and its Ready call through the tree's inbox, a lock-free queue that the
//     loop drains in batches (one wake-up per burst, so a pool of 100,000
//     children stopping at once costs no channel handoff each). Reports are
//     tagged with the child's incarnation (one per start), so that a late
//     report from an abandoned, restarted or deleted child is recognised and
//     dropped;
//   - callers: Add, Terminate, Restart, Delete, Children and Count are
//     requests over a channel, each with a reply channel, answered by the
//     loop;
//   - time: every pending deadline (backoff delays, watchdog checks, and one
//     entry per distinct Shutdown duration for the FIFO of stopping children
//     that share it) sits in one heap behind one time.Timer.
//
// The loop never blocks on a child. Stopping a child means cancelling its
// context and registering a continuation on that incarnation; the loop goes
// on answering calls and handling exits meanwhile, and runs the continuation
// when the exit (or the Shutdown limit) arrives. Ordered work, such as the
// initial start, a OneForAll group restart or the reverse-order shutdown, is
// a plan: a list of stop and start steps that advances one step per event.
// So a child may call the tree's API from its own Run or from its shutdown
// path without deadlocking the tree, and the cost of an exit, an Add, a
// Delete or a one-for-one restart does not grow with the number of children.
//
// Observability never runs on the loop: events go through a bounded buffer to
// one observer goroutine that calls the hook (WithHook) and writes slog
// records (WithLogger), so a slow or blocking hook cannot stall supervision.
//
// # Choices where the Erlang model is silent or differs
//
//   - Group restarts start every child of the group that the tree holds,
//     including children that were Stopped (as OTP does), except children
//     terminated or deleted while the restart was in progress.
//   - A failure that arrives while a OneForAll or RestForOne group restart is
//     in progress is handled once that restart completes, as an OTP
//     supervisor would after its restart returns; a failure of the child the
//     restart is waiting on supersedes it with a new group restart.
//   - The tree's specs survive Run: a tree run again starts the specs it
//     held when Run returned (Temporary children are gone, since they exited;
//     SimpleOneForOne children are never kept).
//   - Restart on a Temporary child stops and starts it again and keeps it.
//   - The intensity window is half-open: a restart made exactly one period
//     after another no longer counts with it.
//   - A tree started as a child with WaitReady calls Ready once its own
//     initial start has completed.
//   - Start order is exact for WaitReady children (the next starts after
//     Ready). For the others, an ordered start (Run's, or a group restart's)
//     waits until the child's goroutine is about to call Run before starting
//     the next one, so goroutines begin in start order; their first side
//     effects may still interleave, since the tree cannot know when a child's
//     start is "done" without Ready. Add and Restart return once the child's
//     goroutine has been started.
//   - A child must not call Terminate, Restart or Delete on itself: the call
//     waits for the child to stop, so it returns only when the child's
//     Shutdown limit abandons it.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/supervisor/internal/deadline"
)

// Tree is a supervision tree. Create it with New, run it with Run. All
// methods are safe for concurrent use, including from the tree's children.
type Tree struct {
	cfg config

	mu   sync.Mutex
	cur  *loop     // the running loop; nil when stopped
	kids childList // owned by cur while it runs, by mu otherwise
	seq  int       // for generated child names

	requests sync.Pool      // *request, reused across calls
	jitter   func() float64 // backoff jitter source; nil: math/rand
	t0       time.Time      // origin of the loop clock of the last Run; zero before the first
	lastErr  error          // what the last Run returned
}

// New creates a tree from options, validating every option and spec.
func New(opts ...Option) (*Tree, error) {
	cfg := defaultConfig()
	for i, o := range opts {
		if o == nil {
			return nil, treeErr(cfg.name, ErrInvalidOption, "option %d is nil", i)
		}
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Tree{cfg: cfg}
	t.requests.New = newRequest
	t.kids.init()
	for i := range cfg.specs {
		s := cfg.specs[i]
		if err := t.checkSpec(&s, fmt.Sprintf("WithChildren[%d]: ", i)); err != nil {
			return nil, err
		}
		if _, err := t.insert(s); err != nil {
			return nil, err
		}
	}
	t.cfg.specs = nil
	return t, nil
}

// Name returns the tree's name.
func (t *Tree) Name() string { return t.cfg.name }

// checkSpec validates a spec against the tree's configuration.
func (t *Tree) checkSpec(s *Spec, where string) error {
	bad := func(format string, args ...any) error {
		return childErr(t.cfg.name, s.Name, ErrInvalidSpec, where+format, args...)
	}
	switch {
	case s.Run == nil:
		return bad("Run is nil")
	case s.Restart > Temporary:
		return bad("Restart %d is not Permanent, Transient or Temporary", s.Restart)
	case s.Shutdown < 0 && s.Shutdown != Infinity:
		return bad("Shutdown %v is negative and not Infinity", s.Shutdown)
	case s.Watchdog < 0:
		return bad("Watchdog %v is negative", s.Watchdog)
	case s.Significant && s.Restart == Permanent:
		return bad("Significant is not allowed on a Permanent child")
	case s.Significant && t.cfg.autoShutdown == Never:
		return bad("Significant needs WithAutoShutdown other than Never")
	}
	return nil
}

// insert adds a validated spec at the end of the tree, naming it if needed.
// The caller owns t.kids.
func (t *Tree) insert(s Spec) (*child, error) {
	if s.Name == "" {
		var buf [32]byte
		for {
			t.seq++
			s.Name = string(strconv.AppendInt(append(buf[:0], "child-"...), int64(t.seq), 10))
			if t.kids.get(s.Name) == nil {
				break
			}
		}
	} else if t.kids.get(s.Name) != nil {
		return nil, &ChildError{Tree: t.cfg.name, Child: s.Name, Kind: ErrDuplicateChild, Detail: "the name is in use"}
	}
	if m := t.cfg.maxChildren; m > 0 && t.kids.n >= m {
		return nil, childErr(t.cfg.name, s.Name, ErrMaxChildren, "the tree holds %d children, its limit", m)
	}
	c := &child{spec: s}
	t.kids.pushBack(c)
	return c, nil
}

// Run starts the children in order and supervises them until ctx is
// cancelled, the restart intensity is exceeded, or auto shutdown applies;
// then it stops every child (in reverse start order; SimpleOneForOne: all at
// once) and returns. It returns nil after a cancellation or an auto shutdown,
// an error matching ErrTooManyRestarts when it gave up, ErrStartFailed when
// the initial start failed, and ErrShutdownTimeout (joined with any of those)
// when a child had to be abandoned. Run may be called again after it
// returned; each Run starts with a fresh restart history.
func (t *Tree) Run(ctx context.Context) error { return t.run(ctx, nil) }

// Start runs the tree in a new goroutine and returns once its initial start
// has completed (every child started, and ready if WaitReady) or Run has
// returned. The channel receives Run's error. Use it instead of `go
// t.Run(ctx)` when the next line calls Add, which on a SimpleOneForOne tree
// needs the tree to be running.
func (t *Tree) Start(ctx context.Context) <-chan error {
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() { errc <- t.run(ctx, func() { close(started) }) }()
	<-started
	return errc
}

// run is Run; started, if not nil, is called once when the initial start
// has completed or Run is about to return.
func (t *Tree) run(ctx context.Context, started func()) error {
	if started != nil {
		var once sync.Once
		f := started
		started = func() { once.Do(f) }
		defer started()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	t.mu.Lock()
	if t.cur != nil {
		t.mu.Unlock()
		return treeErr(t.cfg.name, ErrAlreadyRunning, "Run called while the tree runs")
	}
	if ctx.Err() != nil {
		t.mu.Unlock()
		return nil
	}
	l := newLoop(t, ctx)
	l.started = started
	t.cur = l
	t.t0 = l.t0
	t.mu.Unlock()

	err := l.run()

	t.mu.Lock()
	t.cur = nil
	t.lastErr = err
	t.mu.Unlock()
	close(l.done)
	if l.obs != nil {
		l.obs.close(DefaultShutdown)
	}
	return err
}

// Add adds a child and starts it, returning its name (generated when
// spec.Name is empty). It returns once the child has started, and called
// Ready if spec.WaitReady; a WaitReady child that returns before Ready makes
// Add fail with ErrStartFailed and is not kept. On a tree that is not running
// the spec is queued for the next Run (SimpleOneForOne: ErrNotRunning).
func (t *Tree) Add(spec Spec) (string, error) {
	if err := t.checkSpec(&spec, ""); err != nil {
		return "", err
	}
	r := t.call(opAdd, spec)
	return r.name, r.err
}

// Terminate stops a running child and keeps its spec as Stopped (Temporary
// children, and all children of a SimpleOneForOne tree, are removed instead).
// Terminating a Stopped child returns nil. It returns when the child has
// stopped, or with an error matching ErrShutdownTimeout when it was abandoned.
func (t *Tree) Terminate(name string) error { return t.call(opTerminate, Spec{Name: name}).err }

// Restart stops the child if it runs and starts it again, returning once it
// has started (and is ready, for WaitReady). It never counts toward the
// restart intensity.
func (t *Tree) Restart(name string) error { return t.call(opRestart, Spec{Name: name}).err }

// Delete stops the child if it runs and removes its spec. The name may be
// reused once Delete has returned.
func (t *Tree) Delete(name string) error { return t.call(opDelete, Spec{Name: name}).err }

// Children lists the children in start order.
func (t *Tree) Children() []ChildInfo { return t.call(opChildren, Spec{}).infos }

// Count returns how many children the tree holds and how many run.
func (t *Tree) Count() Counts { return t.call(opCount, Spec{}).counts }

type reqOp uint8

const (
	opAdd reqOp = iota
	opTerminate
	opRestart
	opDelete
	opChildren
	opCount
	opChild
	opSnapshot
	opCheck // tests: verify the loop's invariants
)

// request is an API call to the loop; reply has room for the one answer.
type request struct {
	op    reqOp
	spec  Spec
	reply chan reply
}

type reply struct {
	name   string
	err    error
	infos  []ChildInfo
	counts Counts
	snap   *snapshot
}

func newRequest() any { return &request{reply: make(chan reply, 1)} }

// call performs an API call: through the loop when the tree runs, directly
// under the lock when it does not. A loop that ends while the call is on its
// way makes the call try again against the stopped tree.
func (t *Tree) call(op reqOp, spec Spec) reply {
	for {
		t.mu.Lock()
		l := t.cur
		if l == nil {
			r := t.offline(op, spec)
			t.mu.Unlock()
			return r
		}
		t.mu.Unlock()

		req := t.requests.Get().(*request)
		req.op, req.spec = op, spec
		select {
		case l.reqs <- req:
		case <-l.done:
			req.spec = Spec{}
			t.requests.Put(req)
			continue
		}
		// The loop answers every request it accepted before it ends; the
		// done case only guards against a bug turning into a hang.
		select {
		case r := <-req.reply:
			req.spec = Spec{}
			t.requests.Put(req)
			return r
		case <-l.done:
			select {
			case r := <-req.reply:
				return r
			default:
				return reply{err: treeErr(t.cfg.name, ErrNotRunning, "the tree stopped before answering")}
			}
		}
	}
}

// offline answers a call while the tree is not running. t.mu is held.
func (t *Tree) offline(op reqOp, spec Spec) reply {
	name := spec.Name
	switch op {
	case opAdd:
		if t.cfg.strategy == SimpleOneForOne {
			return reply{err: childErr(t.cfg.name, name, ErrNotRunning, "SimpleOneForOne children can only be added while the tree runs")}
		}
		c, err := t.insert(spec)
		if err != nil {
			return reply{err: err}
		}
		return reply{name: c.spec.Name}
	case opTerminate, opRestart:
		return reply{err: childErr(t.cfg.name, name, ErrNotRunning, "the tree is not running")}
	case opDelete:
		c := t.kids.get(name)
		if c == nil {
			return reply{err: t.unknown(name)}
		}
		t.kids.remove(c)
		return reply{}
	case opChildren:
		return reply{infos: t.kids.infos(t.t0)}
	case opChild:
		return t.childInfo(name)
	case opSnapshot:
		return reply{snap: t.offlineSnapshot()}
	case opCheck:
		for c := t.kids.head; c != nil; c = c.next {
			if c.state != Stopped || c.inc != nil {
				return reply{err: fmt.Errorf("stopped tree: child %q is %v", c.spec.Name, c.state)}
			}
		}
		return reply{}
	default:
		return reply{counts: t.kids.counts(0)}
	}
}

// checkInvariants verifies the tree's internal consistency (tests only).
func (t *Tree) checkInvariants() error { return t.call(opCheck, Spec{}).err }

// check verifies the loop's invariants: O(n), for tests only.
func (l *loop) check() error {
	n, live, sig := 0, 0, 0
	for c := l.kids.head; c != nil; c = c.next {
		n++
		if l.kids.byName[c.spec.Name] != c {
			return fmt.Errorf("child %q: not in the map", c.spec.Name)
		}
		if c.removed {
			return fmt.Errorf("child %q: removed but listed", c.spec.Name)
		}
		hasInc := c.inc != nil
		runs := c.state == Starting || c.state == Running || c.state == Stopping
		if hasInc != runs {
			return fmt.Errorf("child %q: state %v with incarnation %v", c.spec.Name, c.state, hasInc)
		}
		if hasInc {
			live++
			if c.inc.c != c {
				return fmt.Errorf("child %q: incarnation of another child", c.spec.Name)
			}
		}
		if c.spec.Significant && c.state != Stopped {
			sig++
		}
		if c.x != nil && c.x.restart.Queued() && c.state != Restarting {
			return fmt.Errorf("child %q: restart pending in state %v", c.spec.Name, c.state)
		}
	}
	switch {
	case n != l.kids.n || n != len(l.kids.byName):
		return fmt.Errorf("list has %d children, count %d, map %d", n, l.kids.n, len(l.kids.byName))
	case live != l.live:
		return fmt.Errorf("%d live incarnations, counter says %d", live, l.live)
	case sig != l.sigLive:
		return fmt.Errorf("%d significant children not stopped, counter says %d", sig, l.sigLive)
	}
	return nil
}

func (t *Tree) unknown(name string) error {
	return &ChildError{Tree: t.cfg.name, Child: name, Kind: ErrUnknownChild}
}

// event is what a child's goroutine reports to the loop.
type event struct {
	kind evKind
	inc  *incarnation
	err  error
	next *event // in the inbox
}

// inbox carries the children's reports to the loop: a lock-free stack that
// a child pushes onto with one CAS and the loop takes whole. A burst of
// reports (a pool of children stopping at once) thus costs no channel
// handoff, parking or wake-up per report; the loop is woken once per burst.
// A push never blocks, so a child abandoned by a tree that has since
// stopped can still report into the void.
type inbox struct {
	top  atomic.Pointer[event]
	wake chan struct{} // capacity 1: something was pushed onto an empty inbox
}

func (q *inbox) push(e *event) {
	for {
		old := q.top.Load()
		e.next = old
		if q.top.CompareAndSwap(old, e) {
			if old == nil {
				select {
				case q.wake <- struct{}{}:
				default:
				}
			}
			return
		}
	}
}

// take returns everything pushed so far, oldest first.
func (q *inbox) take() *event {
	var list *event
	for e := q.top.Swap(nil); e != nil; {
		next := e.next
		e.next = list
		list = e
		e = next
	}
	return list
}

type evKind uint8

const (
	evExit    evKind = iota
	evReady          // the child called Ready
	evEntered        // the child's goroutine is about to call Run (ordered starts only)
)

// loop is the state of one Run. Every field is owned by the Run goroutine,
// except those documented otherwise.
type loop struct {
	t    *Tree
	cfg  *config
	kids *childList

	runCtx context.Context // Run's context
	base   context.Context // parent of the children's contexts: Run's values, not its cancellation
	t0     time.Time       // origin of now(); read by children's Heartbeat

	in   inbox
	reqs chan *request
	done chan struct{} // closed once Run is over; callers then retry against the stopped tree

	heap    deadline.Heap[timerTarget]
	timer   *time.Timer
	timerAt time.Duration // when the timer fires, if armed
	armed   bool
	clock   time.Duration // now(), read once per pass of the loop
	stopQs  map[time.Duration]*stopQueue

	win window
	bo  backoff
	obs *observer

	plan     *plan    // the plan in progress, if any
	deferred []*child // failures waiting for the group plan to end
	live     int      // incarnations not yet returned nor abandoned
	sigLive  int      // significant children not Stopped
	stopping bool     // shutdown has begun

	err       error    // why the tree gave up or failed to start
	abandoned []string // children abandoned after their Shutdown
	started   func()   // Start's signal that the initial start completed; may be nil
}

func newLoop(t *Tree, ctx context.Context) *loop {
	return &loop{
		t:      t,
		cfg:    &t.cfg,
		kids:   &t.kids,
		runCtx: ctx,
		base:   context.WithoutCancel(ctx),
		t0:     time.Now(),
		in:     inbox{wake: make(chan struct{}, 1)},
		reqs:   make(chan *request),
		done:   make(chan struct{}),
		win:    newWindow(t.cfg.maxRestarts, t.cfg.period),
		bo:     backoff{initial: t.cfg.backoffInit, max: t.cfg.backoffMax, jitter: t.jitter},
		obs:    newObserver(t.cfg.hooks, t.cfg.logger),
	}
}

// now is the loop's monotonic clock.
func (l *loop) now() time.Duration { return time.Since(l.t0) }

// send delivers a child's report to the loop; it never blocks.
func (l *loop) send(ev event) { l.in.push(&ev) }

func (l *loop) run() error {
	for c := l.kids.head; c != nil; c = c.next {
		c.reset()
	}
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
	defer l.timer.Stop()
	l.clock = l.now()
	l.emit(Event{Kind: TreeStarted})

	p := &plan{kind: planInitial}
	for c := l.kids.head; c != nil; c = c.next {
		p.starts = append(p.starts, member{c, c.gen})
	}
	l.plan = p
	l.step(p)

	ctxDone := l.runCtx.Done()
	for !(l.stopping && l.plan == nil && l.live == 0) {
		l.armTimer()
		var timerC <-chan time.Time
		if l.armed {
			timerC = l.timer.C
		}
		select {
		case <-l.in.wake:
			l.clock = l.now()
			for ev := l.in.take(); ev != nil; ev = ev.next {
				l.handle(ev)
			}
		case r := <-l.reqs:
			l.clock = l.now()
			l.serve(r)
		case <-timerC:
			l.armed = false
			l.fire()
		case <-ctxDone:
			l.clock = l.now()
			ctxDone = nil
			l.shutdown()
		}
	}

	var err error
	switch {
	case l.err != nil && len(l.abandoned) > 0:
		err = errors.Join(l.err, &ShutdownTimeoutError{Tree: l.cfg.name, Children: l.abandoned})
	case l.err != nil:
		err = l.err
	case len(l.abandoned) > 0:
		err = &ShutdownTimeoutError{Tree: l.cfg.name, Children: l.abandoned}
	}
	l.emit(Event{Kind: TreeStopped, Err: err})
	return err
}

// emit hands an event to the observer, if there is one.
func (l *loop) emit(e Event) {
	if l.obs == nil {
		return
	}
	e.Tree = l.cfg.name
	l.obs.emit(e)
}

func (l *loop) emitChild(k EventKind, c *child, err error) {
	if l.obs != nil {
		l.emit(Event{Kind: k, Child: c.spec.Name, Err: err, Restarts: c.restarts})
	}
}

// armTimer makes the loop's timer fire no later than the earliest deadline.
// A timer that would fire early (its deadline was removed) is left alone:
// fire finds nothing due and the timer is armed again, which costs less than
// resetting it on every removal.
func (l *loop) armTimer() {
	if e := l.heap.Peek(); e != nil && (!l.armed || e.At < l.timerAt) {
		l.timer.Reset(e.At - l.clock)
		l.timerAt, l.armed = e.At, true
	}
}

// schedule queues a timer at now+d.
func (l *loop) schedule(tm *timer, d time.Duration) {
	tm.At = l.clock + d
	l.heap.Push(tm)
}

// fire runs every deadline that is due.
func (l *loop) fire() {
	now := l.now()
	l.clock = now
	for e := l.heap.Peek(); e != nil && e.At <= now; e = l.heap.Peek() {
		l.heap.Pop()
		switch tt := e.Value; tt.kind {
		case tRestart:
			c := tt.c
			if !c.removed && c.inc == nil && c.state == Restarting && !l.stopping {
				l.restartNow(c, c.err)
			}
		case tStopQueue:
			l.expire(tt.q, now)
		case tWatchdog:
			l.checkWatchdog(tt.c, now)
		case tPlanDelay:
			if l.plan == tt.p {
				l.step(tt.p)
			}
		}
	}
}

// handle processes a child's report.
func (l *loop) handle(ev *event) {
	inc := ev.inc
	c := inc.c
	if c.inc != inc {
		return // an old incarnation: abandoned, or its child restarted or deleted
	}
	switch ev.kind {
	case evExit:
		l.ended(c, ev.err, false)
	case evEntered:
		inc.entered = true
		l.notifyReady(inc, nil)
	case evReady:
		if inc.ready || inc.stopping || inc.watchdog {
			return
		}
		inc.ready = true
		l.setState(c, Running)
		l.armWatchdog(c)
		l.emitChild(ChildReady, c, nil)
		l.notifyReady(inc, nil)
	}
}

// setState changes a child's state, keeping the count of significant
// children that are not Stopped.
func (l *loop) setState(c *child, s ChildState) {
	c.since = l.clock
	if c.spec.Significant && (c.state == Stopped) != (s == Stopped) {
		if s == Stopped {
			l.sigLive--
		} else {
			l.sigLive++
		}
	}
	c.state = s
}

// start runs a new incarnation of c. With announce, the child's goroutine
// reports when it is about to call Run, so that an ordered start can wait for
// that before starting the next child.
func (l *loop) start(c *child, by startKind, announce bool) {
	inc := &incarnation{c: c, l: l, by: by, ready: !c.spec.WaitReady}
	inc.announce = announce && inc.ready
	c.inc = inc
	if l.bo.initial > 0 {
		c.ext().startedAt = l.clock
	}
	l.live++
	c.started = l.clock
	if by == byAuto {
		c.restarts++
	}
	if inc.ready {
		l.setState(c, Running)
		l.armWatchdog(c)
	} else {
		l.setState(c, Starting)
	}
	l.emitChild(ChildStarted, c, nil)
	go inc.run()
}

// stop cancels c's live incarnation on purpose; its exit will be a shutdown.
// The Shutdown limit starts now (or keeps running, after a watchdog timeout).
func (l *loop) stop(c *child) {
	inc := c.inc
	if inc == nil || inc.stopping {
		return
	}
	inc.stopping = true
	l.setState(c, Stopping)
	if inc.watchdog {
		return // already cancelled, and its Shutdown limit runs
	}
	if c.x != nil {
		l.heap.Remove(&c.x.watchdog)
	}
	inc.cancel()
	l.limit(inc)
}

// limit starts the Shutdown limit of a cancelled incarnation.
func (l *loop) limit(inc *incarnation) {
	d := inc.c.spec.shutdown()
	if d == Infinity {
		return
	}
	q := l.stopQs[d]
	if q == nil {
		if l.stopQs == nil {
			l.stopQs = make(map[time.Duration]*stopQueue)
		}
		q = &stopQueue{d: d}
		q.timer.Value = timerTarget{kind: tStopQueue, q: q}
		l.stopQs[d] = q
	}
	q.items = append(q.items, stopItem{inc: inc, at: l.clock + d})
	if !q.timer.Queued() {
		q.timer.At = l.clock + d
		l.heap.Push(&q.timer)
	}
}

// expire abandons the incarnations of q whose Shutdown limit has passed.
func (l *loop) expire(q *stopQueue, now time.Duration) {
	for {
		at, ok := q.trim()
		if !ok {
			return
		}
		if at > now {
			q.timer.At = at
			l.heap.Push(&q.timer)
			return
		}
		inc := q.items[q.head].inc
		q.items[q.head] = stopItem{}
		q.head++
		l.abandon(inc.c)
	}
}

// unlimit forgets the Shutdown limit of an incarnation that has ended,
// moving its queue's timer to the next deadline.
func (l *loop) unlimit(inc *incarnation) {
	q := l.stopQs[inc.c.spec.shutdown()]
	if q == nil || !q.timer.Queued() {
		return // Infinity, or the queue is being expired
	}
	if at, ok := q.trim(); !ok {
		l.heap.Remove(&q.timer)
	} else if at != q.timer.At {
		q.timer.At = at
		l.heap.Push(&q.timer)
	}
}

// abandon gives up waiting for a stopping child that overran its Shutdown.
func (l *loop) abandon(c *child) {
	l.abandoned = append(l.abandoned, c.spec.Name)
	l.emitChild(ShutdownTimeout, c, nil)
	l.ended(c, &ChildError{Tree: l.cfg.name, Child: c.spec.Name, Kind: ErrShutdownTimeout,
		Detail: "did not return within " + c.spec.shutdown().String()}, true)
}

// notifyReady wakes whoever waits for inc to start: err is nil when it has
// started, else why it never will.
func (l *loop) notifyReady(inc *incarnation, err error) {
	if r := inc.req; r != nil && r.op == opAdd {
		inc.req = nil
		if err != nil {
			r.reply <- reply{err: err}
		} else {
			r.reply <- reply{name: inc.c.spec.Name}
		}
	}
	s := inc.side.Load()
	if s == nil {
		return
	}
	ws := s.onReady
	s.onReady = nil
	for _, w := range ws {
		w(err)
	}
}

// notifyStopped wakes whoever waits for inc to end.
func (l *loop) notifyStopped(inc *incarnation, abandoned bool) {
	if r := inc.req; r != nil && (r.op == opTerminate || r.op == opDelete) {
		inc.req = nil
		if abandoned {
			r.reply <- reply{err: inc.c.err}
		} else {
			r.reply <- reply{}
		}
	}
	s := inc.side.Load()
	if s == nil {
		return
	}
	ws := s.onStop
	s.onStop = nil
	for _, w := range ws {
		w(abandoned)
	}
}

// ended handles the end of c's live incarnation: it returned err, or it was
// abandoned. A shutdown (the tree stopped it) only wakes whoever waits for
// it; anything else is the child's own exit.
func (l *loop) ended(c *child, err error, abandoned bool) {
	inc := c.inc
	c.inc = nil
	l.live--
	if inc.stopping || inc.watchdog {
		l.unlimit(inc)
	}
	if c.x != nil {
		l.heap.Remove(&c.x.watchdog)
	}

	if inc.stopping {
		c.err = err
		l.setState(c, Stopped)
		if l.obs != nil {
			l.emit(Event{Kind: ChildExited, Child: c.spec.Name, Err: err, Restarts: c.restarts, Shutdown: true})
		}
		if c.removing || l.stopping {
			l.settle(c)
		}
		if inc.readyWaited() {
			l.notifyReady(inc, childErr(l.cfg.name, c.spec.Name, ErrStartFailed, "stopped before it was ready"))
		}
		l.notifyStopped(inc, abandoned)
		return
	}

	if inc.watchdog {
		if abandoned || errors.Is(err, context.Canceled) {
			err = nil
		}
		err = &ChildError{Tree: l.cfg.name, Child: c.spec.Name, Kind: ErrWatchdogTimeout, Err: err,
			Detail: "no heartbeat within " + c.spec.Watchdog.String()}
	}
	l.bo.noteExit(c, l.clock)

	if !inc.ready {
		// It returned before Ready: a failed start.
		err = &ChildError{Tree: l.cfg.name, Child: c.spec.Name, Kind: ErrStartFailed, Err: err}
		if inc.by != byAuto {
			c.err = err
			l.setState(c, Stopped)
			if l.obs != nil {
				l.emit(Event{Kind: ChildExited, Child: c.spec.Name, Err: err, Restarts: c.restarts})
			}
			switch inc.by {
			case byInitial:
				if l.err == nil && !l.stopping {
					l.err = err
				}
				l.shutdown()
			case byAdd:
				l.remove(c)
			}
			l.notifyReady(inc, err)
			l.notifyStopped(inc, abandoned)
			return
		}
	}
	l.failed(c, inc, err)
	l.notifyReady(inc, err)
	l.notifyStopped(inc, abandoned)
}

// failed handles a child's exit by itself: restart it, or settle it.
func (l *loop) failed(c *child, inc *incarnation, err error) {
	c.err = err
	if l.stopping {
		l.emitExit(c, err, false)
		l.settle(c)
		return
	}
	if p := l.plan; p != nil && c.stopPlan() == p {
		// A group restart was about to stop it: it restarts with the group.
		l.emitExit(c, err, c.spec.Restart != Temporary)
		l.setState(c, Restarting)
		return
	}
	restart := wantsRestart(c.spec.Restart, err)
	l.emitExit(c, err, restart)
	if !restart {
		l.settle(c)
		l.autoShutdown(c)
		return
	}
	l.restart(c, inc, err)
}

func (l *loop) emitExit(c *child, err error, willRestart bool) {
	if l.obs != nil {
		l.emit(Event{Kind: ChildExited, Child: c.spec.Name, Err: err, Restarts: c.restarts, WillRestart: willRestart})
	}
}

// settle leaves a child that is not running as Stopped, or removes it when it
// is Temporary, belongs to a SimpleOneForOne tree, or is being deleted.
func (l *loop) settle(c *child) {
	if c.removed {
		return
	}
	if c.removing || c.spec.Restart == Temporary || l.cfg.strategy == SimpleOneForOne {
		l.remove(c)
		return
	}
	if c.x != nil {
		l.heap.Remove(&c.x.restart)
	}
	l.setState(c, Stopped)
}

// remove takes a child that is not running out of the tree.
func (l *loop) remove(c *child) {
	if c.removed {
		return
	}
	l.setState(c, Stopped)
	if c.x != nil {
		l.heap.Remove(&c.x.restart)
	}
	c.deferred = false
	l.kids.remove(c)
}

// autoShutdown stops the tree when a significant child's exit calls for it.
func (l *loop) autoShutdown(c *child) {
	if !c.spec.Significant || l.stopping {
		return
	}
	if l.cfg.autoShutdown == AnySignificant || (l.cfg.autoShutdown == AllSignificant && l.sigLive == 0) {
		l.shutdown()
	}
}

// giveUp stops the tree because the restart intensity was exceeded.
func (l *loop) giveUp(c *child, err error) {
	if l.err == nil {
		l.err = &ChildError{Tree: l.cfg.name, Child: c.spec.Name, Kind: ErrTooManyRestarts, Err: err,
			Detail: fmt.Sprintf("more than %d in %v", l.cfg.maxRestarts, l.cfg.period)}
	}
	if l.obs != nil {
		l.emit(Event{Kind: GaveUp, Child: c.spec.Name, Err: l.err, Restarts: c.restarts})
	}
	if c.inc == nil && !c.removed {
		l.setState(c, Stopped)
	}
	l.shutdown()
}

// shutdown stops every child and ends Run once they are all gone: in reverse
// start order, one after the other, or all at once for SimpleOneForOne.
func (l *loop) shutdown() {
	if l.stopping {
		return
	}
	l.stopping = true
	l.plan = nil
	l.deferred = nil
	sofo := l.cfg.strategy == SimpleOneForOne
	p := &plan{kind: planShutdown}
	for c := l.kids.tail; c != nil; {
		prev := c.prev
		c.deferred = false
		if c.x != nil {
			l.heap.Remove(&c.x.restart)
		}
		switch {
		case c.inc == nil:
			l.settle(c)
		case sofo:
			l.stop(c)
		default:
			p.stops = append(p.stops, member{c, c.gen})
		}
		c = prev
	}
	if len(p.stops) > 0 {
		l.plan = p
		l.step(p)
	}
}

// serve answers an API call.
func (l *loop) serve(r *request) {
	switch r.op {
	case opChildren:
		r.reply <- reply{infos: l.kids.infos(l.t0)}
	case opChild:
		r.reply <- l.t.childInfo(r.spec.Name)
	case opSnapshot:
		r.reply <- reply{snap: l.snapshot()}
	case opCount:
		r.reply <- reply{counts: l.kids.counts(l.live)}
	case opCheck:
		r.reply <- reply{err: l.check()}
	case opAdd:
		l.add(r)
	case opTerminate, opDelete:
		l.terminate(r)
	case opRestart:
		l.manualRestart(r)
	}
}

func (l *loop) add(r *request) {
	if l.stopping {
		r.reply <- l.t.offline(opAdd, r.spec) // queued for the next Run, or refused
		return
	}
	c, err := l.t.insert(r.spec)
	if err != nil {
		r.reply <- reply{err: err}
		return
	}
	l.start(c, byAdd, false)
	if c.inc.started() {
		r.reply <- reply{name: c.spec.Name}
		return
	}
	c.inc.req = r // answered by notifyReady
}

// started reports whether inc has completed its start: it called Ready
// (WaitReady), or its goroutine has entered Run (when it announces that).
func (inc *incarnation) started() bool { return inc.ready && (!inc.announce || inc.entered) }

// whenStarted calls f once inc has started (nil), or has ended before (the
// error of its failed start).
func (l *loop) whenStarted(inc *incarnation, f func(error)) {
	if inc.started() {
		f(nil)
		return
	}
	inc.onReady(f)
}

// terminate serves Terminate and Delete.
func (l *loop) terminate(r *request) {
	c := l.kids.get(r.spec.Name)
	if c == nil {
		r.reply <- reply{err: l.t.unknown(r.spec.Name)}
		return
	}
	c.gen++
	if r.op == opDelete {
		c.removing = true
	}
	c.deferred = false
	if c.x != nil {
		l.heap.Remove(&c.x.restart)
	}
	inc := c.inc
	if inc == nil {
		l.settle(c)
		r.reply <- reply{}
		return
	}
	if c.spec.Restart == Temporary || l.cfg.strategy == SimpleOneForOne {
		c.removing = true
	}
	l.stop(c)
	if inc.req == nil {
		inc.req = r // answered by notifyStopped
		return
	}
	inc.onStop(func(abandoned bool) {
		if abandoned {
			r.reply <- reply{err: c.err}
		} else {
			r.reply <- reply{}
		}
	})
}

// manualRestart serves Restart: stop the child if it runs, then start it.
func (l *loop) manualRestart(r *request) {
	c := l.kids.get(r.spec.Name)
	switch {
	case c == nil || c.removing:
		r.reply <- reply{err: l.t.unknown(r.spec.Name)}
		return
	case l.stopping:
		r.reply <- reply{err: childErr(l.cfg.name, c.spec.Name, ErrNotRunning, "the tree is shutting down")}
		return
	}
	gen := c.gen
	c.deferred = false
	if c.x != nil {
		l.heap.Remove(&c.x.restart)
	}
	if inc := c.inc; inc != nil {
		l.stop(c)
		inc.onStop(func(bool) { l.manualStart(c, gen, r) })
		return
	}
	l.manualStart(c, gen, r)
}

func (l *loop) manualStart(c *child, gen uint32, r *request) {
	switch {
	case c.removed || c.removing:
		r.reply <- reply{err: l.t.unknown(c.spec.Name)}
		return
	case l.stopping:
		r.reply <- reply{err: childErr(l.cfg.name, c.spec.Name, ErrNotRunning, "the tree is shutting down")}
		return
	case c.gen != gen:
		r.reply <- reply{} // terminated meanwhile: it stays stopped
		return
	}
	if c.inc == nil {
		l.start(c, byManual, false)
	}
	l.whenStarted(c.inc, func(err error) { r.reply <- reply{err: err} })
}

// armWatchdog starts the watchdog of c's live incarnation, if it has one.
func (l *loop) armWatchdog(c *child) {
	if w := c.spec.Watchdog; w > 0 {
		c.inc.lastBeat.Store(int64(l.clock))
		l.schedule(&c.ext().watchdog, w)
	}
}

// checkWatchdog fails c if its last heartbeat is older than its Watchdog.
func (l *loop) checkWatchdog(c *child, now time.Duration) {
	inc := c.inc
	if inc == nil || !inc.ready || inc.stopping || inc.watchdog {
		return
	}
	w := c.spec.Watchdog
	if due := time.Duration(inc.lastBeat.Load()) + w; due > now {
		c.x.watchdog.At = due
		l.heap.Push(&c.x.watchdog)
		return
	}
	inc.watchdog = true
	l.emitChild(WatchdogTimeout, c, nil)
	inc.cancel()
	l.setState(c, Stopping)
	l.limit(inc)
}
