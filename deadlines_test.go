package supervisor

import (
	"context"
	"math"
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
type queuesReq struct{ reply chan int }

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
