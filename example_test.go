package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbor-go/supervisor"
)

// demo makes children that print their life cycle and report each start, so
// that the examples can drive a tree step by step.
type demo struct{ started chan string }

func newDemo() demo { return demo{started: make(chan string, 100)} }

// spec is a WaitReady child: it prints "start", becomes ready, and runs until
// cancelled ("stop") or told to crash ("crash").
func (d demo) spec(name string, crash <-chan struct{}) supervisor.Spec {
	return supervisor.Spec{Name: name, WaitReady: true, Run: func(ctx context.Context) error {
		fmt.Println("start", name)
		supervisor.Ready(ctx)
		d.started <- name
		select {
		case <-ctx.Done():
			fmt.Println("stop", name)
			return nil
		case <-crash:
			fmt.Println("crash", name)
			return errors.New("crashed")
		}
	}}
}

// wait blocks until n more children have started.
func (d demo) wait(n int) {
	for range n {
		<-d.started
	}
}

// Example shows the smallest useful tree: one child that fails twice and is
// restarted each time.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	tree, err := supervisor.New(
		supervisor.WithName("app"),
		supervisor.WithChildren(supervisor.Spec{
			Name: "worker",
			Run: func(ctx context.Context) error {
				runs++
				if runs < 3 {
					fmt.Println("worker fails, run", runs)
					return errors.New("glitch")
				}
				fmt.Println("worker is up, run", runs)
				cancel() // end the example
				<-ctx.Done()
				return nil
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	fmt.Println("Run returned", tree.Run(ctx))
	// Output:
	// worker fails, run 1
	// worker fails, run 2
	// worker is up, run 3
	// Run returned <nil>
}

// OneForOne restarts only the child that failed.
func Example_oneForOne() {
	d, crash := newDemo(), make(chan struct{}, 1)
	tree, _ := supervisor.New(supervisor.WithStrategy(supervisor.OneForOne),
		supervisor.WithChildren(d.spec("db", nil), d.spec("cache", crash), d.spec("api", nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tree.Run(ctx) }()
	d.wait(3)
	crash <- struct{}{}
	d.wait(1)
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// start db
	// start cache
	// start api
	// crash cache
	// start cache
	// stop api
	// stop cache
	// stop db
	// Run returned <nil>
}

// OneForAll stops the other children in reverse start order and starts all of
// them again in start order.
func Example_oneForAll() {
	d, crash := newDemo(), make(chan struct{}, 1)
	tree, _ := supervisor.New(supervisor.WithStrategy(supervisor.OneForAll),
		supervisor.WithChildren(d.spec("db", nil), d.spec("cache", crash), d.spec("api", nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tree.Run(ctx) }()
	d.wait(3)
	crash <- struct{}{}
	d.wait(3)
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// start db
	// start cache
	// start api
	// crash cache
	// stop api
	// stop db
	// start db
	// start cache
	// start api
	// stop api
	// stop cache
	// stop db
	// Run returned <nil>
}

// RestForOne restarts the failed child and every child started after it.
func Example_restForOne() {
	d, crash := newDemo(), make(chan struct{}, 1)
	tree, _ := supervisor.New(supervisor.WithStrategy(supervisor.RestForOne),
		supervisor.WithChildren(d.spec("db", nil), d.spec("cache", crash), d.spec("api", nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tree.Run(ctx) }()
	d.wait(3)
	crash <- struct{}{}
	d.wait(2)
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// start db
	// start cache
	// start api
	// crash cache
	// stop api
	// start cache
	// start api
	// stop api
	// stop cache
	// stop db
	// Run returned <nil>
}

// SimpleOneForOne is a pool of equal workers added at run time, stopped all
// at once when the tree stops.
func Example_simpleOneForOne() {
	tree, _ := supervisor.New(supervisor.WithStrategy(supervisor.SimpleOneForOne), supervisor.WithMaxChildren(3))
	ctx, cancel := context.WithCancel(context.Background())
	done := tree.Start(ctx) // returns once the tree runs
	for {
		if _, err := tree.Add(supervisor.Spec{Run: func(ctx context.Context) error { <-ctx.Done(); return nil }}); err != nil {
			fmt.Println(errors.Is(err, supervisor.ErrMaxChildren), err)
			break
		}
	}
	fmt.Printf("%+v\n", tree.Count())
	cancel()
	fmt.Println("Run returned", <-done, "children left:", tree.Count().Specs)
	// Output:
	// true supervisor: tree "supervisor": child "child-4": too many children (the tree holds 3 children, its limit)
	// {Specs:3 Active:3 Supervisors:0}
	// Run returned <nil> children left: 0
}

// AddAsync adds a child the way a go statement starts a goroutine: it does
// not wait for the tree, yet the child is registered before any call made
// after it, so Count and Delete see it at once.
func ExampleTree_AddAsync() {
	tree, _ := supervisor.New(supervisor.WithStrategy(supervisor.SimpleOneForOne))
	ctx, cancel := context.WithCancel(context.Background())
	done := tree.Start(ctx)
	var names []string
	for range 3 {
		name, err := tree.AddAsync(supervisor.Spec{Run: func(ctx context.Context) error { <-ctx.Done(); return nil }})
		if err != nil {
			fmt.Println(err)
			break
		}
		names = append(names, name)
	}
	fmt.Println(names, tree.Count().Specs)
	fmt.Println(tree.Delete(names[0]), tree.Count().Specs)
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// [child-1 child-2 child-3] 3
	// <nil> 2
	// Run returned <nil>
}

// A tree is a child like any other. A subtree that gives up is a failing child
// of its parent, which restarts it with a fresh restart history.
func Example_nested() {
	d, crash := newDemo(), make(chan struct{}, 2)
	db, _ := supervisor.New(supervisor.WithName("db"), supervisor.WithIntensity(1, time.Minute),
		supervisor.WithChildren(d.spec("pool", crash), d.spec("replicator", nil)))
	root, _ := supervisor.New(supervisor.WithName("root"), supervisor.WithChildren(
		supervisor.Spec{Name: "db", Run: db.Run, Shutdown: supervisor.Infinity, WaitReady: true},
		d.spec("api", nil),
	))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- root.Run(ctx) }()
	d.wait(3)
	crash <- struct{}{} // restart 1 of 1: fine
	d.wait(1)
	crash <- struct{}{} // restart 2: db gives up, root restarts db
	d.wait(2)
	fmt.Println("db restarts:", root.Children()[0].Restarts)
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// start pool
	// start replicator
	// start api
	// crash pool
	// start pool
	// crash pool
	// stop replicator
	// start pool
	// start replicator
	// db restarts: 1
	// stop api
	// stop replicator
	// stop pool
	// Run returned <nil>
}

// WaitReady children start in order, each after the previous one called
// Ready; a child that fails before Ready fails Run's start.
func Example_readiness() {
	tree, _ := supervisor.New(supervisor.WithChildren(
		supervisor.Spec{Name: "config", WaitReady: true, Run: func(ctx context.Context) error {
			fmt.Println("config loaded")
			supervisor.Ready(ctx)
			<-ctx.Done()
			return nil
		}},
		supervisor.Spec{Name: "db", WaitReady: true, Run: func(ctx context.Context) error {
			return errors.New("connection refused") // before Ready
		}},
		supervisor.Spec{Name: "api", Run: func(ctx context.Context) error {
			fmt.Println("never started")
			return nil
		}},
	))
	err := tree.Run(context.Background())
	fmt.Println(errors.Is(err, supervisor.ErrStartFailed))
	fmt.Println(err)
	// Output:
	// config loaded
	// true
	// supervisor: tree "supervisor": child "db": child failed to start: connection refused
}

// WithBackoff spaces out the restarts of a failing child: 10ms, 20ms, 40ms...
func Example_backoff() {
	var starts []time.Time
	tree, _ := supervisor.New(
		supervisor.WithBackoff(10*time.Millisecond, time.Second),
		supervisor.WithIntensity(3, time.Minute),
		supervisor.WithChildren(supervisor.Spec{Name: "flaky", Run: func(ctx context.Context) error {
			starts = append(starts, time.Now())
			return errors.New("unavailable")
		}}),
	)
	err := tree.Run(context.Background())
	fmt.Println(errors.Is(err, supervisor.ErrTooManyRestarts), len(starts))
	for i := 1; i < len(starts); i++ {
		want := 10 * time.Millisecond << (i - 1) * 8 / 10 // -20% jitter at most
		fmt.Println(starts[i].Sub(starts[i-1]) >= want)
	}
	// Output:
	// true 4
	// true
	// true
	// true
}

// ExampleErrDoNotRestart shows a child deciding its own fate: a migration
// that has nothing left to do returns ErrDoNotRestart and stays Stopped,
// although it is Permanent, without counting as a failure.
func ExampleErrDoNotRestart() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tree, _ := supervisor.New(supervisor.WithIntensity(0, time.Minute), supervisor.WithChildren(
		supervisor.Spec{Name: "migrate", Run: func(context.Context) error {
			fmt.Println("migrate: nothing to do")
			return fmt.Errorf("schema is current: %w", supervisor.ErrDoNotRestart)
		}},
	))
	errc := tree.Start(ctx)
	info, _ := tree.Child("migrate")
	for info.State != supervisor.Stopped {
		time.Sleep(time.Millisecond)
		info, _ = tree.Child("migrate")
	}
	fmt.Println(info.State, errors.Is(info.Err, supervisor.ErrDoNotRestart))
	cancel()
	fmt.Println("Run returned", <-errc)
	// Output:
	// migrate: nothing to do
	// stopped true
	// Run returned <nil>
}

// ExampleErrStopTree shows a child stopping the whole tree: its siblings
// stop in reverse start order and Run returns the child's error.
func ExampleErrStopTree() {
	d := newDemo()
	fatal := make(chan struct{})
	tree, _ := supervisor.New(supervisor.WithChildren(
		d.spec("db", nil),
		supervisor.Spec{Name: "guard", Run: func(ctx context.Context) error {
			<-fatal
			fmt.Println("guard: disk is gone")
			return fmt.Errorf("disk is gone: %w", supervisor.ErrStopTree)
		}},
		d.spec("api", nil),
	))
	errc := tree.Start(context.Background())
	d.wait(2)
	close(fatal)
	err := <-errc
	fmt.Println(errors.Is(err, supervisor.ErrStopTree), err)
	// Output:
	// start db
	// start api
	// guard: disk is gone
	// stop api
	// stop db
	// true disk is gone: child asked to stop the tree
}

// ExampleWithUnlimitedRestarts shows a tree that never gives up: with
// backoff, a child that keeps failing is restarted ever more slowly.
func ExampleWithUnlimitedRestarts() {
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	tree, _ := supervisor.New(
		supervisor.WithUnlimitedRestarts(),
		supervisor.WithBackoff(time.Millisecond, 4*time.Millisecond),
		supervisor.WithChildren(supervisor.Spec{Name: "flaky", Run: func(ctx context.Context) error {
			runs++
			if runs == 20 {
				cancel()
				<-ctx.Done()
				return nil
			}
			return errors.New("down again")
		}}),
	)
	fmt.Println(tree.Run(ctx), runs)
	// Output: <nil> 20
}

// ExampleTree_Snapshot shows the whole-tree view an operator's status page
// is built on: the subtree added with Tree.Spec appears inside its parent.
func ExampleTree_Snapshot() {
	d := newDemo()
	db := must(supervisor.New(supervisor.WithName("db"), supervisor.WithChildren(d.spec("pool", nil))))
	root := must(supervisor.New(supervisor.WithName("app"), supervisor.WithChildren(db.Spec(), d.spec("api", nil))))
	ctx, cancel := context.WithCancel(context.Background())
	errc := root.Start(ctx)
	s, _ := root.Snapshot(ctx)
	fmt.Println(s.Name, s.State, s.Counts.Supervisors, s.Counts.Workers())
	for _, c := range s.Children {
		fmt.Println(" ", c.Name, c.State)
		if c.Tree != nil {
			for _, g := range c.Tree.Children {
				fmt.Println("   ", g.Name, g.State)
			}
		}
	}
	cancel()
	<-errc
	// Output:
	// start pool
	// start api
	// app running 1 1
	//   db running
	//     pool running
	//   api running
	// stop api
	// stop pool
}

func must(t *supervisor.Tree, err error) *supervisor.Tree {
	if err != nil {
		panic(err)
	}
	return t
}
