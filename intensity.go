// intensity.go: the restart intensity, a sliding window over the times of the
// last maxRestarts+1 automatic restarts. It lives in a ring buffer, so memory
// is bounded by maxRestarts+1 and each record is O(1).

package supervisor

import "time"

// window records restart times and says when too many fall in one period.
type window struct {
	max    int             // maxRestarts
	period time.Duration   // the window's length
	ring   []time.Duration // the last max+1 restart times, oldest at next
	next   int             // where the next time goes
	n      int             // how many times are recorded, up to len(ring)
}

func newWindow(maxRestarts int, period time.Duration) window {
	return window{max: maxRestarts, period: period, ring: make([]time.Duration, maxRestarts+1)}
}

// reset forgets every recorded restart (a fresh Run).
func (w *window) reset() { w.next, w.n = 0, 0 }

// record notes a restart at now and reports whether the tree may go on: false
// when more than max restarts now fall within the last period (now included).
func (w *window) record(now time.Duration) bool {
	w.ring[w.next] = now
	w.next++
	if w.next == len(w.ring) {
		w.next = 0
	}
	if w.n < len(w.ring) {
		w.n++
	}
	if w.n <= w.max {
		return true
	}
	// The ring is full: the oldest of the last max+1 restarts is at next.
	return now-w.ring[w.next] >= w.period
}

// count returns how many recorded restarts fall within the period ending at
// now. O(restarts recorded), at most maxRestarts+1.
func (w *window) count(now time.Duration) int {
	n := 0
	for i := 0; i < w.n; i++ {
		if now-w.ring[i] < w.period {
			n++
		}
	}
	return n
}
