package supervisor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitReadyOrdersStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		a, b := newGate(h, "a"), newGate(h, "b")
		r := start(t, mustNew(t, WithChildren(a.spec(), b.spec(), h.spec("c", Permanent))))
		assert.Equal(t, []string{"start a"}, h.take())
		assert.Equal(t, Starting, states(r.tree)["a"])
		close(a.ready)
		assert.Equal(t, []string{"ready a", "start b"}, h.take())
		assert.Equal(t, Running, states(r.tree)["a"])
		close(b.ready)
		assert.Equal(t, []string{"ready b", "start c"}, h.take())
		require.NoError(t, r.stop())
		assert.Equal(t, []string{"stop c", "stop b", "stop a"}, h.take())
	})
}

func TestInitialStartFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		b := newGate(h, "b")
		r := start(t, mustNew(t, WithChildren(h.spec("a", Permanent), h.spec("x", Permanent), b.spec(), h.spec("c", Permanent))))
		h.take()
		b.fail <- errBoom
		err, over := r.done()
		require.True(t, over)
		assert.ErrorIs(t, err, ErrStartFailed)
		assert.ErrorIs(t, err, errBoom)
		assert.Contains(t, err.Error(), `child "b"`)
		assert.Equal(t, []string{"fail b", "stop x", "stop a"}, h.take(), "started children stop in reverse, c never starts")
	})
}

func TestAddWaitsForReadyAndDropsFailedStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t))
		g := newGate(h, "g")
		done := make(chan error)
		go func() {
			_, err := r.tree.Add(g.spec())
			done <- err
		}()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Add returned before Ready")
		default:
		}
		assert.Equal(t, Starting, states(r.tree)["g"])
		close(g.ready)
		require.NoError(t, <-done)
		assert.Equal(t, Running, states(r.tree)["g"])

		f := newGate(h, "f")
		go func() {
			_, err := r.tree.Add(f.spec())
			done <- err
		}()
		synctest.Wait()
		f.fail <- errBoom
		err := <-done
		assert.ErrorIs(t, err, ErrStartFailed)
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, []string{"g"}, names(r.tree.Children()), "a failed Add keeps no spec")
		_, over := r.done()
		assert.False(t, over)
		require.NoError(t, r.stop())
	})
}

func TestStartFailureDuringAutomaticRestartIsAnotherFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		n := 0
		spec := Spec{Name: "w", WaitReady: true, Run: func(ctx context.Context) error {
			n++
			if n == 1 {
				Ready(ctx)
				return errBoom // fails after start
			}
			return errBoom // then fails every start
		}}
		r := start(t, mustNew(t, WithIntensity(3, time.Minute), WithChildren(spec, h.spec("other", Permanent))))
		err, over := r.done()
		require.True(t, over)
		assert.ErrorIs(t, err, ErrTooManyRestarts)
		assert.ErrorIs(t, err, ErrStartFailed)
		assert.Equal(t, 4, n, "the first run and 3 restarts; the 4th would exceed 3 in a minute")
	})
}

func TestShutdownTimeoutAbandons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		release := make(chan struct{})
		stuck := Spec{Name: "stuck", Shutdown: 2 * time.Second, Run: func(ctx context.Context) error {
			<-release // ignores cancellation
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(h.spec("a", Permanent), stuck)))
		begin := time.Now()
		r.cancel()
		err := <-r.errc
		assert.Equal(t, 2*time.Second, time.Since(begin), "Run waited exactly the Shutdown")
		assert.ErrorIs(t, err, ErrShutdownTimeout)
		var se *ShutdownTimeoutError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, []string{"stuck"}, se.Children)
		assert.Contains(t, err.Error(), `"stuck"`)
		assert.Contains(t, h.take(), "stop a", "a is stopped after stuck was abandoned")
		close(release) // the abandoned goroutine may now finish
	})
}

func TestShutdownDefaultAndInfinity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		slow := Spec{Name: "slow", Shutdown: Infinity, Run: func(ctx context.Context) error {
			<-ctx.Done()
			<-release
			return nil
		}}
		def := Spec{Name: "def", Run: func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(DefaultShutdown - time.Millisecond)
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(def, slow)))
		r.cancel()
		time.Sleep(time.Hour)
		_, over := r.done()
		require.False(t, over, "Infinity waits as long as it takes")
		close(release)
		require.NoError(t, <-r.errc, "def returned just within DefaultShutdown")
	})
}

func TestTerminateAbandonedChildReportsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		stuck := Spec{Name: "stuck", Shutdown: time.Second, Run: func(ctx context.Context) error {
			<-release
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(stuck)))
		err := r.tree.Terminate("stuck")
		assert.ErrorIs(t, err, ErrShutdownTimeout)
		assert.Equal(t, Counts{Specs: 1, Active: 0}, r.tree.Count())
		close(release) // its late exit must change nothing
		synctest.Wait()
		assert.Equal(t, Stopped, states(r.tree)["stuck"])
		err = r.stop()
		assert.ErrorIs(t, err, ErrShutdownTimeout, "Run reports the abandoned child")
	})
}

func TestSimpleOneForOneStopsAllAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, mustNew(t, WithStrategy(SimpleOneForOne)))
		for i := 0; i < 5; i++ {
			_, err := r.tree.Add(Spec{Shutdown: 3 * time.Second, Run: func(ctx context.Context) error {
				<-ctx.Done()
				time.Sleep(2 * time.Second) // each takes 2s to stop
				return nil
			}})
			require.NoError(t, err)
		}
		assert.Equal(t, Counts{Specs: 5, Active: 5}, r.tree.Count())
		begin := time.Now()
		require.NoError(t, r.stop())
		assert.Equal(t, 2*time.Second, time.Since(begin), "concurrent: 2s, not 10s")
		assert.Empty(t, r.tree.Children(), "SimpleOneForOne children exist only while the tree runs")
		_, err := r.tree.Add(Spec{Run: func(ctx context.Context) error { return nil }})
		assert.ErrorIs(t, err, ErrNotRunning)
	})
}

func TestEmptyTreeRunsUntilCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, mustNew(t))
		time.Sleep(time.Hour)
		_, over := r.done()
		require.False(t, over)
		require.NoError(t, r.stop())
	})
}

func TestTreeWithAllChildrenGoneKeepsRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithChildren(h.spec("a", Temporary), h.spec("b", Transient))))
		h.exit("a", nil)
		h.exit("b", nil)
		time.Sleep(time.Hour)
		_, over := r.done()
		require.False(t, over)
		assert.Equal(t, Counts{Specs: 1, Active: 0}, r.tree.Count())
		require.NoError(t, r.stop())
	})
}

func TestRunWithCancelledContextReturnsAtOnce(t *testing.T) {
	ran := false
	tr := mustNew(t, WithChildren(Spec{Name: "a", Run: func(ctx context.Context) error { ran = true; return nil }}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, tr.Run(ctx))
	assert.False(t, ran)
}

func TestCancelDuringInitialStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		g := newGate(h, "g")
		r := start(t, mustNew(t, WithChildren(h.spec("a", Permanent), g.spec(), h.spec("c", Permanent))))
		require.NoError(t, r.stop())
		assert.Equal(t, []string{"start a", "start g", "stop g", "stop a"}, h.take())
	})
}
