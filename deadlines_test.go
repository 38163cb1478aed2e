package supervisor

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a Shutdown or Watchdog of math.MaxInt64 (a user's "no limit")
// overflowed clock+d into a negative deadline, the timer was armed ~292
// years out and never re-armed earlier, so every other deadline of the tree
// starved: a sibling's Shutdown limit never fired and Terminate hung. Now
// deadline arithmetic saturates: such a duration means "never".
func TestHugeDurationsDoNotStarveOtherDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		forever := time.Duration(math.MaxInt64)
		release := make(chan struct{})
		deaf := func(ctx context.Context) error { <-ctx.Done(); <-release; return nil }
		beating := func(ctx context.Context) error {
			for {
				Heartbeat(ctx)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		}
		silent := func(ctx context.Context) error { <-ctx.Done(); return nil }
		tr := mustNew(t, WithIntensity(10, time.Hour), WithChildren(
			Spec{Name: "deaf", Run: deaf, Shutdown: time.Second},
			Spec{Name: "watched", Run: silent, Watchdog: 2 * time.Second},
		))
		r := start(t, tr)
		time.Sleep(time.Second) // the clock is no longer 0: clock+MaxInt64 would overflow
		_, err := tr.Add(Spec{Name: "huge-shutdown", Run: deaf, Shutdown: forever})
		require.NoError(t, err)
		_, err = tr.Add(Spec{Name: "huge-watchdog", Run: beating, Watchdog: forever})
		require.NoError(t, err)
		hugeStopped := make(chan error, 1)
		go func() { hugeStopped <- tr.Terminate("huge-shutdown") }()
		synctest.Wait()
		begin := time.Now()
		assert.ErrorIs(t, tr.Terminate("deaf"), ErrShutdownTimeout)
		assert.Equal(t, time.Second, time.Since(begin), "the sibling's limit fired on time")
		time.Sleep(2 * time.Second)
		info, err := tr.Child("watched")
		require.NoError(t, err)
		assert.GreaterOrEqual(t, info.Restarts, 1, "the sibling's watchdog fired")
		assert.ErrorIs(t, info.Err, ErrWatchdogTimeout)
		info, _ = tr.Child("huge-watchdog")
		assert.Equal(t, 0, info.Restarts, "a huge Watchdog never fires")
		time.Sleep(1000 * time.Hour)
		select {
		case err := <-hugeStopped:
			t.Fatalf("a huge Shutdown abandoned the child: %v", err)
		default:
		}
		close(release)
		require.NoError(t, <-hugeStopped)
		require.ErrorIs(t, r.stop(), ErrShutdownTimeout)
	})
}

// Regression: a running tree kept one Shutdown queue per distinct Shutdown
// duration it had ever seen (+2.7 MiB after 20,000 add/terminate cycles with
// distinct values). Now a queue is deleted once empty.
func TestShutdownQueuesDoNotGrowWithDistinctDurations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t)
		r := start(t, tr)
		run := func(ctx context.Context) error { <-ctx.Done(); return nil }
		for i := 0; i < 2000; i++ {
			name, err := tr.Add(Spec{Run: run, Shutdown: time.Second + time.Duration(i)})
			require.NoError(t, err)
			require.NoError(t, tr.Delete(name))
		}
		assert.Zero(t, loopQueues(tr), "no Shutdown queue left behind")
		require.NoError(t, r.stop())
	})
}

// queuesReq reads how many Shutdown queues the loop keeps.
type queuesReq struct {
	msg
	reply chan int
}

func (m *queuesReq) onLoop(l *loop) { m.reply <- len(l.dl.stopQs) }

func loopQueues(t *Tree) int {
	m := &queuesReq{reply: make(chan int, 1)}
	return call(t, m, m.reply, func() int { return -1 })
}

func TestAfterSaturates(t *testing.T) {
	assert.Equal(t, 3*time.Second, after(time.Second, 2*time.Second))
	assert.Equal(t, never, after(time.Second, never))
	assert.Equal(t, never, after(never, 1))
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
