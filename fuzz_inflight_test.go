// fuzz_inflight_test.go: FuzzInflight, the fuzz target that issues API
// calls from several goroutines while starts, stops and group restarts are
// in flight, and checks invariants and coarse properties (no model).

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// FuzzInflight decodes its input into a tree, its static children, and one
// sequence of operations per caller goroutine (2 to 4 of them), then runs
// everything at once inside a synctest bubble: the callers start at the
// same instant as Run, so their Add, Terminate, Restart and Delete calls
// land during Run's initial start, during group restarts, backoff delays,
// slow starts (WaitReady children that call Ready late or fail before it)
// and slow stops (children that take their time, or overrun their Shutdown
// and are abandoned). Children misbehave (fail, miss heartbeats, return
// ErrDoNotRestart or ErrStopTree) only in their first few incarnations,
// then run quietly, so the tree must come to rest.
//
// Checked: every call returns an error the API documents; a failed Add of
// a name only its caller adds leaves no spec; the loop's invariants hold
// throughout (checkInvariants, polled); once the callers are done and the
// fake clock has moved on, every call has returned (a call that never
// returns is reported as a hang before the bubble's deadlock panic), no
// child is Starting, Restarting or Stopping, Count agrees with Children;
// after cancel, Run (or Start) has returned an error it documents and no
// child body is still executing.
//
// Recorded runs (go test -run XXX -fuzz '^FuzzInflight$' -parallel 1, 2
// vCPU shared with other engineers' builds and tests, load average 5 to 13,
// Go 1.26.8, redesigned core 57b83a8): 25m, 488,096 execs (before re-runs
// were added); 34m1s, 1,353,974 execs; 10m, 363,230 execs; no failure
// (2,205,300 execs in 69m); core with the three defects FuzzTree found
// fixed and one inbox for everything (main of 12:17, 25 Nov): 20m, 851,657
// execs, no failure. With AddAsync (odd callers of SimpleOneForOne trees
// use it) and the exit report in the incarnation: 3m, 86,825 execs (first
// AddAsync), then 10m, 384,419 execs on the final core while an etcd soak
// and three busy loops loaded the machine; no failure. Child context
// holding its Done channel itself: 6m, 191,394 execs (before the fix
// FuzzTree prompted; this test did not see that race), then 8m, 268,608
// execs on the fixed core, and 8m, 357,713 execs with generated names no
// longer looked up; no failure. Smaller records and names found by number:
// 4m, 111,164 execs, then 8m, 230,456 execs on the final code; no failure.
// The loop as a role (callers serve the inbox; 17324f6), alongside FuzzTree:
// 8m, 302,241 execs; then alone, -parallel 2, on 8f029e4: 6m, 460,633
// execs; with children taking Run's profiler labels (9b7f84c), alongside
// FuzzTree: 10m, 381,132 execs; no failure. Immediate restarts on the
// child's own goroutine (0d783d6): 1m30s, 149,288 execs; the §2
// conformance fixes (a12e05c): 1m30s, 81,344 execs; contexts cancelled
// when Run returns (b622748), quiet machine, alone: 8m, 742,870 execs;
// 96-byte records, the flag-bit lock and the starts stack (3f807e1),
// alone: 4m, 437,251 execs; no failure. (A first version held a
// sync.Mutex across a channel receive, which synctest does not count as
// durable blocking, so a bubble could stall instead of advancing its
// clock: the lock is now a channel.)
func FuzzInflight(f *testing.F) {
	f.Add([]byte{0x11, 3, 0x53, 4, 0, 0x0c, 0x45, 0x11, 0x21, 0x77, 0x02, 0, 1, 9, 1, 0, 2, 3, 3, 5, 0, 0, 2, 1, 1, 6, 7})
	f.Add([]byte{0x05, 2, 0x12, 3, 0x44, 0x0c, 0x04, 0x28, 0x16, 0x44, 0x83, 0x01, 0, 1, 3, 2, 1, 0, 4, 9, 3, 2, 1, 1, 0, 0, 5})
	f.Add([]byte{0x02, 5, 0x31, 4, 0x44, 0x6d, 0x05, 0x3c, 0x3a, 0x02, 0xf1, 0x09, 0x00, 0x7c, 0, 2, 0, 1, 0, 2, 4, 2, 1, 3, 3, 0, 2, 2})
	f.Add([]byte{0x03, 1, 0x22, 0, 0, 0, 0x47, 0x9e, 0, 0x2f, 0x19, 0, 0x40, 1, 0, 0x40, 0, 2, 2, 1, 3, 3, 0, 0x41, 9})
	f.Add([]byte{0x19, 0, 0x00, 3, 0x84, 0x3c, 0x01, 0x64, 0x16, 0x41, 0x34, 0x07, 1, 1, 0, 2, 0, 8, 3, 1, 2, 2, 0, 7, 1})
	f.Add([]byte{0x01, 5, 0x05, 3, 0x0c, 0x61, 0x23, 0x44, 0x26, 0x0b, 0x1a, 0x47, 0x01, 1,
		0xf5, 0, 0, 3, 1, 0, 2, 0, 0, 6, 3, 0, 0xf6, 0, 0, 4, 1, 0, 0, 2, 0x44, 3, 2, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { runInflight(t, data) })
	})
}

// inflightSpec is a child's behaviour, decoded from three bytes.
type inflightSpec struct {
	restart     Restart
	waitReady   bool
	startDelay  time.Duration // before Ready, or before anything if not WaitReady
	deafStart   bool          // ignores cancellation while starting
	failStart   bool          // misbehaving incarnations return before Ready (WaitReady only)
	life        time.Duration // misbehaving incarnations exit after this; 0: they run until cancelled
	exit        int           // how they exit: see inflightExits
	bad         int           // how many incarnations misbehave
	stopDelay   time.Duration // after cancellation, before returning
	watchdog    time.Duration
	beat        bool // misbehaving incarnations heartbeat too (well-behaved ones always do)
	shutdown    time.Duration
	significant bool
}

var inflightExits = [...]string{"nil", "boom", "panic", "do-not-restart", "canceled", "stop-tree"}

func decodeInflightSpec(a, b, c byte, auto AutoShutdown) inflightSpec {
	s := inflightSpec{
		restart:    Restart(a % 3),
		waitReady:  a&4 != 0,
		startDelay: time.Duration(a>>3&3) * 300 * time.Millisecond,
		deafStart:  a&0x20 != 0,
		failStart:  a&0x40 != 0,
		life:       time.Duration(b&3) * 700 * time.Millisecond,
		exit:       int(b>>2&7) % 6,
		bad:        int(b >> 5 & 3),
		stopDelay:  time.Duration(c&3) * 600 * time.Millisecond,
		watchdog:   time.Duration(c>>2&3) * 500 * time.Millisecond,
		beat:       c&0x10 != 0,
		shutdown:   time.Duration(c>>5&1+1) * time.Second,
	}
	if s.exit == 5 && b&0x80 == 0 {
		s.exit = 1 // ErrStopTree ends the test early: keep it rare
	}
	s.significant = c&0x40 != 0 && s.restart != Permanent && auto != Never
	return s
}

// inflight is the state of one FuzzInflight run.
type inflight struct {
	t   *testing.T
	t0  time.Time
	tr  *Tree
	mu  sync.Mutex
	log []string // what happened, for the failure report
	inc map[string]int

	live    atomic.Int32 // child bodies executing
	calls   map[int]string
	callSeq int

	runMu    chan struct{} // a lock (capacity 1) that synctest sees as durable blocking; guards cancel, errc, reruns
	cancel   context.CancelFunc
	errc     chan error
	reruns   int
	useStart bool
	failed   atomic.Bool
	deaf     bool // some child may overrun its Shutdown
}

func (f *inflight) note(format string, args ...any) {
	f.mu.Lock()
	f.log = append(f.log, fmt.Sprintf("%v ", time.Since(f.t0))+fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *inflight) fail(format string, args ...any) {
	if !f.failed.CompareAndSwap(false, true) {
		return
	}
	f.mu.Lock()
	log := strings.Join(f.log, "\n  ")
	f.mu.Unlock()
	f.t.Errorf("%s\nlog:\n  %s", fmt.Sprintf(format, args...), log)
}

// body returns the Run of a child with behaviour s.
func (f *inflight) body(name string, s inflightSpec) func(context.Context) error {
	return func(ctx context.Context) error {
		f.live.Add(1)
		defer f.live.Add(-1)
		f.mu.Lock()
		f.inc[name]++
		n := f.inc[name]
		f.mu.Unlock()
		bad := n <= s.bad
		sleep := func(d time.Duration, deaf bool) bool { // false: cancelled
			if deaf {
				time.Sleep(d)
				return ctx.Err() == nil
			}
			select {
			case <-time.After(d):
				return true
			case <-ctx.Done():
				return false
			}
		}
		stopped := func() error {
			time.Sleep(s.stopDelay)
			return ctx.Err()
		}
		startDelay := s.startDelay
		if !bad && s.watchdog > 0 && !s.waitReady {
			startDelay = 0 // its heartbeat is due from its start: a quiet start would fail
		}
		if !sleep(startDelay, s.deafStart) {
			return stopped()
		}
		if bad && s.failStart && s.waitReady {
			return inflightExit(s.exit) // before Ready: a failed start (ErrDoNotRestart: declined)
		}
		Ready(ctx)
		Heartbeat(ctx)
		var beat <-chan time.Time
		if s.watchdog > 0 && (!bad || s.beat) {
			tk := time.NewTicker(s.watchdog / 2)
			defer tk.Stop()
			beat = tk.C
		}
		var end <-chan time.Time
		if bad && s.life > 0 {
			end = time.After(s.life)
		}
		for {
			select {
			case <-beat:
				Heartbeat(ctx)
			case <-ctx.Done():
				return stopped()
			case <-end:
				return inflightExit(s.exit)
			}
		}
	}
}

// inflightExit is how a misbehaving incarnation ends by itself.
func inflightExit(kind int) error {
	switch inflightExits[kind] {
	case "nil":
		return nil
	case "boom":
		return errBoom
	case "panic":
		panic("inflight panic")
	case "do-not-restart":
		return fmt.Errorf("done: %w", ErrDoNotRestart)
	case "canceled":
		return context.Canceled
	}
	return fmt.Errorf("fatal: %w", ErrStopTree)
}

// do runs one API call, checking that it returns and what it returns.
func (f *inflight) do(desc string, call func() error, allowed ...error) error {
	f.mu.Lock()
	f.callSeq++
	id := f.callSeq
	f.calls[id] = desc
	f.mu.Unlock()
	err := call()
	f.mu.Lock()
	delete(f.calls, id)
	f.mu.Unlock()
	f.note("%s -> %v", desc, err)
	if err == nil {
		return nil
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return err
		}
	}
	f.fail("%s returned %v, not among %v", desc, err, allowed)
	return err
}

var inflightStatic = [...]string{"s0", "s1", "s2", "s3"}

// newInflight decodes the tree and its static children from the start of
// data; it returns the run's state, the auto shutdown, and where the rest
// of the input begins.
func newInflight(t *testing.T, at func(int) byte) (*inflight, AutoShutdown, int) {
	f := &inflight{t: t, t0: time.Now(), runMu: make(chan struct{}, 1), inc: map[string]int{}, calls: map[int]string{}}
	strategy := Strategy(at(0) % 4)
	auto := Never
	if strategy != SimpleOneForOne {
		auto = AutoShutdown(at(0) >> 2 % 3)
	}
	opts := []Option{WithStrategy(strategy), WithAutoShutdown(auto), withJitter(func() float64 { return 0.5 })}
	if r := int(at(1) % 6); r == 5 {
		opts = append(opts, WithUnlimitedRestarts())
	} else {
		opts = append(opts, WithIntensity(r+1, time.Duration(at(1)>>3%4+1)*time.Second))
	}
	if b := at(2); b&3 != 0 {
		opts = append(opts, WithBackoff(time.Duration(b&3)*100*time.Millisecond, time.Duration(b>>2%4+1)*time.Second))
	}
	useStart := at(2)&0x80 != 0
	pos := 3
	specs := map[string]inflightSpec{}
	if strategy != SimpleOneForOne {
		n := int(at(pos) % 5)
		pos++
		var real []Spec
		for i := 0; i < n; i++ {
			s := decodeInflightSpec(at(pos), at(pos+1), at(pos+2), auto)
			pos += 3
			name := inflightStatic[i]
			specs[name] = s
			real = append(real, f.realSpec(name, s))
		}
		opts = append(opts, WithChildren(real...))
	}
	var err error
	if f.tr, err = New(opts...); err != nil {
		t.Fatal(err)
	}
	f.note("tree %v %v static %+v", strategy, auto, specs)
	f.useStart = useStart
	return f, auto, pos
}

func runInflight(t *testing.T, data []byte) {
	at := func(i int) byte {
		if i < len(data) {
			return data[i]
		}
		return 0
	}
	f, auto, pos := newInflight(t, at)
	f.launch()
	// Let Run begin: the callers then land during its initial start when a
	// child is slow to start, and after it otherwise.
	synctest.Wait()
	callers := int(at(pos)%3) + 2
	pos++
	ops := data[min(pos, len(data)):]
	var wg sync.WaitGroup
	for g := 0; g < callers; g++ {
		var mine []byte
		for i := g * 3; i+2 < len(ops) && i/3 < 24*callers; i += 3 * callers {
			mine = append(mine, ops[i:i+3]...)
		}
		wg.Add(1)
		go func() { defer wg.Done(); f.caller(g, mine, auto) }()
	}
	stopPoll := make(chan struct{})
	go f.poll(stopPoll)
	f.settle(&wg, stopPoll)
	synctest.Wait()
	if os.Getenv("ARBOR_FUZZ_TRACE") != "" {
		f.mu.Lock()
		t.Logf("log:\n  %s", strings.Join(f.log, "\n  "))
		f.mu.Unlock()
	}
}

// launch runs the tree in the background (with Run or Start).
func (f *inflight) launch() {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	f.cancel, f.errc = cancel, errc
	if f.useStart {
		go func() { errc <- <-f.tr.Start(ctx) }()
	} else {
		go func() { errc <- f.tr.Run(ctx) }()
	}
}

// rerun cancels the tree, checks what Run returned, and runs it again: the
// callers go on meanwhile, and old incarnations may still be returning.
func (f *inflight) rerun() {
	f.runMu <- struct{}{}
	defer func() { <-f.runMu }()
	if f.reruns >= 2 {
		return
	}
	f.reruns++
	f.cancel()
	err := <-f.errc
	f.note("Run returned %v; Run again", err)
	f.checkRunErr(err)
	f.launch()
}

func (f *inflight) realSpec(name string, s inflightSpec) Spec {
	if s.deafStart || s.stopDelay >= s.shutdown {
		f.deaf = true
	}
	return Spec{Name: name, Restart: s.restart, WaitReady: s.waitReady, Watchdog: s.watchdog,
		Shutdown: s.shutdown, Significant: s.significant, Run: f.body(name, s)}
}

// poll checks the loop's invariants while everything happens.
func (f *inflight) poll(stop chan struct{}) {
	tk := time.NewTicker(70 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
			if err := f.tr.checkInvariants(); err != nil {
				f.fail("invariant: %v", err)
			}
		}
	}
}

// names every caller may stop; caller g adds only names "g<g>.<i>".
func inflightName(b byte) string {
	if b&4 == 0 {
		return inflightStatic[b%4]
	}
	return fmt.Sprintf("g%d.%d", b>>3%4, b&1)
}

// caller performs one goroutine's operations, three bytes each.
func (f *inflight) caller(g int, ops []byte, auto AutoShutdown) {
	for i := 0; i+2 < len(ops) && !f.failed.Load(); i += 3 {
		code, a, b := ops[i], ops[i+1], ops[i+2]
		name := inflightName(a)
		switch code % 8 {
		case 0, 1:
			name = fmt.Sprintf("g%d.%d", g, a&1)
			s := decodeInflightSpec(b, a>>1, code>>3, auto)
			if g%2 == 1 && !s.waitReady && f.tr.cfg.strategy == SimpleOneForOne {
				f.addAsync(g, s)
				continue
			}
			spec := f.realSpec(name, s)
			err := f.do(fmt.Sprintf("Add(%s %+v)", name, s), func() error {
				got, err := f.tr.Add(spec)
				if err == nil && got != name {
					return fmt.Errorf("Add returned name %q", got)
				}
				return err
			}, ErrDuplicateChild, ErrStartFailed, ErrNotRunning)
			if errors.Is(err, ErrStartFailed) {
				// Only this caller adds this name: a failed Add keeps nothing.
				if _, cerr := f.tr.Child(name); !errors.Is(cerr, ErrUnknownChild) {
					f.fail("Add(%s) failed with %v, yet Child says %v", name, err, cerr)
				}
			}
		case 2:
			f.do("Terminate("+name+")", func() error { return f.tr.Terminate(name) },
				ErrUnknownChild, ErrNotRunning, ErrShutdownTimeout)
		case 3:
			f.do("Restart("+name+")", func() error { return f.tr.Restart(name) },
				ErrUnknownChild, ErrNotRunning, ErrShutdownTimeout, ErrStartFailed)
		case 4:
			f.do("Delete("+name+")", func() error { return f.tr.Delete(name) },
				ErrUnknownChild, ErrShutdownTimeout)
		case 5, 6:
			if code >= 0xf0 {
				f.rerun()
				continue
			}
			time.Sleep(time.Duration(a%16) * 150 * time.Millisecond)
		case 7:
			f.tr.Children()
			f.tr.Count()
			f.do("Child("+name+")", func() error { _, err := f.tr.Child(name); return err }, ErrUnknownChild)
		}
	}
}

// addAsync adds a child with AddAsync (odd callers of a SimpleOneForOne
// tree do): it is registered before the next call of this caller.
func (f *inflight) addAsync(g int, s inflightSpec) {
	spec := f.realSpec(fmt.Sprintf("g%d.async", g), s)
	spec.Name = ""
	var name string
	err := f.do(fmt.Sprintf("AddAsync(%+v)", s), func() error {
		var err error
		name, err = f.tr.AddAsync(spec)
		return err
	}, ErrNotRunning)
	if err != nil {
		return
	}
	if _, err := f.tr.Child(name); err != nil && !errors.Is(err, ErrUnknownChild) {
		f.fail("Child(%s) after AddAsync: %v", name, err)
	}
}

// settle waits for the callers, checks the tree at rest, cancels it and
// checks that everything ended.
func (f *inflight) settle(wg *sync.WaitGroup, stopPoll chan struct{}) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	finished := false // the callers' own sleeps add up to a few minutes at most
	for i := 0; i < 60 && !finished; i++ {
		select {
		case <-done:
			finished = true
		case <-time.After(5 * time.Second):
		}
	}
	close(stopPoll)
	time.Sleep(time.Minute) // far beyond any delay of the children: the tree comes to rest
	synctest.Wait()
	if !finished {
		f.mu.Lock()
		var calls []string
		for _, c := range f.calls {
			calls = append(calls, c)
		}
		f.mu.Unlock()
		f.fail("HANG: calls still pending 5 minutes after the callers began: %v", calls)
		f.runMu <- struct{}{}
		f.cancel()
		<-f.runMu
		return // the bubble will panic on the blocked goroutines
	}
	f.runMu <- struct{}{} // the callers are done: no rerun from now on
	errc, cancel := f.errc, f.cancel
	<-f.runMu
	var runErr error
	returned := false
	select {
	case runErr = <-errc:
		returned = true
	default:
		f.atRest()
	}
	cancel()
	time.Sleep(time.Minute)
	synctest.Wait()
	if !returned {
		select {
		case runErr = <-errc:
		default:
			f.fail("HANG: Run has not returned a minute after cancel")
			return
		}
	}
	f.note("Run returned %v", runErr)
	f.checkRunErr(runErr)
	if n := f.live.Load(); n != 0 {
		f.fail("%d child bodies still executing after Run returned", n)
	}
	if err := f.tr.checkInvariants(); err != nil {
		f.fail("stopped tree: %v", err)
	}
	if c, l := f.tr.Count(), f.tr.Children(); c.Specs != len(l) || c.Active != 0 {
		f.fail("stopped tree: Count %+v, %d children", c, len(l))
	}
}

// atRest checks a running tree with nothing in flight.
func (f *inflight) atRest() {
	if err := f.tr.checkInvariants(); err != nil {
		f.fail("at rest: invariant: %v", err)
	}
	list := f.tr.Children()
	running := 0
	for _, c := range list {
		switch c.State {
		case Running:
			running++
		case Stopped:
		default:
			f.fail("at rest: child %s is %v: %+v", c.Name, c.State, list)
		}
	}
	if c := f.tr.Count(); c.Specs != len(list) || c.Active != running {
		f.fail("at rest: Count %+v, Children %+v", c, list)
	}
}

func (f *inflight) checkRunErr(err error) {
	if err == nil {
		return
	}
	known := false
	for _, e := range []error{ErrTooManyRestarts, ErrStartFailed, ErrStopTree, ErrShutdownTimeout} {
		known = known || errors.Is(err, e)
	}
	if !known {
		f.fail("Run returned %v", err)
	}
	if errors.Is(err, ErrShutdownTimeout) && !f.deaf {
		f.fail("Run returned %v, yet no child overruns its Shutdown", err)
	}
}
