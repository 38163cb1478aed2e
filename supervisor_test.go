package supervisor

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: misuse panicked instead of erroring. A zero Tree panicked on
// Add and Children (its request pool was set only by New); Ready(nil) and
// Heartbeat(nil) dereferenced nil although documented as no-ops outside a
// tree. Now the zero Tree is an empty OneForOne tree with default options.
func TestZeroTreeAndNilContexts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		assert.NotPanics(t, func() {
			Ready(nil)     //nolint:staticcheck // documented no-op
			Heartbeat(nil) //nolint:staticcheck
			ReportPID(nil, 1)
		})
		var tr Tree
		assert.Equal(t, "supervisor", tr.Name())
		assert.Empty(t, tr.Children())
		assert.Equal(t, Counts{}, tr.Count())
		assert.ErrorIs(t, tr.Terminate("x"), ErrNotRunning)
		_, err := tr.Child("x")
		assert.ErrorIs(t, err, ErrUnknownChild)
		h := newHarness(t)
		name, err := tr.Add(h.spec("a", Permanent))
		require.NoError(t, err)
		assert.Equal(t, "a", name)
		r := start(t, &tr)
		assert.Equal(t, []string{"start a"}, h.take())
		_, err = tr.Add(Spec{Name: "b", Run: h.run("b")})
		require.NoError(t, err)
		require.NoError(t, r.stop())
	})
}

// Regression: an Add of a WaitReady child that a concurrent Terminate
// stopped before Ready returned ErrStartFailed yet kept the spec, so a
// retried Add failed with ErrDuplicateChild. Add's answer and the tree agree.
func TestFailedAddKeepsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, mustNew(t))
		slow := Spec{Name: "x", WaitReady: true, Run: func(ctx context.Context) error { <-ctx.Done(); return nil }}
		added := make(chan error, 1)
		go func() { _, err := r.tree.Add(slow); added <- err }()
		synctest.Wait()
		require.NoError(t, r.tree.Terminate("x"))
		require.ErrorIs(t, <-added, ErrStartFailed)
		assert.Empty(t, r.tree.Children())
		h := newHarness(t)
		_, err := r.tree.Add(h.spec("x", Permanent))
		require.NoError(t, err, "a retried Add is not a duplicate")
		require.NoError(t, r.stop())
	})
}

// Regression: a tree re-run by its parent restarted the children that had
// been added to it at run time. SPEC §2: a re-run starts from the specs
// given to New, as OTP's supervisor rebuilds its children from init.
func TestSubtreeRerunByParentStartsFromNewSpecs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		sub := mustNew(t, WithName("sub"), WithChildren(h.spec("a", Permanent)))
		root := mustNew(t, WithStrategy(OneForAll), WithChildren(h.spec("x", Permanent), sub.Spec()))
		r := start(t, root)
		_, err := sub.Add(h.spec("extra", Permanent))
		require.NoError(t, err)
		require.NoError(t, sub.Delete("a"))
		assert.Equal(t, []string{"start x", "start a", "start extra", "stop a"}, h.take())
		h.exit("x", errBoom) // OneForAll: the subtree is stopped and run again
		assert.Equal(t, []string{"exit x", "stop extra", "start x", "start a"}, h.take())
		assert.Equal(t, []string{"a"}, names(sub.Children()))
		require.NoError(t, r.stop())
	})
}

// When the initial start fails, Start returns with Run's error already in
// the channel, so a non-blocking receive tells a failed start from a tree
// that runs.
func TestStartAfterFailedStartHasTheError(t *testing.T) {
	for i := 0; i < 50; i++ {
		bad := Spec{Name: "bad", WaitReady: true, Run: func(context.Context) error { return errBoom }}
		tr := mustNew(t, WithChildren(bad))
		errc := tr.Start(context.Background())
		select {
		case err := <-errc:
			require.ErrorIs(t, err, ErrStartFailed)
		default:
			t.Fatal("Start returned before Run's error was in the channel")
		}
	}
}

func TestAPIOnStoppedTree(t *testing.T) {
	h := newHarness(t)
	tr := mustNew(t, WithChildren(h.spec("a", Permanent)))
	assert.ErrorIs(t, tr.Terminate("a"), ErrNotRunning)
	assert.ErrorIs(t, tr.Restart("a"), ErrNotRunning)
	assert.ErrorIs(t, tr.Restart("nope"), ErrNotRunning)
	name, err := tr.Add(h.spec("b", Permanent))
	require.NoError(t, err)
	assert.Equal(t, "b", name)
	_, err = tr.Add(h.spec("b", Permanent))
	assert.ErrorIs(t, err, ErrDuplicateChild)
	assert.ErrorIs(t, tr.Delete("nope"), ErrUnknownChild)
	require.NoError(t, tr.Delete("b"))
	assert.Equal(t, []ChildInfo{{Name: "a", State: Stopped}}, tr.Children())
	assert.Equal(t, Counts{Specs: 1}, tr.Count())
}

func TestAddBeforeRunIsStartedByRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		tr := mustNew(t, WithChildren(h.spec("a", Permanent)))
		_, err := tr.Add(h.spec("b", Permanent))
		require.NoError(t, err)
		r := start(t, tr)
		assert.Equal(t, []string{"start a", "start b"}, h.take())
		require.NoError(t, r.stop())
	})
}

func TestRuntimeAPIErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithMaxChildren(2), WithChildren(h.spec("a", Permanent))))
		tr := r.tree
		for _, err := range []error{tr.Terminate("x"), tr.Restart("x"), tr.Delete("x")} {
			assert.ErrorIs(t, err, ErrUnknownChild)
			assert.Contains(t, err.Error(), `supervisor: tree "supervisor": child "x"`)
		}
		_, err := tr.Add(h.spec("a", Permanent))
		assert.ErrorIs(t, err, ErrDuplicateChild)
		_, err = tr.Add(h.spec("b", Permanent))
		require.NoError(t, err)
		_, err = tr.Add(h.spec("c", Permanent))
		assert.ErrorIs(t, err, ErrMaxChildren)

		// Terminate twice: the second finds it Stopped and returns nil.
		require.NoError(t, tr.Terminate("a"))
		require.NoError(t, tr.Terminate("a"))
		assert.Equal(t, Stopped, states(tr)["a"])
		assert.Equal(t, Counts{Specs: 2, Active: 1}, tr.Count())
		// Restart starts a Stopped child.
		require.NoError(t, tr.Restart("a"))
		assert.Equal(t, Running, states(tr)["a"])
		// Delete then re-add under the same name.
		require.NoError(t, tr.Delete("a"))
		assert.ErrorIs(t, tr.Delete("a"), ErrUnknownChild)
		_, err = tr.Add(h.spec("a", Permanent))
		require.NoError(t, err)
		assert.Equal(t, []string{"b", "a"}, names(tr.Children()), "a re-added child goes last")
		assert.Equal(t, []string{"start a", "start b", "stop a", "start a", "stop a", "start a"}, h.take())
		require.NoError(t, r.stop())
		err = tr.Terminate("a")
		assert.ErrorIs(t, err, ErrNotRunning)
	})
}

func TestTerminateTemporaryRemovesIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithChildren(h.spec("tmp", Temporary), h.spec("a", Permanent))))
		require.NoError(t, r.tree.Terminate("tmp"))
		assert.Equal(t, []string{"a"}, names(r.tree.Children()))
		require.NoError(t, r.stop())
	})
}

func TestSimpleOneForOneTerminateRemoves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithStrategy(SimpleOneForOne)))
		name, err := r.tree.Add(h.spec("", Permanent))
		require.NoError(t, err)
		assert.NotEmpty(t, name)
		require.NoError(t, r.tree.Terminate(name))
		assert.Empty(t, r.tree.Children())
		assert.ErrorIs(t, r.tree.Terminate(name), ErrUnknownChild)
		require.NoError(t, r.stop())
	})
}

// A late exit of an old incarnation never affects the new one.
func TestStaleExitAfterDeleteAndReAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		old := Spec{Name: "x", Shutdown: time.Second, Run: func(ctx context.Context) error {
			<-release // ignores cancellation, returns an error much later
			return errBoom
		}}
		r := start(t, mustNew(t, WithIntensity(0, time.Hour), WithChildren(old)))
		assert.ErrorIs(t, r.tree.Delete("x"), ErrShutdownTimeout)
		h := newHarness(t)
		_, err := r.tree.Add(h.spec("x", Permanent))
		require.NoError(t, err)
		close(release) // the old incarnation returns errBoom now
		synctest.Wait()
		_, over := r.done()
		require.False(t, over, "the stale failure must not count")
		kids := r.tree.Children()
		require.Len(t, kids, 1)
		assert.Equal(t, Running, kids[0].State)
		assert.NoError(t, kids[0].Err)
		assert.ErrorIs(t, r.stop(), ErrShutdownTimeout)
	})
}

func TestGeneratedNamesAreUnique(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		tr := mustNew(t, WithChildren(h.spec("child-1", Permanent), Spec{Run: h.run("gen")}))
		kids := names(tr.Children())
		assert.Equal(t, "child-1", kids[0])
		assert.NotEqual(t, "child-1", kids[1])
	})
}

// Children call the tree's API on siblings from their Run and from their
// shutdown path, during starts, group restarts and shutdown, without
// deadlocking the tree.
func TestAPIFromInsideChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		var tr *Tree
		// "adder" is WaitReady and adds a WaitReady sibling before it is ready.
		adder := Spec{Name: "adder", WaitReady: true, Run: func(ctx context.Context) error {
			if _, err := tr.Add(Spec{Name: "added", WaitReady: true, Run: h.run("added")}); err != nil && !errors.Is(err, ErrDuplicateChild) {
				return err
			}
			Ready(ctx)
			<-ctx.Done()
			return nil
		}}
		// "killer" terminates its sibling "tmp" from its shutdown path.
		killer := Spec{Name: "killer", Run: func(ctx context.Context) error {
			<-ctx.Done()
			if err := tr.Terminate("tmp"); err != nil && !errors.Is(err, ErrUnknownChild) {
				h.record("killer: " + err.Error())
			}
			_ = tr.Children()
			_ = tr.Count()
			return nil
		}}
		tr = mustNew(t, WithStrategy(OneForAll), WithChildren(h.spec("victim", Permanent), adder, killer, h.spec("tmp", Temporary)))
		r := start(t, tr)
		assert.Equal(t, []string{"victim", "adder", "killer", "tmp", "added"}, names(tr.Children()))
		// A group restart while children call in.
		h.take()
		h.exit("victim", errBoom)
		assert.Equal(t, []string{"victim", "adder", "killer", "added"}, names(tr.Children()))
		for _, c := range tr.Children() {
			assert.Equal(t, Running, c.State, c.Name)
		}
		require.NoError(t, r.stop())
		for _, line := range h.take() {
			assert.NotContains(t, line, "killer:")
		}
	})
}

func TestRestartWaitsForReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		g := newGate(h, "g")
		close(g.ready)
		r := start(t, mustNew(t, WithChildren(g.spec())))
		require.NoError(t, r.tree.Restart("g"))
		assert.Equal(t, []string{"start g", "ready g", "stop g", "start g", "ready g"}, h.take())
		assert.Equal(t, 0, r.tree.Children()[0].Restarts, "manual restarts are not counted")
		require.NoError(t, r.stop())
	})
}

func TestAutoShutdown(t *testing.T) {
	t.Run("any", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			sig := h.spec("sig", Transient)
			sig.Significant = true
			r := start(t, mustNew(t, WithAutoShutdown(AnySignificant), WithChildren(h.spec("a", Permanent), sig)))
			h.exit("sig", errBoom) // restarted: no shutdown
			_, over := r.done()
			require.False(t, over)
			require.NoError(t, r.tree.Terminate("sig")) // Terminate never triggers it
			require.NoError(t, r.tree.Restart("sig"))
			_, over = r.done()
			require.False(t, over)
			h.take()
			h.exit("sig", nil) // exits by itself, not restarted
			err, over := r.done()
			require.True(t, over)
			require.NoError(t, err)
			assert.Equal(t, []string{"exit sig", "stop a"}, h.take())
		})
	})
	t.Run("all", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			s1, s2 := h.spec("s1", Temporary), h.spec("s2", Transient)
			s1.Significant, s2.Significant = true, true
			r := start(t, mustNew(t, WithStrategy(OneForAll), WithAutoShutdown(AllSignificant),
				WithChildren(h.spec("a", Permanent), s1, s2)))
			h.exit("s1", nil)
			_, over := r.done()
			require.False(t, over, "s2 still runs")
			h.exit("a", errBoom) // group restart: bystander stops do not trigger
			_, over = r.done()
			require.False(t, over)
			h.exit("s2", nil)
			err, over := r.done()
			require.True(t, over)
			require.NoError(t, err)
		})
	})
}

func TestStartReturnsAfterInitialStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		g := newGate(h, "g")
		tr := mustNew(t, WithChildren(g.spec()))
		returned := make(chan (<-chan error))
		ctx, cancel := context.WithCancel(context.Background())
		go func() { returned <- tr.Start(ctx) }()
		synctest.Wait()
		select {
		case <-returned:
			t.Fatal("Start returned before the initial start completed")
		default:
		}
		close(g.ready)
		errc := <-returned
		assert.Equal(t, Running, states(tr)["g"])
		cancel()
		require.NoError(t, <-errc)

		// A failed start: Start returns, and the channel has Run's error.
		f := newGate(h, "f")
		tr = mustNew(t, WithChildren(f.spec()))
		go func() { returned <- tr.Start(context.Background()) }()
		synctest.Wait()
		f.fail <- errBoom
		assert.ErrorIs(t, <-<-returned, ErrStartFailed)

		// SimpleOneForOne: Add right after Start works.
		tr = mustNew(t, WithStrategy(SimpleOneForOne))
		ctx, cancel = context.WithCancel(context.Background())
		errc = tr.Start(ctx)
		_, err := tr.Add(h.spec("w", Permanent))
		require.NoError(t, err)
		cancel()
		require.NoError(t, <-errc)
	})
}

func TestNestedTreeRestartsAndReRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		sub := mustNew(t, WithName("sub"), WithIntensity(1, time.Minute), WithChildren(h.spec("s1", Permanent), h.spec("s2", Permanent)))
		root := mustNew(t, WithName("root"), WithChildren(
			h.spec("before", Permanent),
			Spec{Name: "sub", Run: sub.Run, Shutdown: Infinity},
		))
		r := start(t, root)
		assert.Equal(t, []string{"start before", "start s1", "start s2"}, h.take())

		// The subtree gives up: to the root it is a failing child, restarted
		// with a fresh restart history.
		h.exit("s1", errBoom)
		h.exit("s1", errBoom)
		assert.Equal(t, []string{"exit s1", "start s1", "exit s1", "stop s2", "start s1", "start s2"}, h.take())
		rootKids := r.tree.Children()
		assert.Equal(t, 1, rootKids[1].Restarts)
		assert.ErrorIs(t, rootKids[1].Err, ErrTooManyRestarts)
		for _, c := range sub.Children() {
			assert.Equal(t, 0, c.Restarts, "fresh history after re-run")
			assert.Equal(t, Running, c.State)
		}
		// Cancelling the root stops the subtree first (reverse order).
		require.NoError(t, r.stop())
		assert.Equal(t, []string{"stop s2", "stop s1", "stop before"}, h.take())
	})
}

func TestNestedWaitReadyTreeIsReadyAfterItsStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		g := newGate(h, "inner")
		sub := mustNew(t, WithName("sub"), WithChildren(g.spec()))
		root := mustNew(t, WithChildren(Spec{Name: "sub", Run: sub.Run, WaitReady: true, Shutdown: Infinity}, h.spec("after", Permanent)))
		r := start(t, root)
		assert.Equal(t, []string{"start inner"}, h.take(), "after waits for the subtree's start")
		close(g.ready)
		assert.Equal(t, []string{"ready inner", "start after"}, h.take())
		require.NoError(t, r.stop())
	})
}

func TestRunTwiceConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, mustNew(t))
		err := r.tree.Run(context.Background())
		assert.ErrorIs(t, err, ErrAlreadyRunning)
		require.NoError(t, r.stop())
		// And again after it returned.
		r = start(t, r.tree)
		require.NoError(t, r.stop())
	})
}

// A re-run starts afresh from the specs given to New (SPEC §2, as OTP's
// supervisor restarted by its parent): children added at run time are not
// carried over, and a Temporary child given to New runs again.
func TestReRunStartsFromNewSpecs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		tr := mustNew(t, WithChildren(h.spec("a", Permanent), h.spec("tmp", Temporary)))
		r := start(t, tr)
		_, err := tr.Add(h.spec("b", Transient))
		require.NoError(t, err)
		h.exit("a", errBoom)
		require.NoError(t, r.stop())
		// Until the tree runs again or changes, Children shows what the Run
		// left: Temporary children are gone once they exit.
		assert.Equal(t, []string{"a", "b"}, names(tr.Children()))
		h.take()
		r = start(t, tr)
		assert.Equal(t, []string{"start a", "start tmp"}, h.take())
		assert.Equal(t, []string{"a", "tmp"}, names(tr.Children()))
		assert.Equal(t, 0, tr.Children()[0].Restarts)
		require.NoError(t, r.stop())
	})
}

// AddAsync returns at once with a generated name; the child is registered
// before any later call is served, so Child, Count and Delete see it.
func TestAddAsyncRegistersBeforeLaterCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, mustNew(t, WithStrategy(SimpleOneForOne)))
		ran := make(chan string, 3)
		spec := Spec{Run: func(ctx context.Context) error { ran <- "run"; <-ctx.Done(); return nil }}
		a, err := r.tree.AddAsync(spec)
		require.NoError(t, err)
		b, err := r.tree.AddAsync(spec)
		require.NoError(t, err)
		assert.NotEqual(t, a, b)
		info, err := r.tree.Child(a)
		require.NoError(t, err)
		assert.Equal(t, Running, info.State)
		require.NoError(t, r.tree.Delete(b))
		assert.Equal(t, Counts{Specs: 1, Active: 1}, r.tree.Count())
		synctest.Wait()
		assert.Len(t, ran, 2)
		require.NoError(t, r.stop())
	})
}

// AddAsync rejects what it cannot do without waiting, and a stopped tree.
func TestAddAsyncErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run := func(ctx context.Context) error { <-ctx.Done(); return nil }
		sofo := mustNew(t, WithStrategy(SimpleOneForOne))
		_, err := sofo.AddAsync(Spec{Run: run})
		assert.ErrorIs(t, err, ErrNotRunning)
		r := start(t, sofo)
		for _, bad := range []Spec{{}, {Name: "x", Run: run}, {WaitReady: true, Run: run}, {Shutdown: -5, Run: run}} {
			_, err := r.tree.AddAsync(bad)
			assert.ErrorIs(t, err, ErrInvalidSpec, "%+v", bad)
			assert.ErrorContains(t, err, "AddAsync")
		}
		one := start(t, mustNew(t))
		_, err = one.tree.AddAsync(Spec{Run: run})
		assert.ErrorIs(t, err, ErrInvalidSpec, "OneForOne")
		require.NoError(t, one.stop())
		require.NoError(t, r.stop())
		_, err = sofo.AddAsync(Spec{Run: run})
		assert.ErrorIs(t, err, ErrNotRunning, "after Run returned")
	})
}

// With WithMaxChildren, AddAsync waits for the tree's answer, so the limit
// holds exactly.
func TestAddAsyncKeepsMaxChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, mustNew(t, WithStrategy(SimpleOneForOne), WithMaxChildren(2)))
		run := func(ctx context.Context) error { <-ctx.Done(); return nil }
		for range 2 {
			_, err := r.tree.AddAsync(Spec{Run: run})
			require.NoError(t, err)
		}
		_, err := r.tree.AddAsync(Spec{Run: run})
		assert.ErrorIs(t, err, ErrMaxChildren)
		require.NoError(t, r.stop())
	})
}

// Names given by the user never take a generated name, nor the other way
// round, in a tree where AddAsync generates names off the loop.
func TestAddAsyncNamesNeverCollideWithGivenNames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, mustNew(t, WithStrategy(SimpleOneForOne)))
		run := func(ctx context.Context) error { <-ctx.Done(); return nil }
		a, err := r.tree.AddAsync(Spec{Run: run})
		require.NoError(t, err)
		_, err = r.tree.Add(Spec{Name: a, Run: run})
		assert.ErrorIs(t, err, ErrDuplicateChild)
		_, err = r.tree.Add(Spec{Name: "child-50", Run: run})
		require.NoError(t, err)
		for range 60 {
			name, err := r.tree.AddAsync(Spec{Run: run})
			require.NoError(t, err)
			k, ok := genNumber(name)
			require.True(t, ok, name)
			assert.Greater(t, k, int64(50), "a generated name after child-50 was given")
		}
		require.NoError(t, r.tree.Delete(a))
		_, err = r.tree.Add(Spec{Name: a, Run: run})
		assert.NoError(t, err, "a deleted generated name may be given again")
		require.NoError(t, r.stop())
	})
}

// A name of the generated form that was drawn but whose AddAsync has not
// reached the loop yet is refused to the user.
func TestClaimNameRefusesADrawnNameOnItsWay(t *testing.T) {
	tr := mustNew(t, WithStrategy(SimpleOneForOne))
	tr.kids.seq.Store(5)
	tr.pending.Add(1)
	assert.ErrorIs(t, tr.claimName("child-3"), ErrDuplicateChild)
	assert.NoError(t, tr.claimName("child-9"), "never drawn")
	assert.Equal(t, int64(9), tr.kids.seq.Load(), "and now never will be")
	tr.pending.Add(-1)
	assert.NoError(t, tr.claimName("child-3"), "nothing on its way: child-3 was deleted")
	one := mustNew(t)
	one.pending.Add(1)
	assert.NoError(t, one.claimName("child-1"), "other strategies generate names on the loop only")
}
