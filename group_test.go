package supervisor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A WaitReady child that fails before Ready during a group restart causes
// another group restart, counted again.
func TestGroupRestartAttemptFailsBeforeReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		runs := 0
		flaky := Spec{Name: "w", WaitReady: true, Run: func(ctx context.Context) error {
			runs++
			h.record("start w")
			if runs == 2 {
				return errBoom // the first restart attempt fails before Ready
			}
			Ready(ctx)
			<-ctx.Done()
			h.record("stop w")
			return nil
		}}
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithIntensity(2, time.Minute),
			WithChildren(h.spec("a", Permanent), flaky, h.spec("c", Permanent))))
		h.take()
		h.exit("c", errBoom)
		assert.Equal(t, []string{"exit c", "stop w", "stop a", "start a", "start w", "stop a", "start a", "start w", "start c"}, h.take())
		for _, c := range r.tree.Children() {
			assert.Equal(t, Running, c.State, c.Name)
		}
		h.exit("a", errBoom) // a third group restart within the minute: over 2
		err, over := r.done()
		require.True(t, over)
		assert.ErrorIs(t, err, ErrTooManyRestarts)
	})
}

// A failure of a child that the group restart has already started waits for
// the restart to complete, then triggers another one.
func TestFailureDuringGroupRestartIsDeferred(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		g := newGate(h, "g")
		close(g.ready)
		gateSpec := g.spec()
		hold := make(chan struct{})
		runs := 0
		slowReady := Spec{Name: "s", WaitReady: true, Run: func(ctx context.Context) error {
			runs++
			h.record("start s")
			if runs == 2 {
				<-hold // the restarted s takes its time to become ready
			}
			Ready(ctx)
			<-ctx.Done()
			h.record("stop s")
			return nil
		}}
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithChildren(h.spec("a", Permanent), slowReady, gateSpec)))
		h.take()
		h.exit("a", errBoom)
		assert.Equal(t, []string{"exit a", "stop g", "stop s", "start a", "start s"}, h.take())
		h.exit("a", errBoom) // a fails again while the plan waits for s
		assert.Equal(t, []string{"exit a"}, h.take(), "deferred: nothing happens until the plan is done")
		assert.Equal(t, Restarting, states(r.tree)["a"])
		close(hold)
		assert.Equal(t, []string{"start g", "ready g", "stop g", "stop s", "start a", "start s", "start g", "ready g"}, h.take())
		assert.Equal(t, 2, r.tree.Children()[0].Restarts)
		require.NoError(t, r.stop())
	})
}

// Terminate during a group restart keeps the child stopped and cuts the
// restart short there (SPEC §2): the members after it in start order that
// were not started yet stay Stopped; those before it are started.
func TestTerminateDuringGroupRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		release := make(chan struct{})
		slow := h.slowStop("c", release)
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithChildren(h.spec("a", Permanent), h.spec("b", Permanent), slow)))
		h.take()
		h.exit("a", errBoom) // plan: stop c (slow), stop b, start a, b, c
		require.NoError(t, r.tree.Terminate("b"), "b is stopped at once, out of order")
		close(release)
		assert.Equal(t, []string{"exit a", "stop b", "stop c", "start a"}, h.take())
		assert.Equal(t, map[string]ChildState{"a": Running, "b": Stopped, "c": Stopped}, states(r.tree))
		require.NoError(t, r.stop())
	})
}

// Regression (found by TestStress): a group restart must not remove a
// Temporary bystander that a concurrent Restart has already started again.
// Restart("tmp") waits for tmp to stop; a group restart then also waits for
// it; when tmp returns, Restart's continuation (registered first) starts it
// again before the group restart looks at it.
func TestGroupRestartKeepsTemporaryRestartedMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		release := make(chan struct{})
		runs := 0
		tmp := Spec{Name: "tmp", Restart: Temporary, WaitReady: true, Run: func(ctx context.Context) error {
			runs++
			first := runs == 1
			h.record("start tmp")
			Ready(ctx)
			<-ctx.Done()
			if first {
				<-release // slow to stop, the first time
			}
			h.record("stop tmp")
			return nil
		}}
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithChildren(h.spec("a", Permanent), tmp)))
		h.take()
		restarted := make(chan error)
		go func() { restarted <- r.tree.Restart("tmp") }()
		synctest.Wait()
		h.exit("a", errBoom) // group restart: tmp is already stopping
		close(release)
		require.NoError(t, <-restarted)
		synctest.Wait()
		require.NoError(t, r.tree.checkInvariants())
		assert.Equal(t, map[string]ChildState{"a": Running, "tmp": Running}, states(r.tree))
		assert.Equal(t, Counts{Specs: 2, Active: 2}, r.tree.Count())
		require.NoError(t, r.stop())
	})
}
