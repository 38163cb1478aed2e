package supervisor

import (
	"context"
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The window holds only the restarts inside the period, whatever the number
// of restarts, and a huge maxRestarts allocates nothing up front.
func TestIntensityWindowIsBounded(t *testing.T) {
	w := window{max: 3, period: time.Second}
	for i := 0; i < 1000; i++ {
		assert.True(t, w.record(time.Duration(i)*time.Second))
	}
	assert.LessOrEqual(t, cap(w.times), 64)
	w = window{max: 2, period: time.Second}
	assert.True(t, w.record(0))
	assert.True(t, w.record(1))
	assert.False(t, w.record(2))

	w = window{max: math.MaxInt, period: time.Hour}
	assert.True(t, w.record(0))
	assert.Equal(t, 1, cap(w.times))
}

// The window is closed, as OTP's: a restart exactly one period after
// another still counts with it (OTP keeps the restarts for which
// now - time =< period); one a nanosecond later no longer does.
func TestIntensityWindowIsClosed(t *testing.T) {
	w := window{max: 1, period: time.Second}
	assert.True(t, w.record(0))
	assert.False(t, w.record(time.Second), "0 and 1s fall within one period")
	w = window{max: 1, period: time.Second}
	assert.True(t, w.record(0))
	assert.True(t, w.record(time.Second+1))
	assert.Equal(t, 1, w.count(2*time.Second+1))
	assert.Equal(t, 0, w.count(10*time.Second))
}

// In a running tree: intensity 1 in 5s, failures at 0 and exactly 5s give
// up, as an OTP supervisor does; failures at 0 and 5s+1ns do not.
func TestIntensityBoundaryInATree(t *testing.T) {
	for _, tc := range []struct {
		gap     time.Duration
		givesUp bool
	}{{5 * time.Second, true}, {5*time.Second + time.Nanosecond, false}} {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			r := start(t, mustNew(t, WithIntensity(1, 5*time.Second), WithChildren(h.spec("a", Permanent))))
			h.exit("a", errBoom)
			time.Sleep(tc.gap)
			h.exit("a", errBoom)
			err, done := r.done()
			assert.Equal(t, tc.givesUp, done)
			if tc.givesUp {
				assert.ErrorIs(t, err, ErrTooManyRestarts)
				return
			}
			require.NoError(t, r.stop())
		})
	}
}

// A tree that never gives up remembers a bounded number of restarts.
func TestIntensityUnlimitedIsBounded(t *testing.T) {
	w := window{max: -1, period: time.Hour}
	for i := 0; i < 3*unlimitedCount; i++ {
		assert.True(t, w.record(time.Duration(i)))
	}
	assert.Equal(t, unlimitedCount, w.count(time.Duration(3*unlimitedCount)))
}

// Regression: WithIntensity(math.MaxInt, period) passed New, then Run
// panicked allocating the restart window (makeslice) while Tree.mu was held,
// after which every call on the tree hung; 1<<31 tried to allocate
// gigabytes. Now the window holds only the restarts inside it.
func TestHugeIntensityCostsNothingUpFront(t *testing.T) {
	for _, max := range []int{math.MaxInt, 1 << 31} {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			tr := mustNew(t, WithIntensity(max, time.Hour), WithChildren(h.spec("a", Permanent)))
			r := start(t, tr)
			for i := 0; i < 100; i++ {
				h.exit("a", errBoom)
			}
			info, err := tr.Child("a")
			require.NoError(t, err)
			assert.Equal(t, 100, info.Restarts)
			s, err := tr.Snapshot(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 100, s.Restarts)
			assert.Equal(t, max, s.MaxRestarts)
			require.NoError(t, r.stop())
			assert.Equal(t, Counts{Specs: 1}, tr.Count(), "the tree still answers")
		})
	}
}

// WithUnlimitedRestarts: the tree never gives up, whatever the rate, and
// overrides WithIntensity in either order.
func TestUnlimitedRestartsNeverGiveUp(t *testing.T) {
	for _, opts := range [][]Option{
		{WithUnlimitedRestarts(), WithIntensity(0, time.Hour)},
		{WithIntensity(0, time.Hour), WithUnlimitedRestarts()},
	} {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			tr := mustNew(t, append(opts, WithStrategy(OneForAll), WithChildren(h.spec("a", Permanent), h.spec("b", Permanent)))...)
			r := start(t, tr)
			for i := 0; i < 5000; i++ {
				h.exit("a", errBoom)
			}
			_, over := r.done()
			require.False(t, over)
			s, _ := tr.Snapshot(context.Background())
			assert.Equal(t, -1, s.MaxRestarts)
			assert.Equal(t, unlimitedCount, s.Restarts)
			require.NoError(t, r.stop())
		})
	}
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
