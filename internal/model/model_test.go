package model

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func texts(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Text)
	}
	return out
}

func TestIntensityWindowIsClosed(t *testing.T) {
	m := New(OneForOne, 1, time.Second, Spec{Name: "a", Shutdown: time.Second})
	m.Run()
	m.Exit("a", ExitError)
	m.Advance(time.Second + time.Nanosecond)
	m.Exit("a", ExitError) // more than one period later: the first no longer counts
	assert.False(t, m.Returned)
	m.Advance(time.Second)
	m.Exit("a", ExitError) // exactly one period later: it counts with the last
	assert.True(t, m.GaveUp)
	assert.Equal(t, "a", m.GaveUpChild)
	assert.Equal(t, 2, m.Children[0].Restarts)
	assert.False(t, m.Children[0].Running)
}

// A group restart without a delay is recorded when it is decided, before a
// hung bystander's Shutdown has run out: a failure after that, within one
// period of the decision but not of the stops' end, gives up.
func TestGroupRestartRecordedWhenDecided(t *testing.T) {
	m := New(RestForOne, 1, 5*time.Second,
		Spec{Name: "a", Shutdown: time.Second},
		Spec{Name: "h", Shutdown: 10 * time.Second, Hang: true},
		Spec{Name: "z", Shutdown: time.Second})
	m.Run()
	m.Exit("a", ExitError) // decided at 0; h is abandoned at 10s
	assert.Equal(t, 10*time.Second, m.Now)
	assert.False(t, m.Returned)
	m.Advance(2 * time.Second)
	m.Exit("z", ExitError) // 12s: more than a period after the decision
	assert.False(t, m.Returned, "recorded at the stops' end (10s), it would give up")
}

func TestGroupRestartWithHungBystander(t *testing.T) {
	m := New(OneForAll, 3, time.Minute,
		Spec{Name: "a", Shutdown: time.Second},
		Spec{Name: "tmp", Restart: Temporary, Shutdown: time.Second},
		Spec{Name: "h", Shutdown: 2 * time.Second, Hang: true},
		Spec{Name: "tr", Restart: Transient, Shutdown: time.Second})
	m.Run()
	m.Exit("tr", ExitNormal) // restarts nothing, touches nothing
	m.Log = nil
	m.Exit("a", ExitPanic)
	assert.Equal(t, []string{"exit a", "abandon h", "stop tmp", "start a", "start h", "start tr"}, texts(m.Log))
	assert.Equal(t, 2*time.Second, m.Now)
	assert.Equal(t, []string{"h"}, m.Abandoned)
	assert.Equal(t, 1, m.Stale)
	for _, c := range m.Children {
		assert.True(t, c.Running)
		assert.Equal(t, 1, c.Restarts)
	}
	m.Cancel()
	assert.Equal(t, 4*time.Second, m.Now)
	assert.Equal(t, []string{"h", "h"}, m.Abandoned)
	assert.Equal(t, []string{"a", "h", "tr"}, []string{m.Children[0].Name, m.Children[1].Name, m.Children[2].Name})
}

func TestSimpleOneForOne(t *testing.T) {
	m := New(SimpleOneForOne, 0, time.Second)
	assert.Equal(t, NotRunning, m.Add(Spec{Name: "x", Shutdown: time.Second}))
	m.Run()
	assert.Equal(t, OK, m.Add(Spec{Name: "x", Restart: Transient, Shutdown: time.Second}))
	assert.Equal(t, Duplicate, m.Add(Spec{Name: "x", Shutdown: time.Second}))
	assert.Equal(t, OK, m.Add(Spec{Name: "y", Shutdown: 3 * time.Second, Hang: true}))
	m.Exit("x", ExitNormal)
	assert.Nil(t, m.Get("x"), "SimpleOneForOne children are removed once they stop for good")
	assert.Equal(t, OK, m.Add(Spec{Name: "x", Shutdown: time.Second}))
	m.Cancel()
	assert.Empty(t, m.Children)
	assert.Equal(t, 3*time.Second, m.Now)
	assert.Equal(t, []string{"y"}, m.Abandoned)
}

func TestBackoffDelaysDoubleUpToMaxAndReset(t *testing.T) {
	m := New(OneForOne, 100, time.Hour, Spec{Name: "a", Shutdown: time.Second})
	m.BackoffInitial, m.BackoffMax = 100*time.Millisecond, 300*time.Millisecond
	m.Run()
	var delays []time.Duration
	for i := 0; i < 4; i++ {
		m.Exit("a", ExitError)
		c := m.Get("a")
		assert.True(t, c.Restarting())
		delays = append(delays, c.At-m.Now)
		m.Advance(c.At - m.Now)
		assert.True(t, c.Running)
	}
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}, delays)
	m.Advance(300 * time.Millisecond) // ran for max: the streak starts afresh
	m.Exit("a", ExitError)
	assert.Equal(t, 100*time.Millisecond, m.Get("a").At-m.Now)
	assert.Equal(t, 300*time.Millisecond, m.delay(64), "no overflow on long streaks")
}

func TestWatchdogFailsAndGroupDelayIsCut(t *testing.T) {
	m := New(OneForAll, 10, time.Hour,
		Spec{Name: "a", Shutdown: time.Second, Watchdog: time.Second},
		Spec{Name: "b", Shutdown: time.Second},
		Spec{Name: "c", Shutdown: time.Second})
	m.BackoffInitial, m.BackoffMax = 500*time.Millisecond, time.Second
	m.Run()
	m.Log = nil
	m.Advance(time.Second) // a missed its heartbeat: b and c stop, all wait 500ms
	assert.Equal(t, []string{"exit a", "stop c", "stop b"}, texts(m.Log))
	assert.Equal(t, ErrWatchdog, m.Get("a").Err)
	for _, c := range m.Children {
		assert.True(t, c.Restarting(), c.Name)
	}
	assert.Equal(t, OK, m.Terminate("b")) // cuts the group restart short at b
	m.Advance(500 * time.Millisecond)
	assert.True(t, m.Get("a").Running)
	assert.False(t, m.Get("b").Running || m.Get("b").Restarting())
	assert.False(t, m.Get("c").Running || m.Get("c").Restarting())
}

func TestFailedStarts(t *testing.T) {
	one := func() *int { n := 1; return &n }
	m := New(OneForOne, 10, time.Hour, Spec{Name: "a", Shutdown: time.Second})
	m.Run()
	assert.Equal(t, StartFailed, m.Add(Spec{Name: "w", Shutdown: time.Second, WaitReady: true, FailStarts: one(), FailHow: ExitError}))
	assert.Nil(t, m.Get("w"), "a failed Add keeps nothing")
	assert.Equal(t, OK, m.Add(Spec{Name: "d", Shutdown: time.Second, WaitReady: true, FailStarts: one(), FailHow: ExitDecline}))
	assert.False(t, m.Get("d").Running, "declined: kept, Stopped")
	m.Cancel()
	m.initial = append(m.initial, Spec{Name: "f", Shutdown: time.Second, WaitReady: true, FailStarts: one(), FailHow: ExitPanic})
	m.Run()
	assert.True(t, m.Returned)
	assert.Equal(t, "f", m.StartFailed)
}

func TestStopTreeAndUnlimited(t *testing.T) {
	m := New(OneForOne, 0, time.Hour, Spec{Name: "a", Shutdown: time.Second}, Spec{Name: "b", Shutdown: time.Second})
	m.Unlimited = true
	m.Run()
	for i := 0; i < 5; i++ {
		m.Exit("a", ExitError)
	}
	assert.False(t, m.Returned)
	assert.Equal(t, 5, m.Get("a").Restarts)
	m.Exit("a", ExitDecline)
	assert.False(t, m.Get("a").Running)
	m.Log = nil
	m.Exit("b", ExitStopTree)
	assert.True(t, m.Returned)
	assert.Equal(t, "b", m.StopTree)
}
