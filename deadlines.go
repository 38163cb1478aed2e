// deadlines.go: the loop's notion of time. Every pending deadline (backoff
// delays, watchdog checks, a group restart's delay, and the head of each
// queue of Shutdown limits) sits in one heap behind one time.Timer. The
// Shutdown limits of stopping children that share a Shutdown duration arrive
// in the order the children were stopped, so each such group is a FIFO whose
// head alone is in the heap. Deadline arithmetic saturates: a duration too
// large to add to the clock means "never".

package supervisor

import (
	"math"
	"time"

	"github.com/arbor-go/supervisor/internal/deadline"
)

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
	tRestart   timerKind = iota // a child's backoff delay is over
	tWatchdog                   // a child's heartbeat is due
	tPlanDelay                  // a group restart's backoff delay is over
	tStopQueue                  // the oldest Shutdown limit of a queue is due
)

// never is the deadline of a duration that does not fit on the clock.
const never = time.Duration(math.MaxInt64)

// after returns at+d, saturated at never.
func after(at, d time.Duration) time.Duration {
	if d > never-at {
		return never
	}
	return at + d
}

// deadlines is the loop's clock, heap and timer.
type deadlines struct {
	t0      time.Time     // origin of the clock
	clock   time.Duration // the clock, read once per pass of the loop
	heap    deadline.Heap[timerTarget]
	timer   *time.Timer
	timerAt time.Duration // when the timer fires, if armed
	armed   bool
	stopQs  map[time.Duration]*stopQueue
	spare   *stopQueue // an emptied queue kept for reuse
	expect  int        // while a SimpleOneForOne tree stops all its children: how many, to size a new queue once
}

// now reads the clock; safe from any goroutine.
func (d *deadlines) now() time.Duration { return time.Since(d.t0) }

// tick reads the clock for this pass of the loop.
func (d *deadlines) tick() { d.clock = d.now() }

// arm makes the timer fire (into the inbox) no later than the earliest
// deadline. A timer that would fire early (its deadline was removed) is
// left alone: firing finds nothing due, which costs less than resetting the
// timer on every removal.
func (d *deadlines) arm() {
	if e := d.heap.Peek(); e != nil && e.At != never && (!d.armed || e.At < d.timerAt) {
		d.timer.Reset(e.At - d.clock)
		d.timerAt, d.armed = e.At, true
	}
}

// schedule queues tm at now+dur.
func (d *deadlines) schedule(tm *timer, dur time.Duration) {
	tm.At = after(d.clock, dur)
	d.heap.Push(tm)
}

// due pops the next deadline that has passed, or returns nil.
func (d *deadlines) due() *timer {
	if e := d.heap.Peek(); e != nil && e.At <= d.clock {
		return d.heap.Pop()
	}
	return nil
}

// stopQueue holds the Shutdown limits of the stopping incarnations whose
// children share one Shutdown duration, oldest first. Entries of
// incarnations that ended are dropped when they reach the head; an empty
// queue is deleted, so distinct durations cost nothing once their children
// are gone.
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

// limit starts the Shutdown limit of an incarnation just cancelled.
func (d *deadlines) limit(inc *incarnation) {
	dur := inc.c.shutdown()
	at := after(d.clock, dur)
	if dur == Infinity || at == never {
		return
	}
	q := d.stopQs[dur]
	if q == nil {
		if d.stopQs == nil {
			d.stopQs = make(map[time.Duration]*stopQueue)
		}
		if q = d.spare; q != nil {
			d.spare = nil
		} else {
			q = &stopQueue{}
			q.timer.Value = timerTarget{kind: tStopQueue, q: q}
		}
		q.d = dur
		d.stopQs[dur] = q
		if d.expect > cap(q.items) {
			q.items = make([]stopItem, 0, d.expect)
		}
	}
	q.items = append(q.items, stopItem{inc: inc, at: at})
	if !q.timer.Queued() {
		q.timer.At = at
		d.heap.Push(&q.timer)
	}
}

// unlimit forgets the Shutdown limit of an incarnation that has ended,
// moving its queue's timer to the next deadline or deleting the queue.
func (d *deadlines) unlimit(inc *incarnation) {
	q := d.stopQs[inc.c.shutdown()]
	if q == nil || !q.timer.Queued() {
		return // no limit, or the queue is being expired
	}
	if at, ok := d.trim(q); !ok {
		d.heap.Remove(&q.timer)
		d.retire(q)
	} else if at != q.timer.At {
		q.timer.At = at
		d.heap.Push(&q.timer)
	}
}

// expired returns the next incarnation of q whose limit has passed, or nil,
// in which case q's timer is queued again for its next deadline (or q is
// deleted).
func (d *deadlines) expired(q *stopQueue) *incarnation {
	at, ok := d.trim(q)
	switch {
	case !ok:
		d.retire(q)
		return nil
	case at > d.clock:
		q.timer.At = at
		d.heap.Push(&q.timer)
		return nil
	}
	inc := q.items[q.head].inc
	q.items[q.head] = stopItem{}
	q.head++
	return inc
}

// retire keeps an emptied queue for reuse.
func (d *deadlines) retire(q *stopQueue) {
	if d.spare == nil {
		d.spare = q
	}
}

// trim drops the ended incarnations at the head of q and reports the first
// deadline left, if any. An empty queue is deleted.
func (d *deadlines) trim(q *stopQueue) (time.Duration, bool) {
	for q.head < len(q.items) && q.items[q.head].inc.c.inc != q.items[q.head].inc {
		q.items[q.head] = stopItem{}
		q.head++
	}
	if q.head == len(q.items) {
		if d.stopQs[q.d] == q {
			delete(d.stopQs, q.d)
		}
		q.head = 0
		if cap(q.items) > 1024 {
			q.items = nil // let a mass stop's memory go
		} else {
			q.items = q.items[:0]
		}
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
