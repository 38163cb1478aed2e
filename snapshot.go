// snapshot.go: the whole-tree view for operators. Snapshot walks a tree and,
// through the children made with Tree.Spec, every subtree below it, and
// returns plain JSON-encodable values: per tree its state and intensity use,
// per child its state, restarts, last error, timestamps and, for process
// children, the pid they reported with ReportPID.

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TreeState is the state of a tree as a whole, as Snapshot reports it.
type TreeState uint8

const (
	TreeStateStopped      TreeState = iota // not running (never ran, or Run returned)
	TreeStateStarting                      // Run's initial start is in progress
	TreeStateRunning                       // initial start done, supervising
	TreeStateStopping                      // shutting down (cancelled, auto shutdown, failed start)
	TreeStateGaveUp                        // restart intensity exceeded: stopping, or stopped, because of it
	TreeStateUnresponsive                  // its loop did not answer before the snapshot's context ended
)

var treeStateNames = [...]string{"stopped", "starting", "running", "stopping", "gave_up", "unresponsive"}

// String returns the state's name in lower case.
func (s TreeState) String() string { return enumName(treeStateNames[:], "TreeState", int(s)) }

// MarshalText encodes the state as its name.
func (s TreeState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a name that String returns.
func (s *TreeState) UnmarshalText(b []byte) error {
	return enumParse(treeStateNames[:], "tree state", b, s)
}

// TreeSnapshot is the state of one tree and, recursively, of its subtrees.
// The JSON field names are part of the API.
type TreeSnapshot struct {
	Name     string    `json:"name"`
	Strategy Strategy  `json:"strategy"`
	State    TreeState `json:"state"`
	// Restarts is how many automatic restarts fall in the current intensity
	// window; the tree gives up when it would exceed MaxRestarts (-1: it
	// never gives up, see WithUnlimitedRestarts).
	Restarts    int           `json:"restarts"`
	MaxRestarts int           `json:"max_restarts"`
	Period      time.Duration `json:"period_ns"`
	Since       time.Time     `json:"since,omitzero"`  // when the current (or last) Run began
	Err         string        `json:"error,omitempty"` // why it gave up or failed, when it did
	// EventsDropped counts the events of the current Run that the hooks
	// and logger did not get because they were too slow.
	EventsDropped int64           `json:"events_dropped"`
	Counts        Counts          `json:"counts"`
	Children      []ChildSnapshot `json:"children"`
}

// ChildSnapshot is the state of one child in a TreeSnapshot.
type ChildSnapshot struct {
	Name          string        `json:"name"`
	State         ChildState    `json:"state"`
	Restart       Restart       `json:"restart"`
	Restarts      int           `json:"restarts"`
	Err           string        `json:"error,omitempty"`  // its last exit's error
	Since         time.Time     `json:"since,omitzero"`   // when State last changed
	Started       time.Time     `json:"started,omitzero"` // when it last started
	Exited        time.Time     `json:"exited,omitzero"`  // when its Run last returned, or it was abandoned
	PID           int           `json:"pid,omitempty"`    // see ReportPID
	Watchdog      time.Duration `json:"watchdog_ns,omitempty"`
	LastHeartbeat time.Time     `json:"last_heartbeat,omitzero"` // watched children that run
	Overdue       bool          `json:"overdue,omitempty"`       // a watched child's heartbeat is late
	Tree          *TreeSnapshot `json:"tree,omitempty"`
	Detail        any           `json:"detail,omitempty"` // what the child reported with ReportDetail          // the subtree, for children made with Tree.Spec
}

// snapshot is what the loop (or the stopped tree) answers: the tree's own
// part, and the subtrees to visit afterwards, off the loop.
type snapshot struct {
	tree    TreeSnapshot
	subs    []*Tree            // parallel to tree.Children; nil for workers
	details map[int]func() any // by index in tree.Children: the children's ReportDetail functions
}

// Spec returns the Spec that runs t as a child of another tree, named after
// t, with Shutdown Infinity (a tree stops its own children within their own
// limits) and WaitReady (the parent's ordered start waits for t's initial
// start). A parent knows such a child is a tree: Count counts it among
// Supervisors, and Snapshot descends into it.
func (t *Tree) Spec() Spec {
	return Spec{Name: t.cfg.name, Run: t.Run, Shutdown: Infinity, WaitReady: true, sub: t}
}

// Snapshot returns the state of t and of every subtree below it (children
// made with Tree.Spec). It is O(children), safe at any time (running,
// stopped, never run, shutting down), and never waits on a child: each tree
// answers from its own loop. A subtree whose loop does not answer before ctx
// ends shows as TreeStateUnresponsive; the error is ctx's when t itself did not
// answer.
func (t *Tree) Snapshot(ctx context.Context) (TreeSnapshot, error) {
	t.setup()
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := t.callCtx(ctx)
	if err != nil {
		return TreeSnapshot{Name: t.cfg.name, Strategy: t.cfg.strategy, State: TreeStateUnresponsive}, err
	}
	for i, sub := range s.subs {
		if sub == nil {
			continue
		}
		ts, _ := sub.Snapshot(ctx)
		s.tree.Children[i].Tree = &ts
	}
	for i, f := range s.details {
		s.tree.Children[i].Detail = describe(f)
	}
	return s.tree, nil
}

// describe calls a child's ReportDetail function, turning a panic into a
// description of it.
func describe(f func() any) (v any) {
	defer func() {
		if p := recover(); p != nil {
			v = fmt.Sprintf("supervisor: detail function panicked: %v", p)
		}
	}()
	return f()
}

// callCtx asks for a snapshot without waiting past ctx. An abandoned
// request is answered into its buffer. It leaves the serving to the loop's
// holder or Run's goroutine, so that a health probe measures whether the
// loop answers rather than doing the loop's work under its deadline.
func (t *Tree) callCtx(ctx context.Context) (*snapshot, error) {
	for {
		t.mu.Lock()
		l := t.cur
		if l == nil {
			defer t.mu.Unlock()
			return t.offlineSnapshot(), nil
		}
		t.mu.Unlock()
		m := &snapshotReq{reply: make(chan *snapshot, 1)}
		r := m.entry()
		r.kind, r.x = repCall, m
		if !l.notify(r) { // not post: a probe with a deadline waits for the loop, it does not serve it
			select {
			case <-l.done:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		select { // the loop answers every call it took in, into the buffer
		case s := <-m.reply:
			return s, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// treeHead fills the tree-level fields of a snapshot.
func (t *Tree) treeHead(state TreeState, restarts int, err error) TreeSnapshot {
	ts := TreeSnapshot{Name: t.cfg.name, Strategy: t.cfg.strategy, State: state, Restarts: restarts,
		MaxRestarts: t.cfg.maxRestarts, Period: t.cfg.period, Since: t.t0}
	if err != nil {
		ts.Err = err.Error()
	}
	return ts
}

// offlineSnapshot answers Snapshot for a tree that is not running. t.mu is held.
func (t *Tree) offlineSnapshot() *snapshot {
	state := TreeStateStopped
	if errors.Is(t.lastErr, ErrTooManyRestarts) {
		state = TreeStateGaveUp
	}
	s := &snapshot{tree: t.treeHead(state, 0, t.lastErr)}
	if t.cfg.unlimited {
		s.tree.MaxRestarts = -1
	}
	s.tree.Counts = t.kids.counts(0)
	s.fill(t.kids.head, t.t0, func(*child, *ChildSnapshot) {})
	return s
}

// snapshot answers Snapshot on the loop.
func (l *loop) snapshot() *snapshot {
	state := TreeStateRunning
	switch {
	case l.stopping && errors.Is(l.end.err, ErrTooManyRestarts):
		state = TreeStateGaveUp
	case l.stopping:
		state = TreeStateStopping
	case l.plan != nil && l.plan.kind == planInitial:
		state = TreeStateStarting
	}
	s := &snapshot{tree: l.t.treeHead(state, l.pol.win.count(l.dl.clock), l.end.err)}
	if l.cfg.unlimited {
		s.tree.MaxRestarts = -1
	}
	s.tree.Counts = l.kids.counts(l.n.live)
	if l.obs != nil {
		s.tree.EventsDropped = l.obs.total
	}
	now := l.now()
	s.fill(l.kids.head, l.dl.t0, func(c *child, cs *ChildSnapshot) {
		watched := c.phase == phRunning || c.phase == phStarting && !c.waitReady
		if c.watchdog() <= 0 || !watched {
			return
		}
		last := c.inc.lastBeat()
		cs.LastHeartbeat = l.dl.t0.Add(last)
		cs.Overdue = now-last > c.watchdog()
	})
	return s
}

// fill adds every child from head on; more adds what only a live loop knows.
func (s *snapshot) fill(head *child, t0 time.Time, more func(*child, *ChildSnapshot)) {
	s.tree.Children = make([]ChildSnapshot, 0, s.tree.Counts.Specs)
	for c := head; c != nil; c = c.next {
		ci := c.info(t0)
		cs := ChildSnapshot{Name: ci.Name, State: ci.State, Restart: ci.Restart, Restarts: ci.Restarts,
			Since: ci.Since, Started: ci.Started, PID: ci.PID, Watchdog: c.watchdog()}
		if at := c.exited(); at >= 0 && !t0.IsZero() {
			cs.Exited = t0.Add(at)
		}
		if ci.Err != nil {
			cs.Err = ci.Err.Error()
		}
		more(c, &cs)
		s.tree.Children = append(s.tree.Children, cs)
		if c.inc != nil {
			if f := c.inc.detailFunc(); f != nil {
				if s.details == nil {
					s.details = make(map[int]func() any)
				}
				s.details[len(s.tree.Children)-1] = *f
			}
		}
		if c.sub() != nil {
			if s.subs == nil {
				s.subs = make([]*Tree, s.tree.Counts.Specs)
			}
			s.subs[len(s.tree.Children)-1] = c.sub()
		}
	}
}
