package supervisor

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

// The window is half-open: a restart exactly one period after another no
// longer counts with it.
func TestIntensityWindowIsHalfOpen(t *testing.T) {
	w := window{max: 1, period: time.Second}
	assert.True(t, w.record(0))
	assert.True(t, w.record(time.Second))
	assert.False(t, w.record(time.Second+1))
	assert.Equal(t, 2, w.count(time.Second+1))
	assert.Equal(t, 0, w.count(10*time.Second))
}

// A tree that never gives up remembers a bounded number of restarts.
func TestIntensityUnlimitedIsBounded(t *testing.T) {
	w := window{max: -1, period: time.Hour}
	for i := 0; i < 3*unlimitedCount; i++ {
		assert.True(t, w.record(time.Duration(i)))
	}
	assert.Equal(t, unlimitedCount, w.count(time.Duration(3*unlimitedCount)))
}
