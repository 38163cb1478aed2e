// strategy.go: restart strategies and auto shutdown, and which children a
// failure affects under each strategy.

package supervisor

import (
	"strconv"
	"time"
)

// Strategy says which children are restarted when one fails.
type Strategy uint8

const (
	// OneForOne restarts only the failed child.
	OneForOne Strategy = iota
	// OneForAll stops all other children in reverse start order, then starts
	// all of them in start order.
	OneForAll
	// RestForOne does the same as OneForAll for the failed child and every
	// child started after it.
	RestForOne
	// SimpleOneForOne holds only children added with Add while the tree runs,
	// of equal standing: restarted one by one, stopped all at once.
	SimpleOneForOne
)

var strategyNames = [...]string{"one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"}

// String returns the strategy's Erlang name.
func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return "Strategy(" + strconv.Itoa(int(s)) + ")"
}

// group reports whether a failure under s restarts more than the child.
func (s Strategy) group() bool { return s == OneForAll || s == RestForOne }

// AutoShutdown says when a tree stops itself because significant children
// exited.
type AutoShutdown uint8

const (
	// Never: significant children are not allowed.
	Never AutoShutdown = iota
	// AnySignificant: the tree stops when any significant child exits by
	// itself and is not restarted.
	AnySignificant
	// AllSignificant: the tree stops when a significant child exits by itself,
	// is not restarted, and no other significant child is left running.
	AllSignificant
)

var autoShutdownNames = [...]string{"never", "any_significant", "all_significant"}

// String returns the value's Erlang name.
func (a AutoShutdown) String() string {
	if int(a) < len(autoShutdownNames) {
		return autoShutdownNames[a]
	}
	return "AutoShutdown(" + strconv.Itoa(int(a)) + ")"
}

// affected returns, in start order, the children that a failure of c
// restarts under s: c alone, c and its successors, or everyone.
func (s Strategy) affected(head, c *child) []*child {
	switch s {
	case OneForAll:
		return fromHead(head)
	case RestForOne:
		return fromHead(c)
	default:
		return []*child{c}
	}
}

// plan is ordered work that spans several events: the initial start, a group
// restart, or the sequential shutdown. It stops its stop members one after
// the other (each when the previous has returned), then, for a group
// restart, waits out the backoff delay and records the restart, then starts
// its start members in order, each after the previous is ready. Only one plan
// runs at a time; a plan that is replaced (l.plan changed) ignores the
// continuations it had registered.
type plan struct {
	kind   planKind
	stops  []member // in stop order
	starts []member // in start order
	i, j   int      // next stop, next start
	wait   *incarnation

	// Group restarts.
	cause   *child
	err     error
	delay   time.Duration
	delayed bool // the delay step is done
	counted bool // the restart was recorded in the intensity window
	timer   *timer
}

type planKind uint8

const (
	planInitial planKind = iota
	planGroup
	planShutdown
)

// member is a child in a plan with its gen when the plan was made: a child
// terminated or deleted since then is skipped.
type member struct {
	c   *child
	gen uint32
}

// step advances p as far as it can go without waiting.
func (l *loop) step(p *plan) {
	for l.plan == p {
		if inc := p.wait; inc != nil {
			if inc.c.inc == inc && (inc.stopping || inc.watchdog || !inc.started()) {
				return // still stopping, or still starting
			}
			p.wait = nil
		}
		switch {
		case p.i < len(p.stops):
			m := p.stops[p.i]
			c := m.c
			if c.inc != nil && (p.kind == planShutdown || c.stopPlan() == p) {
				c.setStopPlan(nil)
				inc := c.inc
				l.stop(c)
				l.waitFor(p, inc, true)
				return
			}
			c.setStopPlan(nil)
			p.i++
			l.afterStop(p, m)
		case p.kind == planGroup && !p.delayed:
			p.delayed = true
			if p.delay > 0 {
				p.timer = &timer{Value: timerTarget{kind: tPlanDelay, p: p}}
				l.schedule(p.timer, p.delay)
				return
			}
		case p.kind == planGroup && !p.counted:
			p.counted = true
			if !l.win.record(l.clock) {
				l.plan = nil
				l.giveUp(p.cause, p.err)
				return
			}
		case p.j < len(p.starts):
			m := p.starts[p.j]
			c := m.c
			if c.removed || c.removing || c.gen != m.gen {
				p.j++
				continue
			}
			if c.inc == nil {
				c.deferred = false
				by := byAuto
				if p.kind == planInitial {
					by = byInitial
				}
				l.start(c, by, true)
			}
			if inc := c.inc; !inc.stopping && !inc.started() {
				l.waitFor(p, inc, false)
				return
			}
			p.j++
		default:
			l.plan = nil
			l.planDone(p)
			return
		}
	}
}

// waitFor makes p continue when inc has stopped (or is ready).
func (l *loop) waitFor(p *plan, inc *incarnation, stop bool) {
	p.wait = inc
	if stop {
		inc.onStop(func(bool) { l.step(p) })
	} else {
		inc.onReady(func(error) { l.step(p) })
	}
}

// afterStop settles a member that p has stopped (or found not running).
func (l *loop) afterStop(p *plan, m member) {
	c := m.c
	switch {
	case c.removed || c.inc != nil: // gone, or started again meanwhile (Restart)
	case p.kind == planShutdown:
		l.settle(c)
	case c.spec.Restart == Temporary:
		l.remove(c) // a Temporary bystander is not restarted
	case c.gen == m.gen:
		l.setState(c, Restarting)
	}
}

// planDone runs when a plan completes.
func (l *loop) planDone(p *plan) {
	if p.kind == planInitial {
		l.emit(Event{Kind: TreeReady})
		Ready(l.runCtx) // a tree that is itself a WaitReady child is ready now
		if l.started != nil {
			l.started()
		}
	}
	for len(l.deferred) > 0 && l.plan == nil && !l.stopping {
		c := l.deferred[0]
		l.deferred = l.deferred[1:]
		if c.deferred && !c.removed && c.inc == nil {
			c.deferred = false
			l.restart(c, nil, c.err)
		}
	}
}

// groupRestart restarts the members of c's group: the others are stopped in
// reverse start order, then, after the backoff delay, all start in order.
func (l *loop) groupRestart(c *child, err error, delay time.Duration) {
	members := l.cfg.strategy.affected(l.kids.head, c)
	p := &plan{kind: planGroup, cause: c, err: err, delay: delay}
	p.starts = make([]member, len(members))
	for i, m := range members {
		p.starts[i] = member{m, m.gen}
	}
	for i := len(members) - 1; i >= 0; i-- {
		if m := members[i]; m != c {
			p.stops = append(p.stops, p.starts[i])
			m.setStopPlan(p)
		}
	}
	l.setState(c, Restarting)
	l.plan = p
	l.step(p)
}
