// numindex.go: numIndex, which finds the children whose names are of the
// generated form ("child-<k>") by their number k. Generated numbers rise,
// so the children added last have numbers close together: a window (a
// slice indexed by number minus a base) holds them at 8 bytes a child with
// no hashing, and a map holds those whose numbers fell below the window.

package supervisor

// numIndex maps numbers to children. Numbers in [base, base+n) are in the
// window, slot off+k-base of buf, nil where no child has the number; every
// number in far is below base. The window is kept at least about half full:
// a put that would stretch it further moves its children to far and starts
// a new window at the number put. Each child moves to far at most once, and
// each slot a put adds is scanned at most once more (trimmed or spilled), so
// every operation is O(1) amortized.
type numIndex struct {
	base   int64 // number of the window's first slot
	buf    []*child
	off, n int              // the window is buf[off : off+n]
	live   int              // children in the window
	far    map[int64]*child // children numbered below base
}

// windowSlack is how many empty slots a window may hold beyond as many as
// it has children.
const windowSlack = 32

// get returns the child numbered k, or nil.
func (x *numIndex) get(k int64) *child {
	if k < x.base {
		return x.far[k]
	}
	if i := k - x.base; i < int64(x.n) {
		return x.buf[x.off+int(i)]
	}
	return nil
}

// len returns how many children are indexed.
func (x *numIndex) len() int { return x.live + len(x.far) }

// put indexes c under k, a number no indexed child has.
func (x *numIndex) put(k int64, c *child) {
	if k < x.base {
		if x.far == nil {
			x.far = make(map[int64]*child)
		}
		x.far[k] = c
		return
	}
	if x.live == 0 {
		x.base, x.off, x.n = k, 0, 0
	}
	i := k - x.base
	if i >= int64(x.n) {
		if i+1 > 2*int64(x.live+1)+windowSlack {
			x.spill()
			x.base, i = k, 0
		}
		x.stretch(int(i) + 1)
	}
	x.buf[x.off+int(i)] = c
	x.live++
}

// remove drops the child numbered k, which is indexed. Empty slots at the
// window's front are trimmed, those at its end are not: a child added and
// removed behind the others would otherwise stretch the window over them
// again at every add.
func (x *numIndex) remove(k int64) {
	if k < x.base {
		delete(x.far, k)
		return
	}
	i := int(k - x.base)
	x.buf[x.off+i] = nil
	x.live--
	switch {
	case x.live == 0:
		x.off, x.n = 0, 0
	case i == 0:
		j := 1
		for x.buf[x.off+j] == nil {
			j++
		}
		x.off += j
		x.n -= j
		x.base += int64(j)
	}
}

// stretch makes the window n slots long (n is more than its length); the
// new slots are nil. It moves the window to the front of buf when it does
// not fit after off and fills at most half of buf, else into a buf twice
// its size.
func (x *numIndex) stretch(n int) {
	if x.off+n > len(x.buf) {
		if 2*n <= len(x.buf) {
			copy(x.buf, x.buf[x.off:x.off+x.n])
			clear(x.buf[x.n:])
		} else {
			buf := make([]*child, max(2*n, 16))
			copy(buf, x.buf[x.off:x.off+x.n])
			x.buf = buf
		}
		x.off = 0
	}
	x.n = n
}

// spill moves the window's children to far and empties the window.
func (x *numIndex) spill() {
	if x.live > 0 && x.far == nil {
		x.far = make(map[int64]*child, x.live)
	}
	for i, c := range x.buf[x.off : x.off+x.n] {
		if c != nil {
			x.far[x.base+int64(i)] = c
		}
	}
	clear(x.buf[x.off : x.off+x.n])
	x.off, x.n, x.live = 0, 0, 0
}
