// supervisor.go: the caller's side of a tree. Tree, New and Run; the API
// calls (Add, Terminate, Restart, Delete, Children, Child, Count), each a
// message of its own type with its own typed reply, sent to the loop while
// the tree runs and answered under Tree.mu while it does not.

package supervisor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Tree is a supervision tree. Create it with New, run it with Run. All
// methods are safe for concurrent use, including from the tree's children.
// The zero Tree is an empty OneForOne tree with the default options.
type Tree struct {
	inited atomic.Bool // cfg and kids are set up (New, or first use of a zero Tree)
	cfg    config      // never changes once inited

	mu      sync.Mutex
	cur     *loop     // the running loop; nil when stopped
	kids    roster    // owned by cur while it runs, by mu otherwise
	initial []Spec    // the specs given to New, named: each Run starts from them
	stale   bool      // kids is what the last Run left; the next change or Run starts afresh from initial
	t0      time.Time // origin of the loop clock of the last Run; zero before the first
	lastErr error     // what the last Run returned

	hookTurn chan struct{} // a token held while a hook or the logger runs: one at a time, whatever the Run

	adds, stops, counts sync.Pool // *addReq, *stopReq and *countReq, reused across calls

	pending atomic.Int64 // AddAsync requests on their way to the loop
}

// New creates a tree from options, validating every option and spec.
func New(opts ...Option) (*Tree, error) {
	cfg := defaultConfig()
	for i, o := range opts {
		if o == nil {
			return nil, treeErr(cfg.name, ErrInvalidOption, "option %d is nil", i)
		}
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Tree{cfg: cfg, hookTurn: make(chan struct{}, 1)}
	reserved := make(map[string]bool, len(cfg.specs))
	for _, s := range cfg.specs {
		if s.Name != "" {
			reserved[s.Name] = true
		}
	}
	for i, s := range cfg.specs {
		if err := t.checkSpec(&s, fmt.Sprintf("WithChildren[%d]: ", i)); err != nil {
			return nil, err
		}
		c, err := t.insert(s, reserved)
		if err != nil {
			return nil, err
		}
		t.initial = append(t.initial, c.specOf())
	}
	t.cfg.specs = nil
	t.inited.Store(true)
	return t, nil
}

// setup makes a zero Tree usable.
func (t *Tree) setup() {
	if t.inited.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.inited.Load() {
		t.cfg = defaultConfig()
		t.hookTurn = make(chan struct{}, 1)
		t.inited.Store(true)
	}
}

// Name returns the tree's name.
func (t *Tree) Name() string {
	t.setup()
	return t.cfg.name
}

// checkSpec validates a spec against the tree's configuration.
func (t *Tree) checkSpec(s *Spec, where string) error {
	bad := func(format string, args ...any) error {
		return childErr(t.cfg.name, s.Name, ErrInvalidSpec, where+format, args...)
	}
	switch {
	case s.Run == nil:
		return bad("Run is nil")
	case s.Restart > Temporary:
		return bad("Restart %d is not Permanent, Transient or Temporary", s.Restart)
	case s.Shutdown < 0 && s.Shutdown != Infinity:
		return bad("Shutdown %v is negative and not Infinity", s.Shutdown)
	case s.Watchdog < 0:
		return bad("Watchdog %v is negative", s.Watchdog)
	case s.Significant && s.Restart == Permanent:
		return bad("Significant is not allowed on a Permanent child")
	case s.Significant && t.cfg.autoShutdown == Never:
		return bad("Significant needs WithAutoShutdown other than Never")
	}
	return nil
}

// insert lists a validated spec last, naming it if needed (never with a
// name in reserved). The caller owns t.kids.
func (t *Tree) insert(s Spec, reserved map[string]bool) (*child, error) {
	if s.Name == "" {
		s.Name = t.kids.name(reserved)
	} else if t.kids.get(s.Name) != nil {
		return nil, childErr(t.cfg.name, s.Name, ErrDuplicateChild, "the name is in use")
	} else if err := t.claimName(s.Name); err != nil {
		return nil, err
	}
	if m := t.cfg.maxChildren; m > 0 && t.kids.n >= m {
		return nil, childErr(t.cfg.name, s.Name, ErrMaxChildren, "the tree holds %d children, its limit", m)
	}
	c := newChild(s)
	t.kids.pushBack(c)
	return c, nil
}

// claimName keeps a name given by the user out of the names the tree
// generates from now on, so that a generated name never needs checking
// against the listed ones. In a SimpleOneForOne tree, a name of the
// generated form that was drawn already may belong to a child on its way to
// the loop (AddAsync); it is refused while any is.
func (t *Tree) claimName(name string) error {
	if k, ok := genNumber(name); ok && t.kids.claim(k) && t.pending.Load() > 0 {
		return childErr(t.cfg.name, name, ErrDuplicateChild, "the name may be that of a child being added by AddAsync")
	}
	return nil
}

// fresh makes the roster the specs given to New again, if the last Run left
// it: runtime changes are not carried over to the next Run. t.mu is held.
func (t *Tree) fresh() {
	if !t.stale {
		return
	}
	t.stale = false
	t.kids.reset()
	for _, s := range t.initial {
		t.kids.pushBack(newChild(s))
	}
}

// Run starts the children in order and supervises them until ctx is
// cancelled, the restart intensity is exceeded, a child asks to stop the
// tree (ErrStopTree), or auto shutdown applies; then it stops every child
// (in reverse start order; SimpleOneForOne: all at once) and returns. It
// returns nil after a cancellation or an auto shutdown, an error matching
// ErrTooManyRestarts when it gave up, ErrStartFailed when the initial start
// failed, the child's error after ErrStopTree, and ErrShutdownTimeout
// (joined with any of those) when a child had to be abandoned. Run may be
// called again after it returned: each Run starts afresh from the specs
// given to New (plus those added while the tree was stopped), with a fresh
// restart history.
func (t *Tree) Run(ctx context.Context) error { return t.run(ctx, nil) }

// Start runs the tree in a new goroutine and returns once its initial start
// has completed (every child started, and ready if WaitReady) or Run has
// returned; in the latter case Run's error is already in the channel, so a
// receive that does not block tells a failed start from a running tree. The
// channel receives Run's error. Use it instead of `go t.Run(ctx)` when the
// next line calls Add, which on a SimpleOneForOne tree needs the tree to be
// running.
func (t *Tree) Start(ctx context.Context) <-chan error {
	errc := make(chan error, 1)
	started := make(chan struct{})
	var once sync.Once
	mark := func() { once.Do(func() { close(started) }) }
	go func() {
		err := t.run(ctx, mark)
		errc <- err
		mark()
	}()
	<-started
	return errc
}

// run is Run; started, if not nil, is called when the initial start has
// completed (on the loop: it must not block).
func (t *Tree) run(ctx context.Context, started func()) error {
	if ctx == nil {
		ctx = context.Background()
	}
	l, err := t.begin(ctx, started)
	if l == nil {
		return err
	}
	err = l.run()
	t.mu.Lock()
	t.cur = nil
	t.lastErr = err
	t.stale = true
	t.mu.Unlock()
	close(l.done)
	if l.obs != nil {
		l.obs.close()
	}
	return err
}

// begin makes the loop of a Run, or says why there is none.
func (t *Tree) begin(ctx context.Context, started func()) (*loop, error) {
	t.setup()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur != nil {
		return nil, treeErr(t.cfg.name, ErrAlreadyRunning, "Run called while the tree runs")
	}
	if ctx.Err() != nil {
		return nil, nil
	}
	t.fresh()
	l := newLoop(t, ctx, started)
	t.cur = l
	t.t0 = l.dl.t0
	return l, nil
}

// Add adds a child and starts it, returning its name (generated when
// spec.Name is empty). It returns once the child has started, and called
// Ready if spec.WaitReady; a WaitReady child that returns before Ready (or
// is stopped before it) makes Add fail with ErrStartFailed and is not kept.
// A child that returns ErrDoNotRestart at once is kept, Stopped, and Add
// succeeds (OTP's ignore). On a tree that is not running the spec is queued
// for the next Run (SimpleOneForOne: ErrNotRunning).
func (t *Tree) Add(spec Spec) (string, error) {
	t.setup()
	if err := t.checkSpec(&spec, ""); err != nil {
		return "", err
	}
	m, _ := t.adds.Get().(*addReq)
	if m == nil {
		m = &addReq{reply: make(chan addReply, 2)}
		m.help.nudge = func() { m.reply <- addReply{err: errServe} }
	}
	m.spec = spec
	r := callHelped(t, m, m.reply, &m.help, addReply{err: errServe}, func() addReply { return t.offlineAdd(spec) })
	m.spec = Spec{}
	t.adds.Put(m)
	return r.name, r.err
}

// AddAsync adds a child to a running SimpleOneForOne tree and returns its
// name without waiting for the tree, as a go statement does not wait for
// its goroutine: the child is registered before any call made after
// AddAsync returns is served (so Delete, Child and Count see it), and starts
// soon after. It generates the name itself, so spec.Name must be empty, and
// since no one waits for its start, spec.WaitReady must be false. On a tree
// with WithMaxChildren it waits for the tree's answer as Add does, to keep
// the limit exact. It fails with ErrNotRunning when the tree is not running;
// a child added while the tree shuts down never starts.
func (t *Tree) AddAsync(spec Spec) (string, error) {
	t.setup()
	if err := t.checkAsync(&spec); err != nil {
		return "", err
	}
	if t.cfg.maxChildren > 0 {
		return t.Add(spec)
	}
	t.pending.Add(1)
	spec.Name = genName(t.kids.seq.Add(1))
	inc := &incarnation{c: newChild(spec), by: byAdd}
	inc.exit.kind, inc.exit.x = repAdd, inc // its exit report carries it to the loop first
	if t.deliver(func(l *loop) *report { inc.l = l; return &inc.exit }, false) != nil {
		return spec.Name, nil
	}
	t.mu.Unlock()
	t.pending.Add(-1)
	return "", childErr(t.cfg.name, spec.Name, ErrNotRunning, "SimpleOneForOne children can only be added while the tree runs")
}

// checkAsync validates a spec given to AddAsync.
func (t *Tree) checkAsync(s *Spec) error {
	if err := t.checkSpec(s, "AddAsync: "); err != nil {
		return err
	}
	bad := func(what string) error {
		return childErr(t.cfg.name, s.Name, ErrInvalidSpec, "AddAsync: %s", what)
	}
	switch {
	case t.cfg.strategy != SimpleOneForOne:
		return bad("only SimpleOneForOne trees add children without waiting; use Add")
	case s.Name != "":
		return bad("the tree names the child; leave Name empty or use Add")
	case s.WaitReady:
		return bad("no one waits for a WaitReady child's start; use Add")
	}
	return nil
}

// Terminate stops a running child and keeps its spec as Stopped (Temporary
// children, and all children of a SimpleOneForOne tree, are removed instead).
// Terminating a Stopped child returns nil. It returns when the child has
// stopped, or with an error matching ErrShutdownTimeout when it was abandoned.
func (t *Tree) Terminate(name string) error { return t.stop(name, false) }

// Delete stops the child if it runs and removes its spec. The name may be
// reused once Delete has returned.
func (t *Tree) Delete(name string) error { return t.stop(name, true) }

func (t *Tree) stop(name string, del bool) error {
	t.setup()
	m, _ := t.stops.Get().(*stopReq)
	if m == nil {
		m = &stopReq{reply: make(chan error, 2)}
		m.help.nudge = func() { m.reply <- errServe }
	}
	m.name, m.del = name, del
	err := callHelped(t, m, m.reply, &m.help, errServe, func() error { return t.offlineStop(name, del) })
	t.stops.Put(m)
	return err
}

// Restart stops the child if it runs and starts it again, returning once it
// has started (and is ready, for WaitReady). It never counts toward the
// restart intensity.
func (t *Tree) Restart(name string) error {
	t.setup()
	m := &restartReq{name: name, reply: make(chan error, 1)}
	return call(t, m, m.reply, func() error {
		return childErr(t.cfg.name, name, ErrNotRunning, "the tree is not running")
	})
}

// Children lists the children in start order.
func (t *Tree) Children() []ChildInfo {
	t.setup()
	m := &listReq{reply: make(chan []ChildInfo, 1)}
	return call(t, m, m.reply, func() []ChildInfo { return t.kids.infos(t.t0) })
}

// Child returns the ChildInfo of one child, or an error matching
// ErrUnknownChild.
func (t *Tree) Child(name string) (ChildInfo, error) {
	t.setup()
	m := &childReq{name: name, reply: make(chan childReply, 1)}
	r := call(t, m, m.reply, func() childReply { return t.childInfo(name) })
	return r.info, r.err
}

// Count returns how many children the tree holds and how many run.
func (t *Tree) Count() Counts {
	t.setup()
	m, _ := t.counts.Get().(*countReq)
	if m == nil {
		m = &countReq{reply: make(chan Counts, 1)}
	}
	c := call(t, m, m.reply, func() Counts { return t.kids.counts(0) })
	t.counts.Put(m)
	return c
}

// The API calls, as messages to the loop. Each carries its own reply
// channel, with room for the one answer, so the loop never blocks on it.
type (
	addReq struct {
		msg
		waitRef
		spec  Spec
		reply chan addReply
		help  helper // see await
	}
	addReply struct {
		name string
		err  error
	}
	stopReq struct { // Terminate, or Delete
		msg
		waitRef
		name  string
		del   bool
		reply chan error
		help  helper // see await
	}
	restartReq struct {
		msg
		waitRef
		name     string
		starting bool // it waits for the start of the new incarnation
		reply    chan error
	}
	listReq struct {
		msg
		reply chan []ChildInfo
	}
	childReq struct {
		msg
		name  string
		reply chan childReply
	}
	childReply struct {
		info ChildInfo
		err  error
	}
	countReq struct {
		msg
		reply chan Counts
	}
	snapshotReq struct {
		msg
		reply chan *snapshot
	}
)

// call sends m to the loop and waits for the answer it puts on reply, or,
// when the tree is not running, runs offline under t.mu.
func call[R any](t *Tree, m request, reply chan R, offline func() R) R {
	if t.sendCall(m) != nil {
		return <-reply // the loop answers every call it took in
	}
	defer t.mu.Unlock()
	return offline()
}

// callHelped is call for a caller that offers to serve while it waits
// (await), woken with serve.
func callHelped[R comparable](t *Tree, m request, reply chan R, h *helper, serve R, offline func() R) R {
	if l := t.sendCall(m); l != nil {
		return await(l, reply, h, serve)
	}
	defer t.mu.Unlock()
	return offline()
}

// sendCall delivers the call m; see deliver.
func (t *Tree) sendCall(m request) *loop {
	r := m.entry()
	r.kind, r.x = repCall, m
	return t.deliver(func(*loop) *report { return r }, true)
}

// deliver posts onto the running loop's inbox the entry that entry makes
// for that loop, and returns the loop. A loop that has closed its inbox
// takes nothing more: deliver then waits for that Run to end and tries
// again. When the tree is not running it returns nil with t.mu held, for
// the caller to answer from the stopped tree and unlock.
func (t *Tree) deliver(entry func(*loop) *report, serve bool) *loop {
	for {
		t.mu.Lock()
		l := t.cur
		if l == nil {
			return nil
		}
		t.mu.Unlock()
		if r := entry(l); serve && l.post(r) || !serve && l.notify(r) {
			return l
		}
		<-l.done
	}
}

// request is an API call: its message embeds the inbox entry that carries
// it to the loop, so that a call costs no allocation of its own.
type request interface{ entry() *report }

// msg is embedded in every request.
type msg struct{ rep report }

func (m *msg) entry() *report { return &m.rep }

// offlineAdd answers Add on a stopped tree. t.mu is held.
func (t *Tree) offlineAdd(spec Spec) addReply {
	if t.cfg.strategy == SimpleOneForOne {
		return addReply{err: childErr(t.cfg.name, spec.Name, ErrNotRunning, "SimpleOneForOne children can only be added while the tree runs")}
	}
	t.fresh()
	c, err := t.insert(spec, nil)
	if err != nil {
		return addReply{err: err}
	}
	return addReply{name: c.name}
}

// offlineStop answers Terminate and Delete on a stopped tree. t.mu is held.
func (t *Tree) offlineStop(name string, del bool) error {
	if !del {
		return childErr(t.cfg.name, name, ErrNotRunning, "the tree is not running")
	}
	t.fresh()
	c := t.kids.get(name)
	if c == nil {
		return t.unknown(name)
	}
	t.kids.remove(c)
	return nil
}

// childInfo answers Child; the caller owns t.kids.
func (t *Tree) childInfo(name string) childReply {
	c := t.kids.get(name)
	if c == nil {
		return childReply{err: t.unknown(name)}
	}
	return childReply{info: c.info(t.t0)}
}

func (t *Tree) unknown(name string) error {
	return &ChildError{Tree: t.cfg.name, Child: name, Kind: ErrUnknownChild}
}
