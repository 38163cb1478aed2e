package supervisor

import (
	"fmt"
	"time"
)

// Test hooks: what the package's tests need to see or set inside a tree.

// withJitter replaces the jitter source of the tree's backoff.
func withJitter(f func() float64) Option { return func(c *config) { c.jitter = f } }

// testJitter replaces the jitter source of t's backoff; t must be stopped.
func (t *Tree) testJitter(f func() float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg.jitter = f
}

// checkReq asks the loop to verify its invariants.
type checkReq struct {
	msg
	reply chan error
}

func (m *checkReq) onLoop(l *loop) { m.reply <- l.check() }

// checkInvariants verifies the tree's internal consistency: O(n).
func (t *Tree) checkInvariants() error {
	m := &checkReq{reply: make(chan error, 1)}
	return call(t, m, m.reply, func() error {
		for c := t.kids.head; c != nil; c = c.next {
			if c.phase != phStopped || c.inc != nil {
				return fmt.Errorf("stopped tree: child %q is %v", c.name, c.phase)
			}
		}
		return nil
	})
}

// check verifies the loop's invariants.
func (l *loop) check() error {
	n, live, sig := 0, 0, 0
	for c := l.kids.head; c != nil; c = c.next {
		n++
		switch {
		case l.kids.get(c.name) != c:
			return fmt.Errorf("child %q: not in the index", c.name)
		case c.phase == phGone:
			return fmt.Errorf("child %q: gone but listed", c.name)
		case (c.inc != nil) != c.phase.live():
			return fmt.Errorf("child %q: phase %v with incarnation %v", c.name, c.phase, c.inc != nil)
		case c.inc != nil && c.inc.c != c:
			return fmt.Errorf("child %q: incarnation of another child", c.name)
		case (c.phase == phBackoff) != (c.x != nil && c.x.restart.Queued()):
			return fmt.Errorf("child %q: phase %v, restart timer queued %v", c.name, c.phase, c.x != nil && c.x.restart.Queued())
		case c.phase == phGrouped && (l.plan == nil || l.plan.kind != planGroup):
			return fmt.Errorf("child %q: grouped without a group restart", c.name)
		}
		if c.inc != nil {
			live++
		}
		if c.significant && c.phase != phStopped {
			sig++
		}
	}
	switch {
	case n != l.kids.n || n != len(l.kids.byName)+l.kids.byNum.len():
		return fmt.Errorf("list has %d children, count %d, index %d", n, l.kids.n, len(l.kids.byName)+l.kids.byNum.len())
	case live != l.n.live:
		return fmt.Errorf("%d live incarnations, counter says %d", live, l.n.live)
	case sig != l.n.sig:
		return fmt.Errorf("%d significant children not stopped, counter says %d", sig, l.n.sig)
	}
	return nil
}

var _ = time.Second
