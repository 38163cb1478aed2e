package supervisor

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func threeChildren(h *harness, r Restart) Option {
	return WithChildren(h.spec("a", r), h.spec("b", r), h.spec("c", r))
}

func TestStartsInOrderAndStopsInReverse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, threeChildren(h, Permanent)))
		assert.Equal(t, []string{"start a", "start b", "start c"}, h.take())
		assert.Equal(t, Counts{Specs: 3, Active: 3}, r.tree.Count())
		require.NoError(t, r.stop())
		assert.Equal(t, []string{"stop c", "stop b", "stop a"}, h.take())
		assert.Equal(t, Counts{Specs: 3, Active: 0}, r.tree.Count())
	})
}

func TestStrategyOrders(t *testing.T) {
	cases := []struct {
		strategy Strategy
		want     []string
	}{
		{OneForOne, []string{"exit b", "start b"}},
		{OneForAll, []string{"exit b", "stop c", "stop a", "start a", "start b", "start c"}},
		{RestForOne, []string{"exit b", "stop c", "start b", "start c"}},
	}
	for _, tc := range cases {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				r := start(t, mustNew(t, WithStrategy(tc.strategy), threeChildren(h, Permanent)))
				h.take()
				h.exit("b", errBoom)
				assert.Equal(t, tc.want, h.take())
				for _, c := range r.tree.Children() {
					assert.Equal(t, Running, c.State, c.Name)
				}
				require.NoError(t, r.stop())
			})
		})
	}
}

// The stop phase of a group restart is sequential: the next child is
// cancelled only when the previous one has returned.
func TestGroupRestartStopsOneAfterTheOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		release := make(chan struct{})
		slow := h.slowStop("c", release)
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithChildren(h.spec("a", Permanent), h.spec("b", Permanent), slow)))
		h.take()
		h.exit("a", errBoom)
		assert.Equal(t, []string{"exit a"}, h.take(), "b must wait until c has returned")
		assert.Equal(t, Stopping, states(r.tree)["c"])
		// The loop still answers while it waits.
		assert.Equal(t, 3, r.tree.Count().Specs)
		close(release)
		assert.Equal(t, []string{"stop c", "stop b", "start a", "start b", "start c"}, h.take())
		require.NoError(t, r.stop())
	})
}

func TestRestartTypes(t *testing.T) {
	cases := []struct {
		restart   Restart
		err       error
		restarted bool
		kept      bool
	}{
		{Permanent, nil, true, true},
		{Permanent, errBoom, true, true},
		{Transient, nil, false, true},
		{Transient, errBoom, true, true},
		{Temporary, nil, false, false},
		{Temporary, errBoom, false, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v/%v", tc.restart, tc.err), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				r := start(t, mustNew(t, WithChildren(h.spec("a", tc.restart))))
				h.take()
				h.exit("a", tc.err)
				log := h.take()
				if tc.restarted {
					assert.Equal(t, []string{"exit a", "start a"}, log)
				} else {
					assert.Equal(t, []string{"exit a"}, log)
				}
				kids := r.tree.Children()
				if !tc.kept {
					assert.Empty(t, kids)
					require.NoError(t, r.stop())
					return
				}
				require.Len(t, kids, 1)
				if tc.restarted {
					assert.Equal(t, Running, kids[0].State)
					assert.Equal(t, 1, kids[0].Restarts)
				} else {
					assert.Equal(t, Stopped, kids[0].State)
					assert.Equal(t, 0, kids[0].Restarts)
				}
				assert.Equal(t, tc.err, kids[0].Err)
				require.NoError(t, r.stop())
			})
		})
	}
}

// An exit that restarts nothing touches no sibling and counts nothing.
func TestExitThatRestartsNothingTouchesNoSibling(t *testing.T) {
	for _, s := range []Strategy{OneForAll, RestForOne} {
		t.Run(s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				r := start(t, mustNew(t, WithStrategy(s), WithIntensity(0, time.Second),
					WithChildren(h.spec("a", Transient), h.spec("b", Temporary), h.spec("c", Permanent))))
				h.take()
				h.exit("a", nil)
				h.exit("b", errBoom)
				assert.Equal(t, []string{"exit a", "exit b"}, h.take())
				assert.Equal(t, map[string]ChildState{"a": Stopped, "c": Running}, states(r.tree))
				_, over := r.done()
				assert.False(t, over, "nothing was restarted, so intensity 0 is not exceeded")
				require.NoError(t, r.stop())
			})
		})
	}
}

// Temporary bystanders of a group restart are removed, not restarted.
func TestGroupRestartRemovesTemporaryBystanders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithStrategy(OneForAll),
			WithChildren(h.spec("a", Permanent), h.spec("tmp", Temporary), h.spec("c", Transient))))
		h.take()
		h.exit("a", errBoom)
		assert.Equal(t, []string{"exit a", "stop c", "stop tmp", "start a", "start c"}, h.take())
		assert.Equal(t, []string{"a", "c"}, names(r.tree.Children()))
		require.NoError(t, r.stop())
	})
}

func TestChildReturningCanceledWhileAliveHasFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithChildren(h.spec("a", Transient))))
		h.take()
		h.exit("a", context.Canceled)
		assert.Equal(t, []string{"exit a", "start a"}, h.take(), "context.Canceled from a live context is a failure")
		require.NoError(t, r.stop())
	})
}

func TestPanicBecomesPanicError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events []Event
		n := 0
		spec := Spec{Name: "p", Restart: Transient, Run: func(ctx context.Context) error {
			n++
			if n == 1 {
				panic("kaboom")
			}
			<-ctx.Done()
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(spec), WithHook(func(e Event) { events = append(events, e) })))
		kids := r.tree.Children()
		require.Len(t, kids, 1)
		var pe *PanicError
		require.ErrorAs(t, kids[0].Err, &pe)
		assert.Equal(t, "p", pe.Child)
		assert.Equal(t, "kaboom", pe.Value)
		assert.Contains(t, string(pe.Stack), "TestPanicBecomesPanicError")
		assert.Contains(t, pe.Error(), `"p"`)
		assert.Equal(t, 1, kids[0].Restarts)
		require.NoError(t, r.stop())
	})
}

func TestPanicWithErrorValueMatchesIt(t *testing.T) {
	pe := &PanicError{Child: "x", Value: errBoom}
	assert.ErrorIs(t, pe, errBoom)
}

func TestIntensity(t *testing.T) {
	for _, max := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				r := start(t, mustNew(t, WithIntensity(max, time.Second), WithChildren(h.spec("a", Permanent), h.spec("b", Permanent))))
				for i := 0; i < max; i++ {
					h.exit("a", errBoom)
					_, over := r.done()
					require.False(t, over, "restart %d of %d", i+1, max)
				}
				h.take()
				h.exit("a", errBoom)
				err, over := r.done()
				require.True(t, over, "restart %d must give up", max+1)
				assert.ErrorIs(t, err, ErrTooManyRestarts)
				assert.ErrorIs(t, err, errBoom, "the last child error is carried")
				var ce *ChildError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, "a", ce.Child)
				assert.Contains(t, err.Error(), `supervisor: tree "supervisor": child "a"`)
				assert.Equal(t, []string{"exit a", "stop b"}, h.take(), "giving up stops every child")
			})
		})
	}
}

func TestIntensityWindowSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithIntensity(2, 10*time.Second), WithChildren(h.spec("a", Permanent))))
		h.exit("a", errBoom) // t=0
		time.Sleep(6 * time.Second)
		h.exit("a", errBoom) // t=6
		time.Sleep(5 * time.Second)
		h.exit("a", errBoom) // t=11: the one at 0 has left the window
		_, over := r.done()
		require.False(t, over)
		time.Sleep(4 * time.Second)
		h.exit("a", errBoom) // t=15: 6, 11, 15 are within 10s: 3 > 2
		err, over := r.done()
		require.True(t, over)
		assert.ErrorIs(t, err, ErrTooManyRestarts)
	})
}

func TestGroupRestartCountsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithIntensity(1, time.Minute), threeChildren(h, Permanent)))
		h.exit("b", errBoom)
		_, over := r.done()
		require.False(t, over, "one group restart of three children is one restart")
		for _, c := range r.tree.Children() {
			assert.Equal(t, Running, c.State)
		}
		h.exit("c", errBoom)
		err, over := r.done()
		require.True(t, over)
		assert.ErrorIs(t, err, ErrTooManyRestarts)
	})
}

func TestManualRestartAddAndInitialStartDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithIntensity(0, time.Minute), WithChildren(h.spec("a", Permanent))))
		for i := 0; i < 3; i++ {
			require.NoError(t, r.tree.Restart("a"))
		}
		_, err := r.tree.Add(h.spec("b", Permanent))
		require.NoError(t, err)
		_, over := r.done()
		require.False(t, over)
		assert.Equal(t, 0, r.tree.Children()[0].Restarts)
		require.NoError(t, r.stop())
	})
}

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
