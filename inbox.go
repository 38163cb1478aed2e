// inbox.go: how everything reaches the loop and who serves it. The inbox
// is a lock-free stack; the loop is a role held through one atomic flag by
// one goroutine at a time: a caller serves its own call when the loop is
// idle (post, combine), a caller waiting for its answer offers to serve the
// next report (await), a child whose exit the tree will answer with a
// restart serves that exit and runs the restart on its own goroutine
// (serveExit), and the other reports, the timer and Run's cancellation wake
// such a caller or Run's goroutine (notify, poke). New incarnations reach
// their goroutines the same way, on a second lock-free stack (spawn).

package supervisor

import (
	"errors"
	"sync/atomic"
)

// holder is who serves the loop. busy is the role itself; the other fields
// say who may be asked to take it, and what the holder takes with it.
type holder struct {
	busy   atomic.Bool            // the loop is held: one goroutine serves the inbox and owns the state
	helper atomic.Pointer[helper] // a caller waiting for its answer that offers to serve the next report
	wake   chan struct{}          // capacity 1: Run's goroutine is asked to serve the inbox or end

	// Written by the holder only.
	from      *incarnation    // the ended incarnation whose goroutine holds the loop (serveExit)
	next      *incarnation    // a new incarnation of from's child, handed to that goroutine (launch)
	spareDone []chan struct{} // Done channels no one was given, for the next starts (newDone)

	// New incarnations waiting for their goroutine (launch, runNext): a
	// lock-free stack linked through their exit entries, which are free
	// until the child exits. Each goroutine started with runFn takes one.
	starts atomic.Pointer[report]
	runFn  func() // loop.runNext, bound once: a go statement calling it allocates nothing
}

// spawn runs inc on a new goroutine. inc waits on the starts stack, and
// the goroutine is started with runFn, which takes no argument, rather than
// with a closure over inc: that would allocate 16 bytes per start.
// Goroutines take incarnations in whatever order they find them; each
// takes exactly one, and there is always one for it, since every push
// precedes the go statement of its goroutine.
func (l *loop) spawn(inc *incarnation) {
	r := &inc.exit
	r.x = inc
	for {
		top := l.starts.Load()
		r.next.Store(top)
		if l.starts.CompareAndSwap(top, r) {
			break
		}
	}
	go l.runFn()
}

// takeStart takes one incarnation off the starts stack, for the goroutine
// spawn started (runNext). (No ABA: an entry is pushed once per
// incarnation, so a top that was popped never comes back.)
func (l *loop) takeStart() *incarnation {
	for {
		top := l.starts.Load()
		if l.starts.CompareAndSwap(top, top.next.Load()) {
			return top.x.(*incarnation)
		}
	}
}

// post pushes r onto the inbox and serves the inbox on the calling
// goroutine if no one else is serving it (flat combining): a caller that
// finds the loop idle does its O(1) bookkeeping itself instead of handing it
// to Run's goroutine and waiting for that one to be scheduled. It reports
// whether the inbox was still open.
func (l *loop) post(r *report) bool {
	if !l.in.push(r) {
		return false
	}
	l.combine(nil)
	return true
}

// serveExit delivers the exit of inc, which returned by itself and whose
// child the tree will most likely restart at once, and serves the inbox on
// inc's goroutine if no one else is serving it. A new incarnation of the
// child started meanwhile is handed to this goroutine, which runs it next
// (returned here) instead of ending and leaving a new goroutine to be made.
func (l *loop) serveExit(inc *incarnation) (next *incarnation) {
	if !l.in.push(&inc.exit) {
		return nil // the tree has stopped: into the void
	}
	return l.combine(inc)
}

// combine serves the inbox until it is empty, unless someone else holds the
// loop: whoever holds it serves everything pushed before it lets go (it
// looks at the inbox again after letting go), so an entry is never left
// behind. It serves at most maxPasses batches; then, or when it finds the
// tree's end, it wakes Run's goroutine to take over. from is the ended
// incarnation whose goroutine serves (serveExit), nil for a caller; combine
// returns the new incarnation of its child handed to that goroutine, if one
// was started meanwhile.
func (l *loop) combine(from *incarnation) (next *incarnation) {
	for pass := 0; l.in.pending(); pass++ {
		if pass == maxPasses {
			l.poke() // a steady stream: Run's goroutine serves it
			return next
		}
		if !l.busy.CompareAndSwap(false, true) {
			return next // the holder sees the inbox after letting go
		}
		end := l.finished() // Run's goroutine answers what is left
		if !end {
			if next == nil {
				l.from = from // one hand-off per goroutine
			}
			l.pass()
			if l.next != nil {
				next, l.next = l.next, nil
			}
			l.from = nil
			l.dl.arm()
			end = l.finished()
		}
		l.busy.Store(false)
		if end {
			l.poke()
			return next
		}
	}
	return next
}

// maxPasses bounds the batches a poster serves before it hands the inbox to
// Run's goroutine, so that no caller serves others for long.
const maxPasses = 4

// poke wakes Run's goroutine.
func (l *loop) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// send delivers a child's report of kind k to the loop; it never blocks.
func (l *loop) send(k repKind, inc *incarnation) { l.notify(&report{kind: k, x: inc}) }

// notify pushes r onto the inbox for someone else to serve: a caller
// parked waiting for its answer (await), which will most likely find that
// answer in what it serves, or else Run's goroutine. Whoever pushed onto an
// empty inbox does the waking; the entries that follow are served with the
// first. Children (but for an exit the tree answers with a restart:
// serveExit), the timer and Run's cancellation report this way rather than
// by post: their goroutines start with small stacks, which serving the
// inbox would make grow and copy, at more cost than the wake-up; a child
// that serves its own restart pays that once for all its incarnations.
func (l *loop) notify(r *report) bool {
	pushed, empty := l.in.first(r)
	if !empty {
		return pushed
	}
	if h := l.helper.Swap(nil); h != nil {
		h.nudge()
		return true
	}
	l.poke()
	return true
}

// await waits for a caller's answer on reply. A caller given a helper (see
// notify) offers itself, while it waits, as the one to serve the next
// report, so that a call answered when a child reports (a Delete waiting
// for the exit, an Add for Ready) is answered without Run's goroutine: the
// report wakes the caller with serve, a token on its own reply channel,
// and the caller serves the inbox, where it most likely finds its answer.
// The reply channel has room for the answer and one token, and no token
// outlives the call: a caller that was picked but got its answer first
// serves, then takes the token that is on its way, before it leaves.
func await[R comparable](l *loop, reply chan R, h *helper, serve R) R {
	if h == nil {
		return <-reply
	}
	offered := l.helper.CompareAndSwap(nil, h)
	for {
		v := <-reply
		if v == serve { // picked: no longer offered
			l.combine(nil)
			offered = l.helper.CompareAndSwap(nil, h)
			continue
		}
		if offered && !l.helper.CompareAndSwap(h, nil) {
			l.combine(nil)
			<-reply // the token of the report that picked it
		}
		return v
	}
}

// helper is a caller offering to serve while it waits (await): nudge puts
// the serve token on its reply channel.
type helper struct{ nudge func() }

// errServe is the serve token of a caller whose answer is an error; it never
// leaves await.
var errServe = errors.New("supervisor: serve the inbox")

// inbox carries everything to the loop: a lock-free stack that a producer
// (a child, a caller, the timer) pushes onto with one CAS and whoever holds
// the loop takes whole (post). A burst (a pool of children stopping at
// once, callers arriving while the loop is busy) is thus served in one pass.
// A push never blocks; once the loop has closed the inbox, a push fails, so
// a child abandoned by a tree that has since stopped reports into the void,
// and a caller goes to the stopped tree instead.
type inbox struct {
	top atomic.Pointer[report]
}

// closedInbox is the top of a closed inbox.
var closedInbox = &report{}

// push adds r and reports whether the inbox was still open.
func (q *inbox) push(r *report) bool {
	pushed, _ := q.first(r)
	return pushed
}

// first adds r and reports whether the inbox was still open, and whether it
// was empty (then the pusher sees to it that someone serves it: notify).
func (q *inbox) first(r *report) (pushed, empty bool) {
	for {
		old := q.top.Load()
		if old == closedInbox {
			return false, false
		}
		r.next.Store(old)
		if q.top.CompareAndSwap(old, r) {
			return true, old == nil
		}
	}
}

// pending reports whether something waits in the open inbox.
func (q *inbox) pending() bool {
	top := q.top.Load()
	return top != nil && top != closedInbox
}

// close closes the inbox and returns what was still in it, oldest first.
func (q *inbox) close() *report { return reverse(q.top.Swap(closedInbox)) }

// take returns everything pushed so far, oldest first.
func (q *inbox) take() *report { return reverse(q.top.Swap(nil)) }

// reverse turns the stack into a list, oldest first.
func reverse(r *report) *report {
	var list *report
	for r != nil && r != closedInbox {
		next := r.next.Load()
		r.next.Store(list)
		list = r
		r = next
	}
	return list
}
