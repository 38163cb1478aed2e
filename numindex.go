// numindex.go: numIndex, which finds the children whose names are of the
// generated form ("child-<k>") by their number k. Generated numbers rise,
// so the children added last have numbers close together: a window of
// slots indexed by number minus a base holds them at 8 bytes a child with
// no hashing, and a map holds those whose numbers fell below the window.
// The window lives in fixed-size pages, so that growing it copies nothing
// and leaves no garbage behind.

package supervisor

// Window pages: 512 slots (4 KiB) each.
const (
	pageBits = 9
	pageSize = 1 << pageBits
)

// page is a run of consecutive slots of the window.
type page [pageSize]*child

// numIndex maps numbers to children. Numbers in [base, base+n) are in the
// window: number base+i is in slot off+i of the pages laid end to end, nil
// where no child has the number. Slots outside the window are nil, and
// every number in far is below base. The window is kept at least about half
// full: a put that would stretch it further moves its children to far and
// starts a new window at the number put. Each child moves to far at most
// once, and each slot a put adds is scanned at most once more (trimmed or
// spilled), so every operation is O(1) amortized.
type numIndex struct {
	base  int64   // number of the window's first slot
	pages []*page // off+n <= len(pages)*pageSize
	off   int     // first slot of the window in pages[0]; < pageSize
	n     int     // slots in the window
	live  int     // children in the window
	spare *page   // an emptied page, kept for the next one needed
	far   map[int64]*child
}

// windowSlack is how many empty slots a window may hold beyond as many as
// it has children.
const windowSlack = 32

// slot returns the window's i-th slot.
func (x *numIndex) slot(i int) **child {
	i += x.off
	return &x.pages[i>>pageBits][i&(pageSize-1)]
}

// get returns the child numbered k, or nil.
func (x *numIndex) get(k int64) *child {
	if k < x.base {
		return x.far[k]
	}
	if i := k - x.base; i < int64(x.n) {
		return *x.slot(int(i))
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
		x.empty()
		x.base = k
	}
	i := k - x.base
	if i >= int64(x.n) {
		if i+1 > 2*int64(x.live+1)+windowSlack {
			x.spill()
			x.base, i = k, 0
		}
		x.stretch(int(i) + 1)
	}
	*x.slot(int(i)) = c
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
	*x.slot(i) = nil
	x.live--
	switch {
	case x.live == 0:
		x.empty()
	case i == 0:
		j := 1
		for *x.slot(j) == nil {
			j++
		}
		x.off += j
		x.n -= j
		x.base += int64(j)
		for x.off >= pageSize { // pages[0] is all before the window: empty
			x.drop(x.pages[0])
			x.pages[0] = nil
			x.pages = x.pages[1:]
			x.off -= pageSize
		}
	}
}

// stretch makes the window n slots long (n is more than its length),
// adding empty pages as needed.
func (x *numIndex) stretch(n int) {
	for len(x.pages)*pageSize < x.off+n {
		p := x.spare
		if p == nil {
			p = new(page)
		}
		x.spare = nil
		x.pages = append(x.pages, p)
	}
	x.n = n
}

// empty makes the window empty, which its slots are, keeping one page.
func (x *numIndex) empty() {
	for i := 1; i < len(x.pages); i++ {
		x.drop(x.pages[i])
		x.pages[i] = nil
	}
	x.pages = x.pages[:min(len(x.pages), 1)]
	x.off, x.n = 0, 0
}

// drop lets go of an empty page, keeping it as the spare if there is none.
func (x *numIndex) drop(p *page) {
	if x.spare == nil {
		x.spare = p
	}
}

// spill moves the window's children to far and empties the window.
func (x *numIndex) spill() {
	if x.live > 0 && x.far == nil {
		x.far = make(map[int64]*child, x.live)
	}
	for i := range x.n {
		if s := x.slot(i); *s != nil {
			x.far[x.base+int64(i)] = *s
			*s = nil
		}
	}
	x.live = 0
	x.empty()
}
