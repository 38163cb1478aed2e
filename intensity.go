// intensity.go: the restart intensity, a sliding window over the times of
// the automatic restarts of the last period. It holds only the restarts
// inside the window (at most maxRestarts+1 before the tree gives up), so a
// huge maxRestarts costs nothing up front, and each record is amortised O(1).

package supervisor

import "time"

// unlimitedCount caps what a tree that never gives up remembers of its
// restarts: enough to report the rate, bounded however fast children fail.
const unlimitedCount = 1 << 12

// window records restart times and says when too many fall in one period.
type window struct {
	max    int             // maxRestarts; negative: never give up
	period time.Duration   // the window's length
	times  []time.Duration // restart times inside the window, oldest at head
	head   int
}

// expire forgets the restarts made more than a period before now: the
// window is closed, as OTP's is, so a restart exactly one period after
// another still counts with it.
func (w *window) expire(now time.Duration) {
	for w.head < len(w.times) && now-w.times[w.head] > w.period {
		w.head++
	}
	if w.head == len(w.times) {
		w.times, w.head = w.times[:0], 0
	} else if w.head > 32 && w.head > len(w.times)/2 {
		n := copy(w.times, w.times[w.head:])
		w.times, w.head = w.times[:n], 0
	}
}

// record notes a restart at now and reports whether the tree may go on:
// false when more than max restarts now fall within the last period.
func (w *window) record(now time.Duration) bool {
	w.expire(now)
	if w.max < 0 && len(w.times)-w.head >= unlimitedCount {
		w.head++
	}
	w.times = append(w.times, now)
	return w.max < 0 || len(w.times)-w.head <= w.max
}

// count returns how many restarts fall within the period ending at now.
func (w *window) count(now time.Duration) int {
	w.expire(now)
	return len(w.times) - w.head
}
