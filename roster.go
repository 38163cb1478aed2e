// roster.go: the children of a tree in start order. An intrusive doubly
// linked list plus a map by name make Add, Delete and lookups O(1); the
// roster also generates the names of children added without one.

package supervisor

import (
	"strconv"
	"time"
)

// roster holds a tree's children in start order, with a map by name.
type roster struct {
	head, tail *child
	byName     map[string]*child
	n          int // children listed
	subs       int // children that are trees
	seq        int // last number used in a generated name
}

func (r *roster) get(name string) *child { return r.byName[name] }

// name returns a generated name that no listed child and no name in
// reserved has.
func (r *roster) name(reserved map[string]bool) string {
	var buf [32]byte
	for {
		r.seq++
		n := string(strconv.AppendInt(append(buf[:0], "child-"...), int64(r.seq), 10))
		if r.byName[n] == nil && !reserved[n] {
			return n
		}
	}
}

// pushBack lists c last; its name must be free.
func (r *roster) pushBack(c *child) {
	if r.byName == nil {
		r.byName = make(map[string]*child)
	}
	c.prev, c.next = r.tail, nil
	if r.tail != nil {
		r.tail.next = c
	} else {
		r.head = c
	}
	r.tail = c
	r.byName[c.spec.Name] = c
	r.n++
	if c.spec.sub != nil {
		r.subs++
	}
}

// remove unlists c.
func (r *roster) remove(c *child) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		r.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		r.tail = c.prev
	}
	c.prev, c.next = nil, nil
	delete(r.byName, c.spec.Name)
	r.n--
	if c.spec.sub != nil {
		r.subs--
	}
}

// infos describes every child in start order.
func (r *roster) infos(t0 time.Time) []ChildInfo {
	out := make([]ChildInfo, 0, r.n)
	for c := r.head; c != nil; c = c.next {
		out = append(out, c.info(t0))
	}
	return out
}

// counts returns the tree's counts given how many incarnations are live.
func (r *roster) counts(live int) Counts {
	return Counts{Specs: r.n, Active: live, Supervisors: r.subs}
}

// from returns the children from c to the tail, in start order.
func from(c *child) []*child {
	var out []*child
	for ; c != nil; c = c.next {
		out = append(out, c)
	}
	return out
}
