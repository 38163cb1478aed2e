// loop.go: the event loop of a running tree and its state machine. The
// loop owns every piece of tree state; whoever holds it (inbox.go: Run's
// goroutine, a caller, or a child serving its own restart) serves the inbox,
// fed by the children's reports, the API calls (one message type each), and
// time (one timer). handle has one clause per report, serve one per
// request, fire one per kind of deadline; enter is the only writer of a
// child's phase.

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// loop is the state of one Run.
type loop struct {
	t    *Tree
	cfg  *config
	kids *roster
	env  runEnv

	in     inbox         // children's reports, API calls, the timer and Run's cancellation
	holder               // who serves it (inbox.go)
	done   chan struct{} // closed once Run is over; callers then retry against the stopped tree
	dl     deadlines

	pol policy
	obs *observer

	plan     *plan    // the ordered work in progress, if any
	deferred []*child // failures waiting for the group restart in progress to end
	n        tally
	stopping bool // shutdown has begun
	end      ending
}

// policy is the state of the restart policies of a Run.
type policy struct {
	win window  // the restart intensity
	bo  backoff // the delays before automatic restarts
}

// runEnv is what a Run was given.
type runEnv struct {
	ctx     context.Context // Run's context
	base    context.Context // parent of the children's contexts: Run's values, not its cancellation
	labels  context.Context // the profiler labels of Run's context alone (profLabels)
	started func()          // Start's signal that the initial start completed; may be nil
}

// profLabels returns a context that holds the runtime/pprof labels of ctx
// and nothing else, for each child's goroutine to take as its own
// (incarnation.run): a goroutine inherits the labels of the goroutine that
// starts it, which may be any caller serving the loop, so the tree sets
// them from Run's context instead, the same for every child; one lookup in
// a context of one level per start.
func profLabels(ctx context.Context) context.Context {
	var kv []string
	pprof.ForLabels(ctx, func(k, v string) bool {
		kv = append(kv, k, v)
		return true
	})
	if len(kv) == 0 {
		return context.Background()
	}
	return pprof.WithLabels(context.Background(), pprof.Labels(kv...))
}

// tally counts what the loop must not rescan the children for.
type tally struct {
	live int // incarnations not yet returned nor abandoned
	sig  int // significant children not Stopped
}

// ending is what Run will return.
type ending struct {
	err       error    // why the tree gave up, failed to start, or was stopped by a child
	abandoned []string // children abandoned after their Shutdown
}

func newLoop(t *Tree, ctx context.Context, started func()) *loop {
	max := t.cfg.maxRestarts
	if t.cfg.unlimited {
		max = -1
	}
	l := &loop{
		t:      t,
		cfg:    &t.cfg,
		kids:   &t.kids,
		env:    runEnv{ctx: ctx, base: context.WithoutCancel(ctx), labels: profLabels(ctx), started: started},
		holder: holder{wake: make(chan struct{}, 1)},
		done:   make(chan struct{}),
		dl:     deadlines{t0: time.Now()},
		pol: policy{
			win: window{max: max, period: t.cfg.period},
			bo:  backoff{initial: t.cfg.backoffInit, max: t.cfg.backoffMax, jitter: t.cfg.jitter},
		},
		obs: newObserver(t, t.cfg.hooks, t.cfg.logger),
	}
	l.runFn = l.runNext
	l.busy.Store(true) // Run's goroutine holds it until the initial start is under way
	return l
}

// now is the loop's monotonic clock; safe from any goroutine.
func (l *loop) now() time.Duration { return l.dl.now() }

func (l *loop) run() error {
	// The loop was made held (newLoop): nothing is served before the
	// initial start.
	l.dl.timer = time.AfterFunc(time.Hour, func() { l.notify(&report{kind: repTimer}) })
	l.dl.timer.Stop()
	defer l.dl.timer.Stop()
	l.dl.tick()
	l.emit(Event{Kind: TreeStarted})
	l.startAll()

	cancelled := context.AfterFunc(l.env.ctx, func() { l.notify(&report{kind: repCancel}) })
	defer cancelled()
	for {
		for !l.finished() && l.in.pending() { // held: this goroutine serves without a bound
			l.pass()
		}
		l.dl.arm()
		if l.finished() {
			break
		}
		l.busy.Store(false)
		if l.in.pending() && l.busy.CompareAndSwap(false, true) {
			continue // pushed while held, by someone who then found the loop busy
		}
		for {
			<-l.wake // a poster handed over, or found the end
			if l.busy.CompareAndSwap(false, true) {
				break
			}
		}
	}
	// Held for good now. Calls that arrived since are answered from the
	// final state; later ones find the inbox closed and go to the stopped
	// tree.
	for r := l.in.close(); r != nil; {
		next := r.next.Load()
		if r.kind == repCall || r.kind == repAdd {
			l.handle(r) // answered, or dropped, as the tree has stopped
		}
		r = next
	}
	err := l.end.result(l.cfg.name)
	l.emit(Event{Kind: TreeStopped, Err: err})
	return err
}

// finished reports whether Run may return: shutdown has begun and no
// child runs nor waits to be started. The loop must be held.
func (l *loop) finished() bool { return l.stopping && l.plan == nil && l.n.live == 0 }

// pass serves one batch of the inbox: everything pushed so far, oldest
// first. The loop must be held.
func (l *loop) pass() {
	l.dl.tick()
	for r := l.in.take(); r != nil; {
		next := r.next.Load() // r may be reused by its caller once handled
		l.handle(r)
		r = next
	}
}

// result is Run's error.
func (e *ending) result(tree string) error {
	if len(e.abandoned) == 0 {
		return e.err
	}
	st := &ShutdownTimeoutError{Tree: tree, Children: e.abandoned}
	if e.err != nil {
		return errors.Join(e.err, st)
	}
	return st
}

// handle processes what the inbox brought: a call, the timer, Run's
// cancellation, or a child's report. Reports of an old incarnation
// (abandoned, or its child restarted or deleted) are dropped.
func (l *loop) handle(r *report) {
	switch r.kind {
	case repCall:
		l.serve(r.x)
		return
	case repAdd:
		l.addAsync(r.x.(*incarnation))
		return
	case repTimer:
		l.dl.armed = false
		l.fire()
		return
	case repCancel:
		l.shutdown()
		return
	}
	inc := r.x.(*incarnation)
	c := inc.c
	if c.inc != inc {
		return
	}
	switch r.kind {
	case repExit:
		l.exited(c, r.err, false)
	case repEntered:
		if c.phase == phStarting {
			l.enter(c, phRunning)
			inc.wake(l, false)
		}
	case repReady:
		if c.phase == phStarting {
			l.enter(c, phRunning)
			l.emitChild(ChildReady, c, nil)
			inc.wake(l, false)
		}
	}
}

// serve answers an API call.
func (l *loop) serve(m any) {
	switch m := m.(type) {
	case *addReq:
		l.add(m)
	case *stopReq:
		l.terminate(m)
	case *restartReq:
		l.manualRestart(m)
	case *listReq:
		m.reply <- l.kids.infos(l.dl.t0)
	case *childReq:
		m.reply <- l.t.childInfo(m.name)
	case *countReq:
		m.reply <- l.kids.counts(l.n.live)
	case *snapshotReq:
		m.reply <- l.snapshot()
	case interface{ onLoop(*loop) }: // requests the package's tests define
		m.onLoop(l)
	}
}

// fire runs every deadline that is due.
func (l *loop) fire() {
	for tm := l.dl.due(); tm != nil; tm = l.dl.due() {
		switch tt := tm.Value; tt.kind {
		case tRestart:
			if tt.c.phase == phBackoff && !l.stopping {
				l.restartNow(tt.c, tt.c.lastErr())
			}
		case tWatchdog:
			l.checkWatchdog(tt.c)
		case tPlanDelay:
			if l.plan == tt.p {
				l.advance(tt.p)
			}
		case tStopQueue:
			for inc := l.dl.expired(tt.q); inc != nil; inc = l.dl.expired(tt.q) {
				l.abandon(inc.c)
			}
		}
	}
}

// enter moves c to phase to, doing the bookkeeping of leaving its phase and
// entering the new one: the live count and incarnation, the significant
// count, the restart timer, the watchdog, the Shutdown limit, the roster.
func (l *loop) enter(c *child, to phase) {
	from := c.phase
	if from == to {
		return
	}
	if from == phBackoff {
		l.dl.heap.Remove(&c.x.restart)
	}
	if c.x != nil && from.live() && (to == phStopping || !to.live()) {
		l.dl.heap.Remove(&c.x.watchdog)
	}
	switch {
	case from.live() && !to.live():
		inc := c.inc
		c.inc = nil
		l.n.live--
		if from == phStopping || from == phFailing {
			l.dl.unlimit(inc)
		}
	case !from.live() && to.live():
		l.n.live++
	}
	switch to {
	case phStopping:
		if from != phFailing {
			l.spare(c.inc.cancel())
			l.dl.limit(c.inc)
		}
	case phFailing:
		l.spare(c.inc.cancel())
		l.dl.limit(c.inc)
	case phGone:
		l.kids.remove(c)
	}
	if w := c.watchdog(); w > 0 && (to == phRunning && c.waitReady || !from.live() && to.live() && !c.waitReady) {
		c.inc.sided().lastBeat.Store(int64(l.dl.clock))
		l.dl.schedule(&c.ext().watchdog, w)
	}
	if c.significant {
		was, is := from != phStopped && from != phGone, to != phStopped && to != phGone
		if was && !is {
			l.n.sig--
		} else if is && !was {
			l.n.sig++
		}
	}
	if from.state(c.waitReady) != to.state(c.waitReady) {
		c.since = l.dl.clock
	}
	c.phase = to
}

// start runs a new incarnation of c, which is not live. An ordered start
// (Run's, or a group restart's) has the child's goroutine announce when it
// is about to call Run, so that the next child starts only then.
func (l *loop) start(c *child, by startKind, ordered bool) {
	l.launch(&incarnation{c: c, l: l, by: by}, ordered)
}

// launch starts inc, a new incarnation of its child, which is not live.
func (l *loop) launch(inc *incarnation, ordered bool) {
	c := inc.c
	inc.announce = ordered && !c.waitReady
	c.inc = inc
	c.after = afterKeep
	c.started = l.dl.clock
	if l.pol.bo.initial > 0 {
		c.ext().startedAt = l.dl.clock
	}
	if inc.by == byAuto {
		c.ext().restarts++
	}
	if c.waitReady || inc.announce {
		l.enter(c, phStarting)
	} else {
		l.enter(c, phRunning)
	}
	l.emitChild(ChildStarted, c, nil)
	if l.from != nil && l.from.c == c {
		l.from, l.next = nil, inc // the goroutine of c's last incarnation, serving its exit, runs it next (its Done channel is made on first use)
		return
	}
	inc.done = l.newDone()
	l.spawn(inc)
}

// stop cancels c's live incarnation on purpose: its exit will be a shutdown.
func (l *loop) stop(c *child) { l.enter(c, phStopping) }

// exited handles the end of c's live incarnation: it returned err, or it
// was abandoned. A shutdown (the tree stopped it) goes where c.after says;
// anything else is the child's own exit. Then the incarnation's waiters
// learn of its end.
func (l *loop) exited(c *child, err error, abandoned bool) {
	inc := c.inc
	from := c.phase
	switch {
	case abandoned:
		inc.end = endAbandoned
	case from == phStopping:
		inc.end = endStopped
	default:
		inc.end = endExit
	}
	l.enter(c, phStopped)
	at := l.dl.clock
	if from == phStopping {
		if l.obs != nil {
			l.emit(Event{Kind: ChildExited, Child: c.name, Err: err, Restarts: c.restarts(), Shutdown: true})
		}
		l.afterStopped(c)
	} else {
		err = l.failed(c, inc, err, from)
	}
	// A child removed on its exit needs no record of it, save the error of
	// an abandoned one, with which Terminate and Delete answer.
	if c.phase != phGone {
		x := c.ext()
		x.err, x.exited = err, at
	} else if abandoned {
		c.ext().err = err
	}
	inc.wake(l, true)
}

// afterStopped moves a child the tree has stopped where c.after says.
func (l *loop) afterStopped(c *child) {
	switch {
	case c.after == afterRemove || l.stopping:
		l.settle(c)
	case c.after == afterRestart:
		l.start(c, byManual, false)
	case c.after == afterGroup && c.restart == Temporary:
		l.enter(c, phGone) // a Temporary bystander is not restarted
	case c.after == afterGroup:
		l.enter(c, phGrouped)
	}
}

// settle leaves a child that is not running as Stopped, or removes it when it
// is Temporary, belongs to a SimpleOneForOne tree, or is being deleted.
func (l *loop) settle(c *child) {
	if c.after == afterRemove || c.restart == Temporary || l.cfg.strategy == SimpleOneForOne {
		l.enter(c, phGone)
		return
	}
	l.enter(c, phStopped)
}

// failed handles a child's exit by itself (from is the phase it left):
// restart it, leave it, or stop the tree, as its restart type, its error
// and the tree's state decide. It returns the error recorded for the exit.
func (l *loop) failed(c *child, inc *incarnation, err error, from phase) error {
	if from == phFailing {
		if inc.end == endAbandoned || errors.Is(err, context.Canceled) {
			err = nil
		}
		err = &ChildError{Tree: l.cfg.name, Child: c.name, Kind: ErrWatchdogTimeout, Err: err,
			Detail: "no heartbeat within " + c.watchdog().String()}
	}
	if c.x != nil && l.pol.bo.resets(c.x.startedAt, l.dl.clock) {
		c.x.streak = 0
	}
	out := decide(c.restart, err)
	declined := out == outStay && err != nil && errors.Is(err, ErrDoNotRestart)
	beforeReady := from == phStarting && c.waitReady
	if beforeReady && !declined {
		err = &ChildError{Tree: l.cfg.name, Child: c.name, Kind: ErrStartFailed, Err: err}
		if inc.by != byAuto {
			l.startFailed(c, inc, err, out)
			return err
		}
		out = decide(c.restart, err) // a failed start is abnormal, whatever Run returned
	}
	switch {
	case l.stopping:
		l.emitExit(c, err, false)
		l.settle(c)
	case out == outStopTree:
		l.emitExit(c, err, false)
		l.settle(c)
		l.stopTree(err)
	case c.after == afterGroup && !declined:
		// A group restart was about to stop it: it restarts with the group.
		l.emitExit(c, err, c.restart != Temporary)
		l.afterStopped(c)
	case out == outStay:
		l.emitExit(c, err, false)
		l.settle(c)
		if !(declined && beforeReady) { // declining before Ready is OTP's ignore, not an exit
			l.autoShutdown(c)
		}
	default:
		l.emitExit(c, err, true)
		l.restart(c, inc, err)
	}
	return err
}

// startFailed handles a WaitReady child that returned before Ready when Run,
// Add or Restart started it: Run fails, Add drops the spec, Restart leaves
// it Stopped.
func (l *loop) startFailed(c *child, inc *incarnation, err error, out outcome) {
	c.ext().err = err // also when Add drops it: Add answers with it (startError)
	l.emitExit(c, err, false)
	switch {
	case inc.by == byAdd:
		l.enter(c, phGone)
	case inc.by == byManual:
		l.settle(c) // Stopped; a Temporary or SimpleOneForOne child is removed
	case inc.by == byInitial && out != outStopTree:
		if l.end.err == nil && !l.stopping {
			l.end.err = err
		}
		l.shutdown()
	}
	if out == outStopTree {
		l.stopTree(err)
	}
}

func (l *loop) emitExit(c *child, err error, willRestart bool) {
	if l.obs != nil {
		l.emit(Event{Kind: ChildExited, Child: c.name, Err: err, Restarts: c.restarts(), WillRestart: willRestart})
	}
}

// restart acts on a failure that calls for a restart of c (inc is the
// incarnation that failed, nil for a deferred failure). Under a group
// strategy, a failure during a group restart waits for it to end, unless it
// is the failure of the child that restart waits on, which supersedes it.
func (l *loop) restart(c *child, inc *incarnation, err error) {
	group := l.cfg.strategy.group()
	if p := l.plan; group && p != nil {
		if inc == nil || p.wait != inc || p.kind == planInitial {
			l.enter(c, phDeferred)
			l.deferred = append(l.deferred, c)
			return
		}
		l.drop(p) // the new group restart covers what the old one had left
	}
	var delay time.Duration
	if l.pol.bo.initial > 0 {
		x := c.ext()
		x.streak++
		delay = l.pol.bo.delay(x.streak)
	}
	if l.obs != nil {
		l.emit(Event{Kind: RestartScheduled, Child: c.name, Restarts: c.restarts(), Delay: delay})
	}
	switch {
	case group:
		l.groupRestart(c, err, delay)
	case delay > 0:
		l.enter(c, phBackoff)
		l.dl.schedule(&c.x.restart, delay)
	default:
		l.restartNow(c, err)
	}
}

// restartNow records an automatic restart of c and performs it, or gives up.
func (l *loop) restartNow(c *child, err error) {
	l.enter(c, phStopped)
	if !l.pol.win.record(l.dl.clock) {
		l.giveUp(c, err)
		return
	}
	l.start(c, byAuto, false)
}

// autoShutdown stops the tree when a significant child's exit calls for it.
func (l *loop) autoShutdown(c *child) {
	if c.significant && !l.stopping && l.cfg.autoShutdown.stops(l.n.sig) {
		l.shutdown()
	}
}

// giveUp stops the tree because the restart intensity was exceeded.
func (l *loop) giveUp(c *child, err error) {
	if l.end.err == nil {
		l.end.err = &ChildError{Tree: l.cfg.name, Child: c.name, Kind: ErrTooManyRestarts, Err: err,
			Detail: fmt.Sprintf("more than %d in %v", l.cfg.maxRestarts, l.cfg.period)}
	}
	if l.obs != nil {
		l.emit(Event{Kind: GaveUp, Child: c.name, Err: l.end.err, Restarts: c.restarts()})
	}
	l.shutdown()
}

// stopTree stops the tree because a child returned ErrStopTree.
func (l *loop) stopTree(err error) {
	if l.end.err == nil {
		l.end.err = err
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
	if p := l.plan; p != nil {
		l.drop(p)
	}
	l.deferred = nil
	sofo := l.cfg.strategy == SimpleOneForOne
	if sofo {
		l.dl.expect = l.n.live
		defer func() { l.dl.expect = 0 }()
	}
	p := &plan{kind: planShutdown}
	for c := l.kids.tail; c != nil; {
		prev := c.prev
		switch {
		case !c.phase.live():
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
		l.advance(p)
	}
}

// abandon gives up waiting for a stopping child that overran its Shutdown.
func (l *loop) abandon(c *child) {
	l.end.abandoned = append(l.end.abandoned, c.name)
	l.emitChild(ShutdownTimeout, c, nil)
	l.exited(c, &ChildError{Tree: l.cfg.name, Child: c.name, Kind: ErrShutdownTimeout,
		Detail: "did not return within " + c.shutdown().String()}, true)
}

// checkWatchdog fails c if its last heartbeat is older than its Watchdog.
func (l *loop) checkWatchdog(c *child) {
	if c.phase != phRunning && (c.phase != phStarting || c.waitReady) {
		return
	}
	if due := after(c.inc.lastBeat(), c.watchdog()); due > l.dl.clock {
		c.x.watchdog.At = due
		l.dl.heap.Push(&c.x.watchdog)
		return
	}
	l.emitChild(WatchdogTimeout, c, nil)
	l.enter(c, phFailing)
}

// add serves Add.
func (l *loop) add(m *addReq) {
	if l.stopping {
		m.reply <- addReply{err: childErr(l.cfg.name, m.spec.Name, ErrNotRunning, "the tree is shutting down")}
		return
	}
	c, err := l.t.insert(m.spec, nil)
	if err != nil {
		m.reply <- addReply{err: err}
		return
	}
	l.start(c, byAdd, false)
	if c.phase == phStarting {
		c.inc.wait(m.ref(m), false)
		return
	}
	m.reply <- addReply{name: c.name}
}

// addAsync serves AddAsync: the caller made the child and its first
// incarnation, under a name unique by construction (claimName); it starts
// at once, unless the tree is shutting down.
func (l *loop) addAsync(inc *incarnation) {
	l.t.pending.Add(-1)
	if l.stopping {
		return
	}
	l.kids.pushBack(inc.c)
	l.launch(inc, false)
}

// woke answers Add once the child has started, or has ended before that:
// the spec is then dropped, unless the child declined to run
// (ErrDoNotRestart) or a Restart started it again.
func (m *addReq) woke(l *loop, inc *incarnation, ended bool) {
	c := inc.c
	switch {
	case !ended || c.phase == phRunning:
		m.reply <- addReply{name: c.name}
	case c.phase == phStarting:
		c.inc.wait(m.ref(m), false) // restarted meanwhile: wait for the new start
	default:
		err := inc.startError()
		if err != nil && c.phase != phGone {
			l.enter(c, phGone)
		}
		if err != nil {
			m.reply <- addReply{err: err}
		} else {
			m.reply <- addReply{name: c.name} // it declined to run: kept, Stopped
		}
	}
}

// startError is why inc, which ended before its start completed, never
// started: nil when the child declined to run (ErrDoNotRestart, OTP's
// ignore), which is not a failure.
func (inc *incarnation) startError() error {
	c := inc.c
	switch {
	case inc.end == endExit && errors.Is(c.lastErr(), ErrStartFailed):
		return c.lastErr()
	case inc.end == endExit && errors.Is(inc.exit.err, ErrDoNotRestart): // what Run returned; a child that declined may be removed, with its record of the exit
		return nil
	}
	return childErr(inc.l.cfg.name, c.name, ErrStartFailed, "stopped before it was ready")
}

// terminate serves Terminate and Delete.
func (l *loop) terminate(m *stopReq) {
	c := l.kids.get(m.name)
	if c == nil {
		m.reply <- l.t.unknown(m.name)
		return
	}
	c.gen++
	l.cutAt(c)
	if m.del || c.restart == Temporary || l.cfg.strategy == SimpleOneForOne {
		c.after = afterRemove
	} else if c.after != afterRemove {
		c.after = afterKeep
	}
	if !c.phase.live() {
		l.settle(c)
		m.reply <- nil
		return
	}
	inc := c.inc
	l.stop(c)
	inc.wait(m.ref(m), true)
}

// woke answers Terminate or Delete once the child has stopped.
func (m *stopReq) woke(l *loop, inc *incarnation, ended bool) {
	if inc.end == endAbandoned {
		m.reply <- inc.c.lastErr()
		return
	}
	m.reply <- nil
}

// manualRestart serves Restart: stop the child if it runs, then start it.
func (l *loop) manualRestart(m *restartReq) {
	c := l.kids.get(m.name)
	switch {
	case c == nil || c.after == afterRemove:
		m.reply <- l.t.unknown(m.name)
		return
	case l.stopping:
		m.reply <- childErr(l.cfg.name, c.name, ErrNotRunning, "the tree is shutting down")
		return
	case c.phase.live():
		c.after = afterRestart
		inc := c.inc
		l.stop(c)
		inc.wait(m.ref(m), true)
		return
	}
	l.enter(c, phStopped) // a pending automatic restart is now this one
	l.start(c, byManual, false)
	m.await(l, c)
}

// await answers Restart once c's new incarnation has started.
func (m *restartReq) await(l *loop, c *child) {
	if c.phase == phStarting {
		m.starting = true
		c.inc.wait(m.ref(m), false)
		return
	}
	m.reply <- nil
}

// woke continues Restart: the old incarnation has ended (start the new
// one, unless something else decided meanwhile), or the new one has started
// or ended before that.
func (m *restartReq) woke(l *loop, inc *incarnation, ended bool) {
	c := inc.c
	switch {
	case !ended:
		m.reply <- nil
	case c.phase.live():
		m.await(l, c) // started again, as asked
	case m.starting:
		m.reply <- inc.startError()
	case c.phase == phGone:
		m.reply <- l.t.unknown(c.name)
	case l.stopping:
		m.reply <- childErr(l.cfg.name, c.name, ErrNotRunning, "the tree is shutting down")
	default:
		m.reply <- nil // terminated meanwhile: it stays stopped
	}
}

// report is one entry of the loop's inbox: what a child's goroutine tells
// the loop, an API call, the timer firing, or Run's cancellation.
type report struct {
	kind repKind
	err  error                  // repExit
	x    any                    // child reports and repAdd: the *incarnation; repCall: the request
	next atomic.Pointer[report] // in the inbox, or on the starts stack (spawn)
}

type repKind uint8

const (
	repExit    repKind = iota // Run returned
	repReady                  // the child called Ready
	repEntered                // the child's goroutine is about to call Run (ordered starts only)
	repCall                   // an API call
	repAdd                    // AddAsync: a child and its first incarnation, made by the caller
	repTimer                  // the deadline timer fired
	repCancel                 // Run's context was cancelled
)

// endKind is how an incarnation ended, for its waiters.
type endKind uint8

const (
	endNone      endKind = iota // it has not ended
	endExit                     // it returned by itself
	endStopped                  // it returned after the tree stopped it
	endAbandoned                // it overran its Shutdown and was abandoned
)

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
		l.emit(Event{Kind: k, Child: c.name, Err: err, Restarts: c.restarts()})
	}
}
