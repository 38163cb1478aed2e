// incarnation.go: one run of a child. An incarnation is made by each start
// and is the context.Context the child's Run receives, so that Ready,
// Heartbeat and ReportPID find their way back to the tree. Its goroutine
// runs the child and reports to the loop; the loop keeps on it the waiters
// of its start and of its end.

package supervisor

import (
	"context"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"time"
)

// Ready tells the tree that the calling child has finished starting. ctx is
// the context the child's Run received. No-op outside a tree (including a
// nil ctx), for a child without WaitReady, or when called twice.
func Ready(ctx context.Context) {
	inc := incOf(ctx)
	if inc == nil || !inc.c.waitReady || inc.flags.Or(fReady)&fReady != 0 {
		return
	}
	inc.l.send(repReady, inc)
}

// Heartbeat tells the tree that the calling child is alive (see
// Spec.Watchdog). It costs an atomic load and store. No-op outside a tree
// (including a nil ctx) and for a child without a Watchdog.
func Heartbeat(ctx context.Context) {
	if inc := incOf(ctx); inc != nil {
		if s := inc.side.Load(); s != nil { // a watched incarnation has one from its start (Ready with WaitReady)
			s.lastBeat.Store(int64(inc.l.now()))
		}
	}
}

// ReportPID tells the tree which OS process the calling child runs, for
// snapshots and ChildInfo; ctx is the context the child's Run received. Call
// it after each process start (package proc does). No-op outside a tree.
func ReportPID(ctx context.Context, pid int) {
	if inc := incOf(ctx); inc != nil {
		inc.sided().pid.Store(int64(pid))
	}
}

// ReportDetail gives the tree a function that describes what the calling
// child runs, for snapshots: Snapshot calls it, off the tree's loop, and
// puts what it returns in ChildSnapshot.Detail (a process pool publishes its
// scoreboard this way). It must be quick, must not block, and should return
// a JSON-encodable value; a panic in it is recovered and reported as the
// detail. ctx is the context the child's Run received. No-op outside a tree.
func ReportDetail(ctx context.Context, f func() any) {
	if inc := incOf(ctx); inc != nil && f != nil {
		inc.sided().detail.Store(&f)
	}
}

// incOf returns the incarnation a child's context carries, or nil.
func incOf(ctx context.Context) *incarnation {
	if ctx == nil {
		return nil
	}
	inc, _ := ctx.Value(incKey{}).(*incarnation)
	return inc
}

// incKey is the context key under which an incarnation finds itself.
type incKey struct{}

// startKind says which part of the tree started an incarnation, which
// decides the fate of a failed start.
type startKind uint8

const (
	byInitial startKind = iota // Run's initial start: a start failure fails Run
	byAdd                      // Add: a start failure fails Add, the spec is dropped
	byManual                   // Restart: a start failure fails Restart, the child stays Stopped
	byAuto                     // an automatic restart: a start failure is another failure
)

// incarnation is one run of a child and the context its Run receives. Exits
// and Ready calls carry the incarnation, so the loop recognises and drops
// reports from an old incarnation of a child that was abandoned, restarted,
// or deleted and re-added under the same name.
//
// As a context.Context it is cancelled by the tree, or once Run has
// returned (so that what the child started with it stops), and carries the
// values of Run's context. It implements cancellation itself, which saves
// the allocations of context.WithCancel on every start, and offers AfterFunc
// so that contexts derived from it learn of its cancellation without a
// goroutine each.
type incarnation struct {
	c *child
	l *loop

	// Set before the goroutine starts, then owned by the loop.
	by       startKind // who started it
	announce bool      // report repEntered before calling Run (ordered starts)
	end      endKind   // how it ended, once it has
	waitEnd  bool      // waiter waits only for the end

	flags atomic.Uint32 // fReady, fCancelled, fDone, fLocked (next to the bytes above: no padding)

	waiter *waiter // the first waiter on its start or end (see waitRef); the others are in side

	done chan struct{}           // the Done channel: given by launch (newDone) for a new goroutine, else made on first use; read freely once fDone is set
	side atomic.Pointer[incSide] // what few incarnations need, made on first use

	exit report // its inbox entry: the exit report (AddAsync: first the request that adds it; then its entry on the starts stack, see spawn)
}

// Bits of incarnation.flags. fCancelled and fDone are set under the lock
// (fLocked), fDone only after done is written, so that a reader that sees
// fDone may read done without the lock. Until fDone is set, no one has been
// given done: cancel may then give it back (newDone).
const (
	fReady     = 1 << iota // Ready was called (set by the child)
	fCancelled             // the context is cancelled
	fDone                  // done is set for good: handed out by Done, or closed
	fLocked                // the lock is held (lock, unlock)
)

// lock takes the incarnation's lock, a bit of its flags: it guards done,
// the cancellation and the AfterFunc registrations. It is held only for a
// few instructions, and contended only when the tree cancels a child while
// the child asks for Done or registers an AfterFunc, so a waiter yields
// rather than sleeps. (A sync.Mutex would cost 8 bytes in every
// incarnation: 104 instead of 96, which Go rounds up to 112.)
func (inc *incarnation) lock() {
	for {
		if f := inc.flags.Load(); f&fLocked == 0 && inc.flags.CompareAndSwap(f, f|fLocked) {
			return
		}
		runtime.Gosched()
	}
}

// unlock lets go of the lock taken by lock.
func (inc *incarnation) unlock() { inc.flags.And(^uint32(fLocked)) }

// incSide holds what few incarnations need: waiters beyond the first
// (loop-owned), the AfterFunc registrations of contexts derived from the
// incarnation (guarded by its lock), what ReportPID and ReportDetail set, and
// the last heartbeat of a child with a Watchdog.
type incSide struct {
	lastBeat atomic.Int64 // loop clock at the last Heartbeat; set by the loop when the watchdog starts
	waiters  []waiting
	afters   map[*afterFunc]struct{}
	pid      atomic.Int64
	detail   atomic.Pointer[func() any]
}

// lastBeat is the loop clock at the last Heartbeat of a watched
// incarnation (one whose watchdog runs).
func (inc *incarnation) lastBeat() time.Duration {
	return time.Duration(inc.side.Load().lastBeat.Load())
}

// pidOf is what the child reported with ReportPID; 0 if nothing.
func (inc *incarnation) pidOf() int {
	if s := inc.side.Load(); s != nil {
		return int(s.pid.Load())
	}
	return 0
}

// detailFunc is what the child reported with ReportDetail; nil if nothing.
func (inc *incarnation) detailFunc() *func() any {
	if s := inc.side.Load(); s != nil {
		return s.detail.Load()
	}
	return nil
}

// sided returns the side struct, making it if needed; safe from any goroutine.
func (inc *incarnation) sided() *incSide {
	if s := inc.side.Load(); s != nil {
		return s
	}
	inc.side.CompareAndSwap(nil, &incSide{})
	return inc.side.Load()
}

// waiter is anything that waits on an incarnation: an API call or a plan.
// woke is called on the loop when the incarnation has started (ended false)
// or has ended (ended true; for a start waiter, an end before the start).
type waiter interface {
	woke(l *loop, inc *incarnation, ended bool)
}

// waitRef is embedded in every waiter: it holds the waiter as an interface
// value that an incarnation can point at, so that the incarnation's first
// waiter costs it 8 bytes instead of 16.
type waitRef struct{ me waiter }

// ref returns w, which embeds r, as the pointer an incarnation keeps.
func (r *waitRef) ref(w waiter) *waiter {
	r.me = w
	return &r.me
}

// waiting is a waiter on an incarnation, and what it waits for.
type waiting struct {
	w   *waiter
	end bool // only the end; otherwise the start (or an end before it)
}

// wait registers w (from waitRef.ref) on inc.
func (inc *incarnation) wait(w *waiter, end bool) {
	if inc.waiter == nil {
		inc.waiter, inc.waitEnd = w, end
		return
	}
	s := inc.sided()
	s.waiters = append(s.waiters, waiting{w: w, end: end})
}

// wake calls the waiters that an event concerns: start waiters when inc has
// started, every waiter when it has ended. Waiters may register new ones.
func (inc *incarnation) wake(l *loop, ended bool) {
	first := waiting{w: inc.waiter, end: inc.waitEnd}
	inc.waiter = nil
	var rest []waiting
	if s := inc.side.Load(); s != nil {
		rest, s.waiters = s.waiters, nil
	}
	if first.w != nil {
		inc.call(l, first, ended)
	}
	for _, w := range rest {
		inc.call(l, w, ended)
	}
}

// call wakes one waiter if the event concerns it, or keeps it waiting.
func (inc *incarnation) call(l *loop, w waiting, ended bool) {
	if ended || !w.end {
		(*w.w).woke(l, inc, ended)
	} else {
		inc.wait(w.w, w.end)
	}
}

// runNext is the body of every child's goroutine (spawn): it takes an
// incarnation off the starts stack and runs the child's Run, then reports
// the exit to the loop. The goroutine carries the profiler labels of Run's
// context. Once Run has returned, its context is cancelled, so that what
// the child started with it stops too (as net/http cancels a request's
// context when its handler returns). When the tree restarts the child at
// once, the goroutine runs the new incarnation too (serveExit), so that a
// restart makes no goroutine.
//
// All of it is one frame under the child's Run: the collector walks the
// stack of every parked child at every cycle, and each frame between the
// goroutine's start and Run adds to that walk (BENCHMARKS.md, issue 13,
// tenth pass). A Run that panics or calls runtime.Goexit does not come back
// to the loop below: the deferred call reports its exit (a panic as
// *PanicError, unless the tree passes panics through) and the goroutine
// ends; a restart makes a new one. (A panic the tree passes through is
// reported as a Goexit, just before it crashes the program: the deferred
// call cannot tell the two apart without recovering the panic.)
func (l *loop) runNext() {
	inc := l.takeStart()
	inRun := false
	defer func() {
		if !inRun {
			return
		}
		err := error(&ChildError{Tree: inc.l.cfg.name, Child: inc.c.name, Kind: errGoexit})
		if !inc.l.cfg.passPanics {
			if v := recover(); v != nil {
				err = newPanicError(inc.l.cfg.name, inc.c.name, v)
			}
		}
		inc.setExit(err)
		inc.cancel()
		inc.l.notify(&inc.exit)
	}()
	for inc != nil {
		pprof.SetGoroutineLabels(inc.l.env.labels) // Run's, not those of whoever started it
		if inc.announce {
			inc.l.send(repEntered, inc)
		}
		inRun = true
		err := inc.c.run(inc)
		inRun = false
		inc.setExit(err)                 // its own inbox entry: no allocation per exit
		again := inc.restartsAtOnce(err) // before the cancellation below
		inc.cancel()
		if !again {
			inc.l.notify(&inc.exit)
			return
		}
		inc = inc.l.serveExit(inc)
	}
}

// setExit makes inc's exit entry the report that Run ended with err. It
// writes the fields one by one: the link is left to the push, since a
// goroutine that lost the race for inc on the starts stack may still read
// it (spawn).
func (inc *incarnation) setExit(err error) {
	inc.exit.kind, inc.exit.x, inc.exit.err = repExit, inc, err
}

// restartsAtOnce reports whether the tree will most likely answer this
// exit of inc (Run returned err by itself) with an immediate restart of the
// child, without a group restart or a backoff delay: the child's goroutine
// then serves its own exit (serveExit). It reads only what does not change
// while the tree runs, and the cancellation flag: an exit after the tree
// cancelled the child is a shutdown.
func (inc *incarnation) restartsAtOnce(err error) bool {
	r, cfg := inc.c.restart, inc.l.cfg
	return (r == Permanent || r == Transient && err != nil) && cfg.backoffInit == 0 &&
		!cfg.strategy.group() && inc.flags.Load()&fCancelled == 0
}

type afterFunc struct{ f func() }

// closedChan is the Done channel of an incarnation cancelled before anyone
// asked for it.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// newDone returns a Done channel that no one holds, for an incarnation
// about to run on a new goroutine. The goroutine that starts the child
// takes it (launch), rather than leaving it to the child's first call to
// Done: a goroutine that has just started owes the collector for its first
// allocation during a collection, and pays with an assist of at least 64
// KiB of marking (the runtime's gcOverAssistWork) or waits for the
// collection's workers, where the goroutine that starts children makes
// many allocations on one such assist (BENCHMARKS.md, issue 13, tenth
// pass). An incarnation the loop cancels before its child asked for the
// channel gives it back (spare), so that a child deleted before it asks
// costs no channel. The spares are the Run's own, and the loop's alone: a
// channel made in a testing/synctest bubble must stay in it. (A restart on
// the child's own goroutine makes its channel on first use: that goroutine
// makes the incarnation itself anyway.)
func (l *loop) newDone() chan struct{} {
	if n := len(l.spareDone); n > 0 {
		ch := l.spareDone[n-1]
		l.spareDone[n-1] = nil
		l.spareDone = l.spareDone[:n-1]
		return ch
	}
	return make(chan struct{})
}

// spare keeps ch, a Done channel no one was given, for a later start, up to
// maxSpareDone of them: a mass stop would otherwise keep one per child
// until the Run ends.
func (l *loop) spare(ch chan struct{}) {
	if ch != nil && len(l.spareDone) < maxSpareDone {
		l.spareDone = append(l.spareDone, ch)
	}
}

// maxSpareDone bounds the spare Done channels a Run keeps.
const maxSpareDone = 16

// Deadline implements context.Context: a child's context has no deadline.
func (inc *incarnation) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context.
func (inc *incarnation) Done() <-chan struct{} {
	if inc.flags.Load()&fDone != 0 {
		return inc.done
	}
	inc.lock()
	defer inc.unlock()
	if inc.flags.Load()&fDone == 0 {
		if inc.done == nil { // not given one (newDone)
			inc.done = make(chan struct{})
		}
		inc.flags.Or(fDone)
	}
	return inc.done
}

// Err implements context.Context.
func (inc *incarnation) Err() error {
	if inc.flags.Load()&fCancelled != 0 {
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
	return inc.l.env.base.Value(key)
}

// String describes the context, as the context package's types do.
func (inc *incarnation) String() string {
	return "supervisor child context " + strconv.Quote(inc.c.name)
}

// AfterFunc arranges for f to run in its own goroutine once the context is
// cancelled; stop undoes that if f has not started. The context package uses
// it to propagate cancellation to derived contexts.
func (inc *incarnation) AfterFunc(f func()) (stop func() bool) {
	inc.lock()
	if inc.flags.Load()&fCancelled != 0 {
		inc.unlock()
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	s := inc.sided()
	if s.afters == nil {
		s.afters = make(map[*afterFunc]struct{})
	}
	s.afters[a] = struct{}{}
	inc.unlock()
	return func() bool {
		inc.lock()
		defer inc.unlock()
		if _, ok := s.afters[a]; ok {
			delete(s.afters, a)
			return true
		}
		return false
	}
}

// cancel cancels the context; later calls do nothing. It returns the
// incarnation's Done channel if no one was given it (see newDone), else nil.
func (inc *incarnation) cancel() (unused chan struct{}) {
	inc.lock()
	f := inc.flags.Load()
	if f&fCancelled != 0 {
		inc.unlock()
		return nil
	}
	// Err must report the cancellation to whoever sees Done closed.
	if f&fDone != 0 {
		inc.flags.Or(fCancelled)
		close(inc.done)
	} else {
		unused = inc.done
		inc.done = closedChan
		inc.flags.Or(fCancelled | fDone)
	}
	s := inc.side.Load()
	if s == nil || s.afters == nil {
		inc.unlock()
		return unused
	}
	afters := s.afters
	s.afters = nil
	inc.unlock()
	for a := range afters {
		go a.f()
	}
	return unused
}
