package supervisor

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startTimes records when each run of a child began.
type startTimes struct {
	times []time.Duration
	t0    time.Time
}

func (s *startTimes) failing(err error) func(context.Context) error {
	return func(ctx context.Context) error {
		s.times = append(s.times, time.Since(s.t0))
		return err
	}
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

func TestGroupRestartWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		tr := mustNew(t, WithStrategy(RestForOne), WithBackoff(3*time.Second, time.Minute), threeChildren(h, Permanent))
		tr.testJitter(func() float64 { return 0.75 }) // ×1.1: 3.3s
		r := start(t, tr)
		h.take()
		h.exit("b", errBoom)
		assert.Equal(t, []string{"exit b", "stop c"}, h.take())
		assert.Equal(t, map[string]ChildState{"a": Running, "b": Restarting, "c": Restarting}, states(r.tree))
		time.Sleep(3299 * time.Millisecond)
		assert.Empty(t, h.take())
		time.Sleep(time.Millisecond)
		assert.Equal(t, []string{"start b", "start c"}, h.take())
		require.NoError(t, r.stop())
	})
}

func TestWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var beating atomic.Bool
		beating.Store(true)
		runs := 0
		spec := Spec{Name: "w", Watchdog: time.Second, Restart: Transient, Run: func(ctx context.Context) error {
			runs++
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-tick.C:
					if beating.Load() {
						Heartbeat(ctx)
					}
				}
			}
		}}
		var events []Event
		r := start(t, mustNew(t, WithChildren(spec), WithHook(func(e Event) { events = append(events, e) })))
		time.Sleep(time.Minute)
		assert.Equal(t, 1, runs, "heartbeats keep it alive")
		beating.Store(false)
		time.Sleep(1100 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 2, runs, "a missed heartbeat restarts it")
		kids := r.tree.Children()
		assert.ErrorIs(t, kids[0].Err, ErrWatchdogTimeout)
		assert.Equal(t, 1, kids[0].Restarts)
		beating.Store(true)
		require.NoError(t, r.stop())
		synctest.Wait()
		var kinds []EventKind
		for _, e := range events {
			if e.Child == "w" {
				kinds = append(kinds, e.Kind)
			}
		}
		assert.Contains(t, kinds, WatchdogTimeout)
	})
}

func TestWatchdogCountsFromReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		g := newGate(h, "g")
		spec := g.spec()
		spec.Watchdog = time.Second
		spec.Restart = Temporary
		r := start(t, mustNew(t, WithChildren(spec)))
		time.Sleep(10 * time.Second)
		assert.Equal(t, Starting, states(r.tree)["g"], "no watchdog before Ready")
		close(g.ready)
		synctest.Wait()
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, Running, states(r.tree)["g"])
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		assert.Empty(t, r.tree.Children(), "the Temporary child failed its watchdog and is gone")
		require.NoError(t, r.stop())
	})
}

func TestWatchdogOnHungChildAbandons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		spec := Spec{Name: "hung", Watchdog: time.Second, Shutdown: time.Second, Restart: Transient, Run: func(ctx context.Context) error {
			<-release
			return nil
		}}
		r := start(t, mustNew(t, WithIntensity(0, time.Minute), WithChildren(spec)))
		time.Sleep(3 * time.Second)
		err, over := r.done()
		require.True(t, over)
		assert.ErrorIs(t, err, ErrTooManyRestarts)
		assert.ErrorIs(t, err, ErrWatchdogTimeout)
		assert.ErrorIs(t, err, ErrShutdownTimeout)
		close(release)
	})
}
