// contenders.go: the three ways of running goroutines that are compared
// (arbor, suture, bare) and the workloads each runs.

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/thejerf/suture/v4"
)

var errBoom = errors.New("boom")

// contender runs the workloads against one way of running goroutines.
//
// A population is created with open, filled with spawn (each child calls
// started.Done once it runs, then blocks until cancelled), exercised with
// churn (one extra child added and removed, m times), and torn down with
// close, which returns once every child has returned. churnPar is churn
// from several goroutines at once (m pairs in all, shared out evenly).
// restart is separate: it runs one always-failing child until it has been
// restarted m times.
type contender interface {
	name() string
	open()
	spawn(n int)
	churn(m int)
	churnPar(m, callers int)
	close()
	restart(m int)
}

// parallel runs op m times in all from callers goroutines, each running its
// share one after the other, and returns once all are done.
func parallel(m, callers int, op func()) {
	var wg sync.WaitGroup
	for i := range callers {
		share := m / callers
		if i < m%callers {
			share++
		}
		wg.Go(func() {
			for range share {
				op()
			}
		})
	}
	wg.Wait()
}

// ---------------------------------------------------------------- arbor

// arborC: one SimpleOneForOne tree, default options (no logger, no hook,
// default Shutdown of 5s per child). Children get generated names. With
// async, children are added with AddAsync (returns without waiting for the
// tree) instead of Add (returns once the tree has started the child).
type arborC struct {
	async  bool
	ctx    context.Context
	cancel context.CancelFunc
	tree   *supervisor.Tree
	runErr <-chan error
}

func (a *arborC) name() string { return "arbor" }

func (a *arborC) open() {
	t, err := supervisor.New(supervisor.WithStrategy(supervisor.SimpleOneForOne))
	must(err)
	a.tree = t
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.runErr = t.Start(a.ctx) // returns once the tree runs
}

// spawn adds n Permanent children one after the other; Add returns once the
// child's goroutine has entered Run.
func (a *arborC) spawn(n int) {
	var started sync.WaitGroup
	started.Add(n)
	run := func(ctx context.Context) error {
		started.Done()
		<-ctx.Done()
		return nil
	}
	for range n {
		_, err := a.add(supervisor.Spec{Run: run})
		must(err)
	}
	started.Wait()
}

// add is Add, or AddAsync.
func (a *arborC) add(spec supervisor.Spec) (string, error) {
	if a.async {
		return a.tree.AddAsync(spec)
	}
	return a.tree.Add(spec)
}

// churn: Add (returns once the child runs) + Delete (returns once it has
// returned).
func (a *arborC) churn(m int) {
	spec := supervisor.Spec{Run: blockRun}
	for range m {
		name, err := a.add(spec)
		must(err)
		must(a.tree.Delete(name))
	}
}

// churnPar: churn's Add + Delete pairs from several callers at once, all on
// the one tree.
func (a *arborC) churnPar(m, callers int) {
	spec := supervisor.Spec{Run: blockRun}
	parallel(m, callers, func() {
		name, err := a.add(spec)
		must(err)
		must(a.tree.Delete(name))
	})
}

// close cancels Run's context and waits for Run to return (SimpleOneForOne
// stops all children at once and returns when every one has returned). It
// drops the tree, so that what it holds does not add to the live heap the
// next contender's spawn begins with (as for every contender).
func (a *arborC) close() {
	a.cancel()
	must(<-a.runErr)
	a.tree = nil
}

// restart: one Permanent child that fails at once under OneForOne. The
// intensity (10 in 1ns) never trips, since restarts are µs apart.
func (a *arborC) restart(m int) {
	var runs atomic.Int64
	done := make(chan struct{})
	target := int64(m) + 1 // the first run is the initial start
	t, err := supervisor.New(
		supervisor.WithStrategy(supervisor.OneForOne),
		supervisor.WithIntensity(10, time.Nanosecond),
		supervisor.WithChildren(supervisor.Spec{Name: "crasher", Run: func(ctx context.Context) error {
			if runs.Add(1) == target {
				close(done)
				<-ctx.Done()
				return nil
			}
			return errBoom
		}}),
	)
	must(err)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := t.Start(ctx)
	<-done
	cancel()
	must(<-runErr)
}

// ---------------------------------------------------------------- suture

// sutureC: one suture.Supervisor, EventHook a no-op (the default logs every
// event with log.Print), default Timeout (10s). Services implement
// fmt.Stringer so Add does not fall back to fmt.Sprintf("%#v").
type sutureC struct {
	ctx    context.Context
	cancel context.CancelFunc
	sup    *suture.Supervisor
	errc   <-chan error
}

type svc struct {
	started *sync.WaitGroup
}

func (s svc) Serve(ctx context.Context) error {
	if s.started != nil {
		s.started.Done()
	}
	<-ctx.Done()
	return nil
}

func (svc) String() string { return "svc" }

type crasher struct {
	runs   *atomic.Int64
	target int64
	done   chan struct{}
}

func (c crasher) Serve(ctx context.Context) error {
	if c.runs.Add(1) == c.target {
		close(c.done)
		<-ctx.Done()
		return nil
	}
	return errBoom
}

func (crasher) String() string { return "crasher" }

func (s *sutureC) name() string { return "suture" }

func sutureSpec() suture.Spec {
	return suture.Spec{
		EventHook: func(suture.Event) {},
		// Never back off: restart every failure at once.
		FailureThreshold: math.MaxFloat64,
		FailureBackoff:   time.Nanosecond,
		BackoffJitter:    suture.NoJitter{},
	}
}

func (s *sutureC) open() {
	s.sup = suture.New("bench", sutureSpec())
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.errc = s.sup.ServeBackground(s.ctx) // returns once the supervisor runs
}

// spawn: Add returns once the service's goroutine is launched, so the
// started WaitGroup is what says they all run.
func (s *sutureC) spawn(n int) {
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		s.sup.Add(svc{&started})
	}
	started.Wait()
}

// churn: Add + RemoveAndWait (returns once the service has returned).
func (s *sutureC) churn(m int) {
	for range m {
		tok := s.sup.Add(svc{})
		must(s.sup.RemoveAndWait(tok, 0))
	}
}

// churnPar: churn's Add + RemoveAndWait pairs from several callers at once,
// all on the one supervisor.
func (s *sutureC) churnPar(m, callers int) {
	parallel(m, callers, func() {
		tok := s.sup.Add(svc{})
		must(s.sup.RemoveAndWait(tok, 0))
	})
}

// close cancels Serve's context and waits for Serve to return (it cancels
// every service and waits for all of them), then drops the supervisor (see
// arborC.close).
func (s *sutureC) close() {
	s.cancel()
	<-s.errc
	s.sup = nil
}

func (s *sutureC) restart(m int) {
	var runs atomic.Int64
	c := crasher{runs: &runs, target: int64(m) + 1, done: make(chan struct{})}
	sup := suture.New("restart", sutureSpec())
	sup.Add(c)
	ctx, cancel := context.WithCancel(context.Background())
	errc := sup.ServeBackground(ctx)
	<-c.done
	cancel()
	<-errc
}

// ---------------------------------------------------------------- bare

// bareC: plain goroutines sharing one context, counted by a WaitGroup.
type bareC struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (b *bareC) name() string { return "bare" }

func (b *bareC) open() {
	b.ctx, b.cancel = context.WithCancel(context.Background())
}

func (b *bareC) spawn(n int) {
	var started sync.WaitGroup
	started.Add(n)
	ctx := b.ctx
	for range n {
		b.wg.Add(1)
		go func() {
			started.Done()
			<-ctx.Done()
			b.wg.Done()
		}()
	}
	started.Wait()
}

// churn: a goroutine with its own cancellable context, cancelled, and waited
// for until it has returned.
func (b *bareC) churn(m int) {
	for range m {
		b.churnOne()
	}
}

func (b *bareC) churnOne() { churnUnder(b.ctx) }

// churnUnder runs one bare pair: a goroutine under its own context, a child
// of parent, cancelled and waited for until it has returned.
func churnUnder(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	go func() {
		<-ctx.Done()
		close(done)
	}()
	cancel()
	<-done
}

// churnPar: churn's pairs from several callers at once.
func (b *bareC) churnPar(m, callers int) { parallel(m, callers, b.churnOne) }

// close: cancel + wg.Wait.
func (b *bareC) close() {
	b.cancel()
	b.wg.Wait()
}

// restart: a hand-written minimal supervisor goroutine: the child goroutine
// returns its error on a channel; the supervisor respawns it at once.
func (b *bareC) restart(m int) { bareRestart(m, false) }

// bareRestart is the bare restart workload; with own, each incarnation runs
// under its own context.WithCancel, released once it has returned, as a
// supervisor that can stop one child alone must do (the reference figure).
func bareRestart(m int, own bool) {
	var runs atomic.Int64
	target := int64(m) + 1
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	child := func(ctx context.Context) error {
		if runs.Add(1) == target {
			close(done)
			<-ctx.Done()
			return nil
		}
		return errBoom
	}
	exits := make(chan error)
	supDone := make(chan struct{})
	go func() { // the supervisor: one incarnation at a time
		defer close(supDone)
		spawn := func() { go func() { exits <- child(ctx) }() }
		if own {
			spawn = func() {
				ictx, icancel := context.WithCancel(ctx)
				go func() {
					err := child(ictx)
					icancel()
					exits <- err
				}()
			}
		}
		spawn()
		for {
			<-exits
			if ctx.Err() != nil {
				return // the last incarnation returned because we cancelled
			}
			spawn()
		}
	}()
	<-done
	cancel()
	<-supDone
}

func blockRun(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func must(err error) {
	if err != nil {
		panic(fmt.Sprint("bench: ", err))
	}
}
