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
