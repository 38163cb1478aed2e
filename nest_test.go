package supervisor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func TestValidation(t *testing.T) {
	run := func(context.Context) error { return nil }
	specCases := map[string]struct {
		spec Spec
		opts []Option
		want string
	}{
		"nil Run":           {Spec{Name: "x"}, nil, "Run is nil"},
		"bad restart":       {Spec{Name: "x", Run: run, Restart: 7}, nil, "Restart 7"},
		"negative shutdown": {Spec{Name: "x", Run: run, Shutdown: -5}, nil, "Shutdown -5ns"},
		"negative watchdog": {Spec{Name: "x", Run: run, Watchdog: -1}, nil, "Watchdog -1ns"},
		"significant permanent": {Spec{Name: "x", Run: run, Significant: true}, []Option{WithAutoShutdown(AnySignificant)},
			"Significant is not allowed on a Permanent child"},
		"significant never": {Spec{Name: "x", Run: run, Significant: true, Restart: Transient}, nil, "WithAutoShutdown"},
	}
	for name, tc := range specCases {
		t.Run(name, func(t *testing.T) {
			_, err := New(append(tc.opts, WithChildren(tc.spec))...)
			require.ErrorIs(t, err, ErrInvalidSpec)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "supervisor: "), err.Error())
			tr := mustNew(t, tc.opts...)
			_, err = tr.Add(tc.spec)
			require.ErrorIs(t, err, ErrInvalidSpec)
			assert.Contains(t, err.Error(), `child "x"`)
		})
	}
	optCases := map[string]struct {
		opts []Option
		want string
	}{
		"strategy":          {[]Option{WithStrategy(9)}, "unknown strategy 9"},
		"negative restarts": {[]Option{WithIntensity(-1, time.Second)}, "maxRestarts -1"},
		"zero period":       {[]Option{WithIntensity(1, 0)}, "period 0s"},
		"auto shutdown":     {[]Option{WithAutoShutdown(5)}, "unknown value 5"},
		"sofo auto":         {[]Option{WithStrategy(SimpleOneForOne), WithAutoShutdown(AnySignificant)}, "SimpleOneForOne"},
		"sofo children":     {[]Option{WithStrategy(SimpleOneForOne), WithChildren(Spec{Run: run})}, "SimpleOneForOne"},
		"max children":      {[]Option{WithMaxChildren(-1)}, "WithMaxChildren: -1"},
		"over max":          {[]Option{WithMaxChildren(1), WithChildren(Spec{Run: run}, Spec{Run: run})}, "WithMaxChildren(1)"},
		"backoff initial":   {[]Option{WithBackoff(0, time.Second)}, "initial 0s"},
		"backoff max":       {[]Option{WithBackoff(time.Second, time.Millisecond)}, "max 1ms"},
		"empty name":        {[]Option{WithName("")}, "name is empty"},
		"nil option":        {[]Option{nil}, "option 0 is nil"},
	}
	for name, tc := range optCases {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.opts...)
			require.ErrorIs(t, err, ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "supervisor: tree "), err.Error())
		})
	}
	_, err := New(WithChildren(Spec{Name: "a", Run: run}, Spec{Name: "a", Run: run}))
	assert.ErrorIs(t, err, ErrDuplicateChild)
}

func TestEventsAndLogging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var events []Event
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		h := newHarness(t)
		tr := mustNew(t, WithName("obs"), WithIntensity(1, time.Minute), WithBackoff(time.Second, time.Second), WithLogger(logger),
			WithHook(func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }),
			WithChildren(h.spec("a", Permanent)))
		r := start(t, tr)
		h.exit("a", errBoom)
		time.Sleep(2 * time.Second)
		h.exit("a", errBoom)
		time.Sleep(2 * time.Second)
		err := <-r.errc
		require.ErrorIs(t, err, ErrTooManyRestarts)

		mu.Lock()
		var kinds []EventKind
		for _, e := range events {
			assert.Equal(t, "obs", e.Tree)
			kinds = append(kinds, e.Kind)
		}
		mu.Unlock()
		assert.Equal(t, []EventKind{TreeStarted, ChildStarted, ChildReady, TreeReady,
			ChildExited, RestartScheduled, ChildStarted, ChildReady,
			ChildExited, RestartScheduled, GaveUp, TreeStopped}, kinds)
		exited := events[4]
		assert.True(t, exited.WillRestart)
		assert.ErrorIs(t, exited.Err, errBoom)
		assert.Equal(t, "a", exited.Child)

		out := buf.String()
		assert.Contains(t, out, `level=WARN msg="supervisor: child exited" tree=obs child=a restarts=0 err=boom`)
		assert.Contains(t, out, `level=WARN msg="supervisor: restart scheduled"`)
		assert.Contains(t, out, `level=ERROR msg="supervisor: gave up" tree=obs child=a`)
		assert.Contains(t, out, `level=INFO msg="supervisor: tree started" tree=obs`)
		assert.Contains(t, out, `level=DEBUG msg="supervisor: child started" tree=obs child=a`)
	})
}

// A hook that blocks or panics never stalls or breaks the tree.
func TestHookThatBlocksOrPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		calls := 0
		hook := func(e Event) {
			calls++
			if calls == 1 {
				panic("hook panic")
			}
			<-block
		}
		h := newHarness(t)
		r := start(t, mustNew(t, WithHook(hook), WithIntensity(10000, time.Hour), WithChildren(h.spec("a", Permanent))))
		for i := 0; i < 2*observerBuffer; i++ {
			h.exit("a", errBoom) // floods the observer
		}
		assert.Equal(t, 2*observerBuffer, r.tree.Children()[0].Restarts, "supervision went on")
		r.cancel()
		begin := time.Now()
		require.NoError(t, <-r.errc)
		assert.Equal(t, observerDrain, time.Since(begin), "Run waits a bounded time for the blocked hook")
		close(block)
	})
}

func TestLoggerNilMeansDiscard(t *testing.T) {
	tr, err := New(WithLogger(nil))
	require.NoError(t, err)
	assert.Equal(t, "supervisor", tr.Name())
}

func TestErrorTypes(t *testing.T) {
	ce := &ChildError{Tree: "t", Child: "c", Kind: ErrStartFailed, Err: errBoom}
	assert.ErrorIs(t, ce, ErrStartFailed)
	assert.ErrorIs(t, ce, errBoom)
	assert.Equal(t, `supervisor: tree "t": child "c": child failed to start: boom`, ce.Error())
	se := &ShutdownTimeoutError{Tree: "t", Children: []string{"a", "b"}}
	assert.ErrorIs(t, se, ErrShutdownTimeout)
	assert.Equal(t, `supervisor: tree "t": shutdown timeout: abandoned "a", "b"`, se.Error())
	assert.False(t, errors.Is(se, ErrStartFailed))
	assert.Equal(t, "one_for_all", OneForAll.String())
	assert.Equal(t, "transient", Transient.String())
	assert.Equal(t, "restarting", Restarting.String())
	assert.Equal(t, "all_significant", AllSignificant.String())
	assert.Equal(t, "gave up", GaveUp.String())
	assert.Equal(t, "Strategy(9)", Strategy(9).String())
}

func TestRestartScheduledWithoutBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var scheduled []Event
		h := newHarness(t)
		r := start(t, mustNew(t, WithStrategy(OneForAll), WithChildren(h.spec("a", Permanent), h.spec("b", Permanent)),
			WithHook(func(e Event) {
				if e.Kind == RestartScheduled {
					mu.Lock()
					scheduled = append(scheduled, e)
					mu.Unlock()
				}
			})))
		h.exit("b", errBoom)
		require.NoError(t, r.stop())
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, scheduled, 1, "one group restart, one event")
		assert.Equal(t, "b", scheduled[0].Child)
		assert.Zero(t, scheduled[0].Delay)
	})
}
