package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecide(t *testing.T) {
	no := fmt.Errorf("done for good: %w", ErrDoNotRestart)
	stop := fmt.Errorf("fatal: %w", ErrStopTree)
	cases := []struct {
		r    Restart
		err  error
		want outcome
	}{
		{Permanent, nil, outRestart}, {Permanent, errBoom, outRestart}, {Permanent, no, outStay}, {Permanent, stop, outStopTree},
		{Transient, nil, outStay}, {Transient, errBoom, outRestart}, {Transient, no, outStay}, {Transient, stop, outStopTree},
		{Temporary, nil, outStay}, {Temporary, errBoom, outStay}, {Temporary, no, outStay}, {Temporary, stop, outStopTree},
		{Permanent, &PanicError{Value: ErrStopTree}, outStopTree},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, decide(c.r, c.err), "%v %v", c.r, c.err)
	}
}

// A child that returns ErrDoNotRestart (wrapped) stays Stopped whatever its
// restart type, is removed if Temporary or in a SimpleOneForOne tree, and
// costs nothing toward intensity (here 0: any counted restart gives up).
func TestChildDeclinesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		tr := mustNew(t, WithIntensity(0, time.Hour), WithStrategy(OneForAll),
			WithChildren(h.spec("p", Permanent), h.spec("tmp", Temporary), h.spec("other", Permanent)))
		r := start(t, tr)
		h.take()
		h.exit("p", fmt.Errorf("no more work: %w", ErrDoNotRestart))
		h.exit("tmp", ErrDoNotRestart)
		assert.Equal(t, []string{"exit p", "exit tmp"}, h.take(), "no sibling touched")
		_, over := r.done()
		require.False(t, over)
		assert.Equal(t, map[string]ChildState{"p": Stopped, "other": Running}, states(tr))
		info, _ := tr.Child("p")
		assert.ErrorIs(t, info.Err, ErrDoNotRestart)
		require.NoError(t, tr.Restart("p"), "a manual Restart runs it again")
		require.NoError(t, r.stop())
	})
}

// OTP's ignore: a WaitReady child that declines at once (before Ready) is
// not a failed start: Add succeeds and keeps it Stopped, and Run's initial
// start goes on.
func TestChildDeclinesToStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		ignore := Spec{Name: "ignore", WaitReady: true, Run: func(context.Context) error { return ErrDoNotRestart }}
		tr := mustNew(t, WithIntensity(0, time.Hour), WithChildren(ignore, h.spec("b", Permanent)))
		r := start(t, tr)
		assert.Equal(t, []string{"start b"}, h.take())
		assert.Equal(t, map[string]ChildState{"ignore": Stopped, "b": Running}, states(tr))
		name, err := tr.Add(Spec{Name: "later", WaitReady: true, Run: ignore.Run})
		require.NoError(t, err)
		assert.Equal(t, "later", name)
		assert.Equal(t, Stopped, states(tr)["later"])
		require.NoError(t, r.stop())

		sofo := mustNew(t, WithStrategy(SimpleOneForOne))
		r = start(t, sofo)
		_, err = sofo.Add(Spec{WaitReady: true, Run: ignore.Run})
		require.NoError(t, err)
		assert.Empty(t, sofo.Children(), "SimpleOneForOne keeps no stopped child")
		require.NoError(t, r.stop())
	})
}

// OTP's ignore is not an exit: a Significant child that declines before
// Ready does not trigger AnySignificant's auto shutdown, at the initial
// start or at an Add; once it has started, declining is an exit by itself
// that is not restarted, and does.
func TestChildDecliningToStartIsNoAutoShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		ignore := Spec{Name: "ignore", Restart: Transient, Significant: true, WaitReady: true,
			Run: func(context.Context) error { return ErrDoNotRestart }}
		tr := mustNew(t, WithAutoShutdown(AnySignificant), WithChildren(ignore, h.spec("b", Permanent)))
		r := start(t, tr)
		_, over := r.done()
		require.False(t, over, "the initial start's ignore stopped the tree")
		_, err := tr.Add(Spec{Name: "later", Restart: Transient, Significant: true, WaitReady: true, Run: ignore.Run})
		require.NoError(t, err)
		_, over = r.done()
		require.False(t, over, "an Add's ignore stopped the tree")
		_, err = tr.Add(Spec{Name: "quits", Restart: Transient, Significant: true, WaitReady: true,
			Run: func(ctx context.Context) error { Ready(ctx); return ErrDoNotRestart }})
		require.NoError(t, err)
		err, over = r.done()
		require.True(t, over, "a significant child that exits unrestarted stops the tree")
		require.NoError(t, err)
	})
}

// A child that returns ErrStopTree stops the whole tree in reverse start
// order, and Run returns the child's error.
func TestChildStopsTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		fatal := fmt.Errorf("disk gone: %w", ErrStopTree)
		tr := mustNew(t, WithChildren(h.spec("a", Permanent), h.spec("b", Temporary), h.spec("c", Permanent)))
		r := start(t, tr)
		h.take()
		h.exit("b", fatal)
		err, over := r.done()
		require.True(t, over)
		assert.Equal(t, []string{"exit b", "stop c", "stop a"}, h.take())
		assert.ErrorIs(t, err, ErrStopTree)
		assert.Equal(t, fatal, err)
	})
}

// With WithPanicPassThrough a child's panic crashes the program with the
// original value and the child's own stack. Checked in a child process.
func TestPanicPassThrough(t *testing.T) {
	if os.Getenv("ARBOR_PANIC_CHILD") == "1" {
		tr, _ := New(WithPanicPassThrough(), WithChildren(Spec{Name: "p", Run: panickyChild}))
		_ = tr.Run(context.Background())
		os.Exit(0) // not reached
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPanicPassThrough$")
	cmd.Env = append(os.Environ(), "ARBOR_PANIC_CHILD=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the program crashed: %v\n%s", err, out)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Contains(t, string(out), "panic: original panic value")
	assert.Contains(t, string(out), "panickyChild", "the child's own stack")
}

func panickyChild(context.Context) error { panic("original panic value") }

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

func TestBackoffDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &startTimes{t0: time.Now()}
		tr := mustNew(t, WithBackoff(time.Second, 5*time.Second), WithIntensity(100, time.Hour),
			WithChildren(Spec{Name: "f", Run: st.failing(errBoom)}))
		r := start(t, tr)
		time.Sleep(20 * time.Second)
		synctest.Wait()
		require.GreaterOrEqual(t, len(st.times), 6)
		// Gaps: 1s, 2s, 4s, then capped at 5s, each within ±20%.
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
		for i, w := range want {
			gap := st.times[i+1] - st.times[i]
			assert.InDelta(t, float64(w), float64(gap), float64(w)/5+1, "gap %d", i)
		}
		require.NoError(t, r.stop())
	})
}

func TestBackoffDeterministicWithJitterHook(t *testing.T) {
	b := backoff{initial: 100 * time.Millisecond, max: time.Second, jitter: func() float64 { return 0.5 }}
	assert.Equal(t, 100*time.Millisecond, b.delay(1))
	assert.Equal(t, 200*time.Millisecond, b.delay(2))
	assert.Equal(t, 800*time.Millisecond, b.delay(4))
	assert.Equal(t, time.Second, b.delay(5))
	assert.Equal(t, time.Second, b.delay(1000), "no overflow on long streaks")
	b.jitter = func() float64 { return 0 }
	assert.Equal(t, 80*time.Millisecond, b.delay(1), "-20%")
	b.jitter = func() float64 { return 0.9999999 }
	assert.InDelta(t, float64(120*time.Millisecond), float64(b.delay(1)), 1e3, "+20%")
	assert.Equal(t, time.Duration(0), (&backoff{}).delay(3))
	huge := backoff{initial: time.Hour, max: never, jitter: func() float64 { return 0.9999 }}
	assert.Equal(t, never, huge.delay(100), "saturates instead of overflowing")
}

func TestBackoffShowsRestartingAndCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		r := start(t, mustNew(t, WithBackoff(10*time.Second, time.Minute), WithChildren(h.spec("a", Permanent), h.spec("b", Permanent))))
		h.take()
		h.exit("a", errBoom)
		assert.Equal(t, Restarting, states(r.tree)["a"])
		time.Sleep(5 * time.Second)
		require.NoError(t, r.tree.Terminate("a"), "Terminate cancels the pending restart")
		assert.Equal(t, Stopped, states(r.tree)["a"])
		time.Sleep(time.Minute)
		assert.Equal(t, []string{"exit a"}, h.take(), "a was not restarted")

		h.exit("b", errBoom)
		assert.Equal(t, Restarting, states(r.tree)["b"])
		require.NoError(t, r.tree.Delete("b"))
		time.Sleep(time.Minute)
		assert.Equal(t, []string{"exit b"}, h.take())

		require.NoError(t, r.tree.Restart("a"))
		h.exit("a", errBoom)
		assert.Equal(t, Restarting, states(r.tree)["a"])
		begin := time.Now()
		require.NoError(t, r.stop(), "shutdown cancels the pending restart")
		assert.Zero(t, time.Since(begin))
	})
}

func TestBackoffStreakResetsAfterRunningForMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts []time.Duration
		t0 := time.Now()
		n := 0
		spec := Spec{Name: "a", Run: func(ctx context.Context) error {
			starts = append(starts, time.Since(t0))
			n++
			if n == 4 {
				time.Sleep(10 * time.Second) // runs longer than max: the streak starts afresh
			}
			return errBoom
		}}
		tr := mustNew(t, WithBackoff(time.Second, 4*time.Second), WithIntensity(100, time.Hour), WithChildren(spec))
		tr.testJitter(func() float64 { return 0.5 })
		r := start(t, tr)
		time.Sleep(30 * time.Second)
		require.NoError(t, r.stop())
		require.GreaterOrEqual(t, len(starts), 6)
		gaps := []time.Duration{}
		for i := 1; i < 6; i++ {
			gaps = append(gaps, starts[i]-starts[i-1])
		}
		// 1s, 2s, 4s (capped), then 10s of running + 1s (fresh streak), then 2s.
		assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 11 * time.Second, 2 * time.Second}, gaps)
	})
}

func TestBackoffCountsWhenRestartHappens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		tr := mustNew(t, WithBackoff(10*time.Second, 10*time.Second), WithIntensity(1, 5*time.Second),
			WithChildren(h.spec("a", Permanent)))
		tr.testJitter(func() float64 { return 0.5 })
		r := start(t, tr)
		h.exit("a", errBoom)
		time.Sleep(11 * time.Second)
		h.exit("a", errBoom)
		time.Sleep(11 * time.Second)
		_, over := r.done()
		assert.False(t, over, "restarts 10s apart never exceed 1 in 5s")
		require.NoError(t, r.stop())
	})
}
