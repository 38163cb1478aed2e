// events.go: structured events, and the observer that delivers them to the
// hooks and the logger. The loop never calls user code for observability: it
// hands each event to a bounded channel read by one observer goroutine per
// Run, so a slow, blocking or panicking hook or slog handler cannot stall or
// crash supervision. A full buffer drops events and counts them.

package supervisor

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// TreeStarted: Run began; its initial start follows.
	TreeStarted EventKind = iota
	// TreeReady: Run's initial start completed.
	TreeReady
	// TreeStopped: Run is returning; Err is its error.
	TreeStopped
	// ChildStarted: a child's Run was started (Restarts counts automatic restarts).
	ChildStarted
	// ChildReady: a WaitReady child called Ready.
	ChildReady
	// ChildExited: a child's Run returned. Err is what it returned; Shutdown
	// says the tree had stopped it; WillRestart says a restart follows.
	ChildExited
	// RestartScheduled: an automatic restart of Child (with its group, under
	// OneForAll and RestForOne) was decided; it happens after Delay (0 without
	// backoff), unless the restart intensity is exceeded first.
	RestartScheduled
	// GaveUp: restart intensity was exceeded; the tree stops. Err is the cause.
	GaveUp
	// ShutdownTimeout: a child did not return within its Shutdown and was abandoned.
	ShutdownTimeout
	// WatchdogTimeout: a child missed its heartbeat and is being stopped.
	WatchdogTimeout
)

var eventNames = [...]string{"tree started", "tree ready", "tree stopped", "child started", "child ready",
	"child exited", "restart scheduled", "gave up", "shutdown timeout", "watchdog timeout"}

// String returns the kind's name in lower case.
func (k EventKind) String() string { return enumName(eventNames[:], "EventKind", int(k)) }

// Event is one observable happening in a tree, delivered to WithHook's
// function in the order it happened.
type Event struct {
	Kind        EventKind
	Time        time.Time
	Tree        string
	Child       string        // empty for tree events
	Err         error         // the exit error, give-up cause, or Run's error
	Restarts    int           // the child's automatic restarts so far
	WillRestart bool          // ChildExited: an automatic restart follows
	Shutdown    bool          // ChildExited: the tree stopped the child on purpose
	Delay       time.Duration // RestartScheduled: the wait before the restart
	Dropped     int           // events dropped before this one because the buffer was full
}

// observerBuffer bounds the events waiting for the hooks and logger.
const observerBuffer = 1024

// observerDrain bounds how long Run waits, when it returns, for the hooks
// and the logger to take the events still queued.
const observerDrain = time.Second

// observer delivers events off the loop: one per Run, nil when there is
// neither a hook nor a logger.
//
// The contract: events reach the hooks in the order they happened, one at a
// time, never two hook calls at once for one Tree, even across Runs (a
// per-Tree token is held around each delivery; a channel, not a mutex, so
// that testing/synctest sees a waiting observer as durably blocked). Run returns once every
// event of that Run has been delivered, or after observerDrain if a hook or
// handler is too slow or blocks; the observer is then detached: it delivers
// nothing more (what was still queued is dropped), and its goroutine ends as
// soon as the hook call it is stuck in returns. So no hook is ever called
// for a Run after that Run returned.
type observer struct {
	ch       chan Event
	done     chan struct{}
	hooks    []func(Event)
	log      *slog.Logger
	turn     chan struct{} // the Tree's token: one delivery at a time
	detached atomic.Bool
	dropped  int   // loop-owned: dropped since the last delivered event
	total    int64 // loop-owned: dropped in this Run
}

func newObserver(t *Tree, hooks []func(Event), log *slog.Logger) *observer {
	if len(hooks) == 0 && log == nil {
		return nil
	}
	o := &observer{ch: make(chan Event, observerBuffer), done: make(chan struct{}), hooks: hooks, log: log, turn: t.hookTurn}
	go o.run()
	return o
}

// emit queues e without ever blocking.
func (o *observer) emit(e Event) {
	e.Time = time.Now()
	e.Dropped = o.dropped
	select {
	case o.ch <- e:
		o.dropped = 0
	default:
		o.dropped++
		o.total++
	}
}

// close waits for the queued events to be delivered, at most observerDrain,
// then detaches the observer.
func (o *observer) close() {
	close(o.ch)
	t := time.NewTimer(observerDrain)
	defer t.Stop()
	select {
	case <-o.done:
	case <-t.C:
		o.detached.Store(true)
	}
}

func (o *observer) run() {
	defer close(o.done)
	for e := range o.ch {
		if o.detached.Load() {
			continue
		}
		o.turn <- struct{}{}
		if !o.detached.Load() {
			o.deliver(e)
		}
		<-o.turn
	}
}

func (o *observer) deliver(e Event) {
	if o.log != nil {
		o.call(func() { o.logEvent(e) })
	}
	for _, h := range o.hooks {
		o.call(func() { h(e) })
	}
}

// call runs f, recovering a panic: a panicking hook or handler costs only
// its own delivery of this event.
func (o *observer) call(f func()) {
	defer func() { _ = recover() }()
	f()
}

func (o *observer) logEvent(e Event) {
	level := slog.LevelDebug
	switch e.Kind {
	case TreeStarted, TreeStopped, TreeReady:
		level = slog.LevelInfo
		if e.Kind == TreeStopped && e.Err != nil {
			level = slog.LevelError
		}
	case ChildExited:
		switch {
		case e.Shutdown:
			level = slog.LevelDebug // the tree stopped it
		case e.WillRestart || e.Err != nil:
			level = slog.LevelWarn
		default:
			level = slog.LevelInfo
		}
	case RestartScheduled, WatchdogTimeout:
		level = slog.LevelWarn
	case GaveUp, ShutdownTimeout:
		level = slog.LevelError
	}
	ctx := context.Background()
	if !o.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String("tree", e.Tree))
	if e.Child != "" {
		attrs = append(attrs, slog.String("child", e.Child), slog.Int("restarts", e.Restarts))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.Any("err", e.Err))
	}
	if e.Kind == RestartScheduled {
		attrs = append(attrs, slog.Duration("delay", e.Delay))
	}
	if e.Dropped > 0 {
		attrs = append(attrs, slog.Int("dropped", e.Dropped))
	}
	o.log.LogAttrs(ctx, level, "supervisor: "+e.Kind.String(), attrs...)
}
