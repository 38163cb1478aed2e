package supervisor

// Conformance with SPEC.md §1 and §2: one test per sentence that the other
// tests of the package do not pin already. Each test quotes its sentence.

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// §1: "Messages start with `supervisor:` and name the tree and child
// involved."
func TestConformance_ErrorMessagesNameTreeAndChild(t *testing.T) {
	const tree = "conf-tree"
	check := func(t *testing.T, what string, err error, child string) {
		t.Helper()
		require.Error(t, err, what)
		msg := err.Error()
		assert.True(t, strings.HasPrefix(msg, "supervisor:"), "%s: %q", what, msg)
		assert.Contains(t, msg, `"`+tree+`"`, what)
		if child != "" {
			assert.Contains(t, msg, `"`+child+`"`, what)
		}
	}
	t.Run("panic", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := Spec{Name: "panicky", Run: func(context.Context) error { panic("kaboom") }}
			tr := mustNew(t, WithName(tree), WithIntensity(0, time.Hour), WithChildren(p))
			check(t, "Run's error", tr.Run(context.Background()), "panicky")
			check(t, "the child's last error", tr.Children()[0].Err, "panicky")
		})
	})
	t.Run("goexit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			runs := 0
			g := Spec{Name: "quitter", Run: func(ctx context.Context) error {
				if runs++; runs == 1 {
					runtime.Goexit()
				}
				<-ctx.Done()
				return nil
			}}
			r := start(t, mustNew(t, WithName(tree), WithChildren(g)))
			check(t, "the child's last error", r.tree.Children()[0].Err, "quitter")
			require.NoError(t, r.stop())
		})
	})
	t.Run("api", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, err := New(WithName(tree), WithStrategy(9))
			check(t, "ErrInvalidOption", err, "")
			_, err = New(WithName(tree), WithChildren(Spec{Name: "norun"}))
			check(t, "ErrInvalidSpec", err, "norun")

			h := newHarness(t)
			release := make(chan struct{})
			deafSpec := Spec{Name: "deaf", Shutdown: time.Second, Run: func(context.Context) error { <-release; return nil }}
			tr := mustNew(t, WithName(tree), WithMaxChildren(3), WithChildren(h.spec("a", Permanent), deafSpec))
			r := start(t, tr)
			check(t, "ErrAlreadyRunning", tr.Run(context.Background()), "")
			_, err = tr.Add(h.spec("a", Permanent))
			check(t, "ErrDuplicateChild", err, "a")
			for _, err := range []error{tr.Terminate("nope"), tr.Restart("nope"), tr.Delete("nope")} {
				check(t, "ErrUnknownChild", err, "nope")
			}
			_, err = tr.Add(Spec{Name: "bad", WaitReady: true, Run: func(context.Context) error { return errBoom }})
			check(t, "ErrStartFailed", err, "bad")
			_, err = tr.Add(h.spec("second", Permanent))
			require.NoError(t, err)
			_, err = tr.Add(h.spec("third", Permanent))
			check(t, "ErrMaxChildren", err, "third")
			check(t, "ErrShutdownTimeout from Terminate", tr.Terminate("deaf"), "deaf")
			check(t, "Run's ErrShutdownTimeout", r.stop(), "deaf")
			check(t, "ErrNotRunning from Terminate", tr.Terminate("a"), "a")
			check(t, "ErrNotRunning from Restart", tr.Restart("a"), "a")
			close(release)
		})
	})
}

// §1: "All errors are matched with errors.Is / errors.As; an error that
// carries a child's own error also matches that error."
func TestConformance_ErrorsCarryTheChildsOwnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A panic with an error value, through the give-up error.
		p := Spec{Name: "p", Run: func(context.Context) error { panic(errBoom) }}
		err := mustNew(t, WithIntensity(0, time.Hour), WithChildren(p)).Run(context.Background())
		assert.ErrorIs(t, err, ErrTooManyRestarts)
		assert.ErrorIs(t, err, errBoom)
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "p", pe.Child)
		var ce *ChildError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "p", ce.Child)

		// A failed manual Restart of a WaitReady child.
		runs := 0
		w := Spec{Name: "w", WaitReady: true, Run: func(ctx context.Context) error {
			if runs++; runs == 2 {
				return errBoom
			}
			Ready(ctx)
			<-ctx.Done()
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(w)))
		err = r.tree.Restart("w")
		assert.ErrorIs(t, err, ErrStartFailed)
		assert.ErrorIs(t, err, errBoom)

		// A watchdog failure: what the child returned once cancelled.
		errOwn := errors.New("own error")
		wdRuns := 0
		wd := Spec{Name: "wd", Watchdog: time.Second, Run: func(ctx context.Context) error {
			if wdRuns++; wdRuns == 1 {
				<-ctx.Done() // no heartbeat
				return errOwn
			}
			<-ctx.Done()
			return nil
		}}
		_, err = r.tree.Add(wd)
		require.NoError(t, err)
		time.Sleep(1500 * time.Millisecond)
		info, err := r.tree.Child("wd")
		require.NoError(t, err)
		assert.ErrorIs(t, info.Err, ErrWatchdogTimeout)
		assert.ErrorIs(t, info.Err, errOwn)
		require.NoError(t, r.tree.Delete("wd"))
		require.NoError(t, r.stop())
	})
}

// §2 Child exits: "When the tree itself cancelled the child's context
// (Terminate, Restart, Delete, group restart, shutdown), whatever it
// returns is a shutdown, never a failure."
func TestConformance_WhateverAStoppedChildReturnsIsAShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		x := Spec{Name: "x", Run: func(ctx context.Context) error { <-ctx.Done(); return errBoom }}
		// One restart allowed: the group restart below. Any failure more gives up.
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithIntensity(1, time.Hour), WithChildren(h.spec("y", Permanent), x)))
		over := func() bool { _, over := r.done(); return over }
		require.NoError(t, r.tree.Terminate("x"))
		assert.Equal(t, Stopped, states(r.tree)["x"], "a Permanent child returning an error after Terminate stays Stopped")
		require.False(t, over())
		require.NoError(t, r.tree.Restart("x"))
		require.NoError(t, r.tree.Restart("x")) // stops the running x, which returns errBoom
		require.False(t, over())
		h.exit("y", errBoom) // the group restart: x is a bystander and returns errBoom
		require.False(t, over(), "the group restart counts once")
		require.NoError(t, r.tree.Delete("x"))
		require.False(t, over())
		_, err := r.tree.Add(x)
		require.NoError(t, err)
		assert.Equal(t, 0, r.tree.Children()[1].Restarts)
		require.NoError(t, r.stop(), "a child returning an error during shutdown does not make Run fail")
	})
}

// §2 Start: "A WaitReady child that returns before Ready has failed to
// start: [...] during an automatic restart, it is another failure." A
// failure is an abnormal exit, so a Transient child is restarted again
// (§2 Restart types: "Transient: restarted after an abnormal exit"), even
// when its Run returned nil before Ready.
func TestConformance_FailedStartDuringAutomaticRestartIsAFailure(t *testing.T) {
	for _, s := range []Strategy{OneForOne, OneForAll} {
		t.Run(s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				var runs atomic.Int32
				w := Spec{Name: "w", Restart: Transient, WaitReady: true, Run: func(ctx context.Context) error {
					switch runs.Add(1) {
					case 1:
						Ready(ctx)
						return errBoom // fails once started: restarted
					case 2:
						return nil // returns before Ready: failed to start
					}
					Ready(ctx)
					<-ctx.Done()
					return nil
				}}
				r := start(t, mustNew(t, WithStrategy(s), WithIntensity(10, time.Minute), WithChildren(h.spec("a", Permanent), w)))
				assert.Equal(t, int32(3), runs.Load(), "the failed start is another failure: w is restarted again")
				info, err := r.tree.Child("w")
				require.NoError(t, err)
				assert.Equal(t, Running, info.State)
				assert.Equal(t, 2, info.Restarts)
				require.NoError(t, r.stop())
			})
		})
	}
}

// §2 Group restart cut short: "When a member of a OneForAll or RestForOne
// group restart in progress is terminated or deleted by a call (Terminate
// or Delete), the restart ends there: the members after it in start order
// that were not started yet stay Stopped (as OTP's). Members already
// started stay running." Here the member is one the restart has already
// started again, while the restart still waits for a later member's Ready.
func TestConformance_GroupRestartCutShortByCallOnRestartedMember(t *testing.T) {
	for _, call := range []string{"Terminate", "Delete"} {
		t.Run(call, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				hold := make(chan struct{})
				runs := 0
				b := Spec{Name: "b", WaitReady: true, Run: func(ctx context.Context) error {
					if runs++; runs == 2 {
						select { // the restarted b is slow to start
						case <-hold:
						case <-ctx.Done():
							return nil
						}
					}
					return h.run("b")(ctx)
				}}
				r := start(t, mustNew(t, WithStrategy(OneForAll),
					WithChildren(h.spec("x", Permanent), h.spec("a", Permanent), b, h.spec("c", Permanent))))
				assert.Equal(t, []string{"start x", "start a", "start b", "start c"}, h.take())
				h.exit("c", errBoom) // stop b, a, x; start x, a, then b, which waits
				assert.Equal(t, []string{"exit c", "stop b", "stop a", "stop x", "start x", "start a"}, h.take())
				if call == "Terminate" {
					require.NoError(t, r.tree.Terminate("a"))
				} else {
					require.NoError(t, r.tree.Delete("a"))
				}
				close(hold) // b becomes ready now
				synctest.Wait()
				st := states(r.tree)
				assert.Equal(t, Running, st["x"], "x was started before a: it stays running")
				assert.Equal(t, Stopped, st["c"], "c comes after a and was not started yet: it stays Stopped")
				require.NoError(t, r.stop())
			})
		})
	}
}

// §2 Restart intensity: "when more than maxRestarts fall within the last
// period, the tree gives up: it stops every child (reverse start order)".
func TestConformance_GiveUpStopsEveryChildInReverseOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithIntensity(0, time.Hour),
			WithChildren(h.spec("a", Permanent), h.spec("b", Permanent), h.spec("c", Permanent), h.spec("d", Permanent))))
		h.take()
		h.exit("b", errBoom)
		err, over := r.done()
		require.True(t, over)
		assert.ErrorIs(t, err, ErrTooManyRestarts)
		assert.Equal(t, []string{"exit b", "stop d", "stop c", "stop a"}, h.take())
	})
}

// §1: "func WithIntensity(maxRestarts int, period time.Duration) Option //
// default 3 in 5s".
func TestConformance_DefaultIntensity(t *testing.T) {
	for _, tc := range []struct {
		every   time.Duration
		givesUp bool
	}{{2 * time.Second, false}, {1500 * time.Millisecond, true}} {
		t.Run(tc.every.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				runs := 0
				spec := Spec{Name: "a", Run: func(ctx context.Context) error {
					runs++
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(tc.every):
						return errBoom
					}
				}}
				r := start(t, mustNew(t, WithChildren(spec)))
				time.Sleep(time.Minute)
				err, over := r.done()
				if !tc.givesUp {
					require.False(t, over, "3 restarts in any 5s are allowed")
					require.NoError(t, r.stop())
					return
				}
				require.True(t, over, "a 4th restart within 5s gives up")
				assert.ErrorIs(t, err, ErrTooManyRestarts)
				assert.Equal(t, 4, runs, "the first run and 3 restarts")
			})
		})
	}
}

// §2 Backoff: "Restarts still count toward intensity when they happen."
// Two restarts decided 7s apart (a's 4th, delayed 8s; b's 1st, delayed 1s)
// happen at the same instant, and 1 restart in 1.5s is the limit.
func TestConformance_BackoffRestartsCountWhenTheyHappen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var aRuns atomic.Int32
		a := Spec{Name: "a", Run: func(ctx context.Context) error {
			if aRuns.Add(1) <= 4 {
				return errBoom // at 0, 1, 3, 7: restarts at 1, 3, 7 and 15
			}
			<-ctx.Done()
			return nil
		}}
		bRuns := 0
		b := Spec{Name: "b", Run: func(ctx context.Context) error {
			if bRuns++; bRuns == 1 {
				time.Sleep(14 * time.Second)
				return errBoom // at 14: restart at 15
			}
			<-ctx.Done()
			return nil
		}}
		r := start(t, mustNew(t, WithBackoff(time.Second, 8*time.Second), withJitter(func() float64 { return 0.5 }),
			WithIntensity(1, 1500*time.Millisecond), WithChildren(a, b)))
		time.Sleep(14900 * time.Millisecond)
		_, over := r.done()
		require.False(t, over, "no two restarts have happened within 1.5s yet")
		assert.Equal(t, int32(4), aRuns.Load())
		time.Sleep(200 * time.Millisecond)
		err, over := r.done()
		require.True(t, over, "two restarts happened at 15s")
		assert.ErrorIs(t, err, ErrTooManyRestarts)
	})
}

// §2 Restart intensity / Runtime calls: "Manual Restart [...] do[es] not
// count" and "[Restart] never counts toward intensity", also when it
// replaces an automatic restart pending in its backoff delay.
func TestConformance_RestartDuringBackoffDoesNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithIntensity(0, time.Hour), WithBackoff(10*time.Second, 10*time.Second),
			WithChildren(h.spec("a", Permanent))))
		h.exit("a", errBoom)
		require.Equal(t, Restarting, states(r.tree)["a"])
		require.NoError(t, r.tree.Restart("a"))
		assert.Equal(t, Running, states(r.tree)["a"])
		time.Sleep(time.Minute)
		_, over := r.done()
		require.False(t, over)
		assert.Equal(t, 0, r.tree.Children()[0].Restarts)
		require.NoError(t, r.stop())
	})
}

// §2 Watchdog: "A child whose Spec.Watchdog is positive must call
// Heartbeat(ctx) at least once per Watchdog, counted from its start".
func TestConformance_WatchdogCountsFromStartAndLastHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		spec := Spec{Name: "w", Watchdog: time.Second, Run: func(ctx context.Context) error {
			if runs.Add(1) == 1 {
				time.Sleep(900 * time.Millisecond)
				Heartbeat(ctx) // due again at 1.9s
			}
			<-ctx.Done()
			return nil
		}}
		r := start(t, mustNew(t, WithIntensity(10, time.Minute), WithChildren(spec)))
		at := func(d time.Duration) int32 {
			time.Sleep(d)
			synctest.Wait()
			return runs.Load()
		}
		assert.Equal(t, int32(1), at(1899*time.Millisecond), "1.899s: the heartbeat at 0.9s holds")
		assert.Equal(t, int32(2), at(2*time.Millisecond), "1.901s: missed, restarted at 1.9s")
		assert.Equal(t, int32(2), at(997*time.Millisecond), "2.898s: the new incarnation counts from its start")
		assert.Equal(t, int32(3), at(3*time.Millisecond), "2.901s: missed")
		require.NoError(t, r.stop())
	})
}

// §2 Watchdog: "When one is missed the tree cancels the child's context and
// treats the exit as a failure whose error matches ErrWatchdogTimeout, then
// applies its restart type and the strategy as for any failure."
func TestConformance_WatchdogFailureAppliesTheStrategy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		runs := 0
		w := Spec{Name: "w", Watchdog: time.Second, Run: func(ctx context.Context) error {
			if runs++; runs == 1 {
				<-ctx.Done() // never beats
				return nil
			}
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
					Heartbeat(ctx)
				}
			}
		}}
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithChildren(h.spec("a", Permanent), w)))
		h.take()
		time.Sleep(1100 * time.Millisecond)
		assert.Equal(t, []string{"stop a", "start a"}, h.take(), "OneForAll: the sibling is restarted too")
		kids := r.tree.Children()
		assert.Equal(t, 1, kids[0].Restarts)
		assert.Equal(t, 1, kids[1].Restarts)
		assert.ErrorIs(t, kids[1].Err, ErrWatchdogTimeout)
		require.NoError(t, r.stop())
	})
}

// §2 Start: "Add before Run (or after Run returned) queues the spec for the
// next Run (SimpleOneForOne: ErrNotRunning)."
func TestConformance_AddAfterRunReturnedQueuesForNextRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		tr := mustNew(t, WithChildren(h.spec("a", Permanent)))
		r := start(t, tr)
		require.NoError(t, r.stop())
		h.take()
		name, err := tr.Add(h.spec("b", Permanent))
		require.NoError(t, err)
		assert.Equal(t, "b", name)
		assert.Equal(t, map[string]ChildState{"a": Stopped, "b": Stopped}, states(tr))
		r = start(t, tr)
		assert.Equal(t, []string{"start a", "start b"}, h.take())
		require.NoError(t, r.stop())

		sofo := mustNew(t, WithStrategy(SimpleOneForOne))
		_, err = sofo.Add(h.spec("", Permanent))
		assert.ErrorIs(t, err, ErrNotRunning, "before the first Run")
	})
}

// §2 Runtime calls: "Terminate, Restart and Delete return when the child
// has stopped (or been abandoned)."
func TestConformance_CallsReturnWhenTheChildHasStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var returns atomic.Int32
		slow := Spec{Name: "s", Run: func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(2 * time.Second) // takes 2s to stop, within its Shutdown
			returns.Add(1)
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(slow)))
		for i, call := range []struct {
			name string
			f    func() error
		}{
			{"Restart", func() error { return r.tree.Restart("s") }},
			{"Terminate", func() error { return r.tree.Terminate("s") }},
			{"Restart of the Stopped child", func() error { return r.tree.Restart("s") }},
			{"Delete", func() error { return r.tree.Delete("s") }},
		} {
			before := returns.Load()
			begin := time.Now()
			require.NoError(t, call.f(), call.name)
			if i == 2 {
				continue
			}
			assert.Equal(t, 2*time.Second, time.Since(begin), call.name)
			assert.Equal(t, before+1, returns.Load(), "%s returned before the child's Run did", call.name)
		}
		require.NoError(t, r.stop())
	})
}

// §2 Auto shutdown: "Terminate, bystander stops and restarts never trigger
// it."
func TestConformance_AutoShutdownNotTriggeredByTerminateOrBystanders(t *testing.T) {
	for _, a := range []AutoShutdown{AnySignificant, AllSignificant} {
		t.Run(a.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				s, tmp := h.spec("s", Transient), h.spec("tmp", Temporary)
				s.Significant, tmp.Significant = true, true
				r := start(t, mustNew(t, WithStrategy(OneForAll), WithAutoShutdown(a), WithChildren(h.spec("a", Permanent), s, tmp)))
				over := func() bool { _, over := r.done(); return over }
				h.exit("a", errBoom) // bystanders: s is restarted, tmp removed
				assert.Equal(t, []string{"a", "s"}, names(r.tree.Children()))
				require.False(t, over(), "bystander stops")
				h.exit("s", errBoom) // restarted with its group
				require.False(t, over(), "restarts")
				require.NoError(t, r.tree.Terminate("s")) // the last significant child
				require.False(t, over(), "Terminate")
				require.NoError(t, r.stop())
			})
		})
	}
}
