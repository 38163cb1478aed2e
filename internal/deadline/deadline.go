// Package deadline is a min-heap of deadlines with O(log n) removal, so a
// supervisor's event loop can keep every pending timeout (shutdown limits,
// backoff delays, watchdog checks) behind a single time.Timer instead of a
// timer or goroutine per pending signal.
package deadline

import "time"

// Entry is one deadline. Embed or allocate it once per owner and reuse it:
// Push and Remove do not allocate.
type Entry[T any] struct {
	At    time.Duration // when it is due, on the owner's monotonic clock
	Value T             // what the owner needs when it is due
	index int           // position in the heap; 0 when not queued
}

// Queued reports whether e is in a heap.
func (e *Entry[T]) Queued() bool { return e.index > 0 }

// Heap is a min-heap of entries ordered by At. The zero value is empty and
// ready to use. Index 0 is unused so that the zero Entry reads as not queued.
type Heap[T any] struct {
	items []*Entry[T]
}

// Len returns the number of queued entries.
func (h *Heap[T]) Len() int {
	if len(h.items) == 0 {
		return 0
	}
	return len(h.items) - 1
}

// Peek returns the earliest entry, or nil.
func (h *Heap[T]) Peek() *Entry[T] {
	if h.Len() == 0 {
		return nil
	}
	return h.items[1]
}

// Push queues e at e.At. If e is already queued it is moved instead.
func (h *Heap[T]) Push(e *Entry[T]) {
	if e.Queued() {
		h.fix(e.index)
		return
	}
	if len(h.items) == 0 {
		h.items = append(h.items, nil)
	}
	e.index = len(h.items)
	h.items = append(h.items, e)
	h.up(e.index)
}

// Remove takes e out of the heap; it is a no-op when e is not queued.
func (h *Heap[T]) Remove(e *Entry[T]) {
	if !e.Queued() {
		return
	}
	i, last := e.index, len(h.items)-1
	if i != last {
		h.swap(i, last)
	}
	h.items[last] = nil
	h.items = h.items[:last]
	e.index = 0
	if i != last {
		h.fix(i)
	}
}

// Pop removes and returns the earliest entry, or nil.
func (h *Heap[T]) Pop() *Entry[T] {
	e := h.Peek()
	if e != nil {
		h.Remove(e)
	}
	return e
}

func (h *Heap[T]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *Heap[T]) less(i, j int) bool { return h.items[i].At < h.items[j].At }

func (h *Heap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index = i
	h.items[j].index = j
}

func (h *Heap[T]) up(i int) {
	for i > 1 {
		p := i / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *Heap[T]) down(i int) bool {
	start, n := i, len(h.items)
	for {
		l := 2 * i
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}
