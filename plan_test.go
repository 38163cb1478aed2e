package supervisor

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: an ordered start froze when a child it had just launched was
// stopped (here by Terminate) before the loop processed that child's
// entered-Run handshake: the start never went on, later children never
// started, Start never returned. The race is between two messages the loop
// receives (the Terminate call, spinning until the tree runs, and the
// child's handshake), so the test repeats it; before the fix it froze
// within a few rounds (synctest then reports a deadlock).
func TestOrderedStartSurvivesStopBeforeHandshake(t *testing.T) {
	for round := 0; round < 200; round++ {
		synctest.Test(t, func(t *testing.T) {
			run := func(ctx context.Context) error { <-ctx.Done(); return nil }
			tr := mustNew(t, WithChildren(Spec{Name: "a", Run: run}, Spec{Name: "b", Run: run}, Spec{Name: "c", Run: run}))
			terminated := make(chan error, 1)
			go func() {
				for { // until the tree runs: Terminate races with the start of a
					err := tr.Terminate("a")
					if !errors.Is(err, ErrNotRunning) {
						terminated <- err
						return
					}
					runtime.Gosched() // no sleep: fake time must not pass

				}
			}()
			ctx, cancel := context.WithCancel(context.Background())
			errc := tr.Start(ctx) // returns once the initial start completed
			require.NoError(t, <-terminated)
			synctest.Wait()
			st := states(tr)
			assert.Equal(t, Stopped, st["a"])
			assert.Equal(t, Running, st["b"])
			assert.Equal(t, Running, st["c"])
			cancel()
			require.NoError(t, <-errc)
		})
	}
}

// Regression: when the child a RestForOne group restart waits on was
// terminated while it kept failing to start, the restart carried on and
// started the later children anyway. SPEC §2: the restart is cut short
// there; the later members stay Stopped.
func TestGroupRestartCutShortByTerminate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		fails := Spec{Name: "b", WaitReady: true, Run: func(ctx context.Context) error {
			h.record("start b")
			<-ctx.Done() // never ready: its start hangs until it is stopped
			return nil
		}}
		starts := 0
		first := Spec{Name: "b", WaitReady: true, Run: func(ctx context.Context) error {
			starts++
			if starts == 1 {
				h.record("start b")
				Ready(ctx)
				<-ctx.Done()
				h.record("stop b")
				return nil
			}
			return fails.Run(ctx)
		}}
		r := start(t, mustNew(t, WithStrategy(RestForOne), WithChildren(h.spec("a", Permanent), first, h.spec("c", Permanent))))
		assert.Equal(t, []string{"start a", "start b", "start c"}, h.take())
		h.exit("a", errBoom) // restarts a, b, c; b's start now hangs
		assert.Equal(t, []string{"exit a", "stop c", "stop b", "start a", "start b"}, h.take())
		require.NoError(t, r.tree.Terminate("b"))
		synctest.Wait()
		assert.Empty(t, h.take(), "c is not started")
		assert.Equal(t, map[string]ChildState{"a": Running, "b": Stopped, "c": Stopped}, states(r.tree))
		require.NoError(t, r.stop())
	})
}

// Delete during a OneForAll group restart cuts it short the same way.
func TestGroupRestartCutShortByDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		release := make(chan struct{})
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithBackoff(time.Second, time.Second), withJitter(func() float64 { return 0.5 }),
			WithChildren(h.spec("a", Permanent), h.spec("b", Permanent), h.spec("c", Permanent), h.slowStop("d", release))))
		h.take()
		h.exit("b", errBoom) // stop d (slow), c, a; wait 1s; start a, b, c, d
		close(release)
		synctest.Wait()
		require.NoError(t, r.tree.Delete("c")) // during the backoff delay
		time.Sleep(time.Second)
		assert.Equal(t, []string{"exit b", "stop d", "stop c", "stop a", "start a", "start b"}, h.take())
		assert.Equal(t, map[string]ChildState{"a": Running, "b": Running, "d": Stopped}, states(r.tree))
		require.NoError(t, r.stop())
	})
}
