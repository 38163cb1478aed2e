// plan.go: ordered work that spans several events: Run's initial start, a
// OneForAll or RestForOne group restart, and the sequential shutdown. A
// plan stops its stop members one after the other (each once the previous
// has returned), then, for a group restart, waits out the backoff delay and
// records the restart in the intensity window, then starts its start
// members in order, each once the previous has started. It waits on an
// incarnation as any API call does, and is advanced when woken; a plan that
// was replaced (l.plan moved on) ignores its wake-ups.

package supervisor

import "time"

type plan struct {
	waitRef
	kind     planKind
	stage    planStage
	stops    []member // in stop order
	starts   []member // in start order
	i, j     int      // next stop, next start
	launched bool     // the plan has started p.starts[j]
	cut      bool     // a member it has started was terminated or deleted by a call: it ends at the next start
	wait     *incarnation

	// Group restarts.
	cause *child
	err   error
	delay time.Duration
	timer timer // the delay
}

type planKind uint8

const (
	planInitial planKind = iota
	planGroup
	planShutdown
)

type planStage uint8

const (
	stageStop  planStage = iota // stopping the stop members
	stageDelay                  // waiting out the backoff delay (group restarts)
	stageCount                  // recording the restart (group restarts with a delay)
	stageStart                  // starting the start members
)

// member is a child in a plan with its gen when the plan was made: a child
// terminated or deleted by a call since then has another gen.
type member struct {
	c   *child
	gen uint32
}

// woke advances p when the incarnation it waits on has stopped or started.
func (p *plan) woke(l *loop, inc *incarnation, ended bool) {
	if p.wait == inc {
		p.wait = nil
		l.advance(p)
	}
}

// startAll begins Run's initial start.
func (l *loop) startAll() {
	p := &plan{kind: planInitial, stage: stageStart}
	for c := l.kids.head; c != nil; c = c.next {
		p.starts = append(p.starts, member{c, c.gen})
	}
	l.plan = p
	l.advance(p)
}

// groupRestart restarts the members of c's group: the others are stopped in
// reverse start order, then, after the backoff delay, all start in order.
// Members that are not running wait for the group's start. Without a delay
// the restart is recorded in the intensity window now, when it is decided,
// as OTP records it; with one, when it happens (stageCount).
func (l *loop) groupRestart(c *child, err error, delay time.Duration) {
	if delay == 0 && !l.pol.win.record(l.dl.clock) {
		l.enter(c, phStopped)
		l.giveUp(c, err)
		return
	}
	members := l.cfg.strategy.affected(l.kids.head, c)
	p := &plan{kind: planGroup, cause: c, err: err, delay: delay}
	p.timer.Value = timerTarget{kind: tPlanDelay, p: p}
	p.starts = make([]member, len(members))
	for i, m := range members {
		p.starts[i] = member{m, m.gen}
		x := m.ext()
		x.grp, x.at = p, i
	}
	for i := len(members) - 1; i >= 0; i-- {
		switch m := members[i]; {
		case m.phase == phStopping:
			// Being stopped by a call (Terminate, Delete, Restart), which
			// decides what follows: the restart leaves it to that call.
		case m.phase.live():
			m.after = afterGroup
			p.stops = append(p.stops, p.starts[i])
		case m.phase != phGone:
			l.enter(m, phGrouped)
		}
	}
	l.plan = p
	l.advance(p)
}

// advance moves p on as far as it can go without waiting.
func (l *loop) advance(p *plan) {
	for l.plan == p {
		switch p.stage {
		case stageStop:
			if p.i == len(p.stops) {
				p.stage = stageDelay
				if p.kind == planShutdown {
					l.finish(p)
				}
				continue
			}
			m := p.stops[p.i]
			if c := m.c; c.phase.live() && (p.kind == planShutdown || c.gen == m.gen && c.after == afterGroup) {
				inc := c.inc
				l.stop(c)
				p.wait = inc
				inc.wait(p.ref(p), true)
				return
			}
			p.i++
		case stageDelay:
			p.stage = stageCount
			if p.delay > 0 {
				l.dl.schedule(&p.timer, p.delay)
				return
			}
		case stageCount:
			p.stage = stageStart
			if p.delay > 0 && !l.pol.win.record(l.dl.clock) {
				l.drop(p)
				l.giveUp(p.cause, p.err)
				return
			}
		case stageStart:
			if !l.startNext(p) {
				return
			}
		}
	}
}

// startNext starts or skips the next start member of p, and reports
// whether p can go on at once.
func (l *loop) startNext(p *plan) bool {
	if p.j == len(p.starts) {
		l.finish(p)
		return false
	}
	m := p.starts[p.j]
	c := m.c
	switch {
	case p.cut || c.gen != m.gen && p.kind == planGroup:
		l.cutShort(p)
		return false
	case c.phase == phStarting:
		p.wait = c.inc
		c.inc.wait(p.ref(p), false)
		return false
	case !p.launched && c.gen == m.gen && (p.kind == planInitial && c.phase == phStopped || p.kind == planGroup && c.phase == phGrouped):
		by := byAuto
		if p.kind == planInitial {
			by = byInitial
		}
		p.launched = true
		l.start(c, by, true) // the next pass waits for it, or moves on
	default:
		p.j++ // started, running, gone, or otherwise decided meanwhile
		p.launched = false
	}
	return true
}

// cutShort ends a group restart one of whose members was terminated or
// deleted by a call (the one it was about to start, or one it had started:
// cutAt): the members after it that were not started stay Stopped.
func (l *loop) cutShort(p *plan) {
	for _, m := range p.starts[p.j:] {
		if m.c.phase == phGrouped {
			l.enter(m.c, phStopped)
		}
	}
	l.finish(p)
}

// cutAt notes that c, terminated or deleted by a call, is a member that
// the group restart in progress has started already: the restart ends at
// its next start. (A member it has not reached yet ends it when it does:
// its gen has changed.)
func (l *loop) cutAt(c *child) {
	if p := l.plan; p != nil && c.x != nil && c.x.grp == p && p.stage == stageStart && c.x.at < p.j {
		p.cut = true
	}
}

// drop ends p, finished or not: its delay and its members' marks (cutAt).
func (l *loop) drop(p *plan) {
	l.plan = nil
	l.dl.heap.Remove(&p.timer)
	if p.kind == planGroup {
		for _, m := range p.starts {
			if x := m.c.x; x.grp == p {
				x.grp = nil
			}
		}
	}
}

// finish ends p. The end of the initial start makes the tree ready; then
// the failures deferred behind the plan are handled, in order.
func (l *loop) finish(p *plan) {
	l.drop(p)
	if p.kind == planInitial {
		l.emit(Event{Kind: TreeReady})
		Ready(l.env.ctx) // a tree that is itself a WaitReady child is ready now
		if l.env.started != nil {
			l.env.started()
		}
	}
	for len(l.deferred) > 0 && l.plan == nil && !l.stopping {
		c := l.deferred[0]
		l.deferred = l.deferred[1:]
		if c.phase == phDeferred {
			l.restart(c, nil, c.lastErr())
		}
	}
}
