package supervisor

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hooks add up: each sees every event, in order.
func TestHooksAddUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b []EventKind
		tr := mustNew(t, WithHook(func(e Event) { a = append(a, e.Kind) }), WithHook(nil),
			WithHook(func(e Event) { b = append(b, e.Kind) }))
		r := start(t, tr)
		require.NoError(t, r.stop())
		assert.Equal(t, []EventKind{TreeStarted, TreeReady, TreeStopped}, a)
		assert.Equal(t, a, b)
	})
}

// Regression: the observer broke its promises. A blocking hook delayed Run's
// return by DefaultShutdown; a slow hook kept receiving events after Run
// returned; a tree run again by its parent started a second observer, so
// the hook ran on two goroutines at once and events arrived out of order.
// The contract now: Run waits at most observerDrain for its events to be
// delivered, then detaches the observer (no hook call for that Run after it
// returned); hook calls of one Tree never overlap, across Runs too.
func TestObserverContract(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inHook, overlaps atomic.Int32
		block := make(chan struct{})
		var returned atomic.Int64 // when the first Run returned (UnixNano); 0 before
		var late atomic.Int32
		var second []EventKind
		first := time.Now()
		hook := func(e Event) {
			if inHook.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer inHook.Add(-1)
			ofFirst := e.Time.Before(first.Add(time.Minute))
			if ofFirst && returned.Load() != 0 {
				late.Add(1)
			}
			if ofFirst && e.Kind == TreeStarted {
				<-block // the first Run's hook is stuck in its first event
			}
			if !ofFirst {
				second = append(second, e.Kind)
			}
		}
		h := newHarness(t)
		tr := mustNew(t, WithHook(hook), WithIntensity(100, time.Hour), WithChildren(h.spec("a", Permanent)))
		r := start(t, tr)
		for i := 0; i < 10; i++ {
			h.exit("a", errBoom)
		}
		r.cancel()
		begin := time.Now()
		require.NoError(t, <-r.errc)
		assert.Equal(t, observerDrain, time.Since(begin), "Run waited a bounded time")
		returned.Store(time.Now().UnixNano())

		// Run again, later, while the first Run's hook call is still stuck.
		time.Sleep(time.Hour)
		r = start(t, tr)
		close(block) // the stuck call returns; the first observer delivers nothing more
		h.exit("a", errBoom)
		require.NoError(t, r.stop())
		synctest.Wait()
		assert.Zero(t, overlaps.Load(), "hook calls never overlap")
		assert.Zero(t, late.Load(), "no event of the first Run after it returned")
		require.NotEmpty(t, second)
		assert.Equal(t, TreeStarted, second[0], "the second Run's events arrive in order")
		assert.Equal(t, TreeStopped, second[len(second)-1])
	})
}

// A slow but working hook gets every event of the Run before Run returns.
func TestObserverDrainsBeforeRunReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var kinds []EventKind
		hook := func(e Event) {
			time.Sleep(time.Millisecond)
			kinds = append(kinds, e.Kind)
		}
		h := newHarness(t)
		tr := mustNew(t, WithHook(hook), WithIntensity(100, time.Hour), WithChildren(h.spec("a", Permanent)))
		r := start(t, tr)
		for i := 0; i < 20; i++ {
			h.exit("a", errBoom)
		}
		require.NoError(t, r.stop())
		require.NotEmpty(t, kinds)
		assert.Equal(t, TreeStopped, kinds[len(kinds)-1])
	})
}

var _ = context.Background

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
