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

func TestIntensityWindowIsHalfOpen(t *testing.T) {
	m := New(OneForOne, 1, time.Second, Spec{Name: "a", Shutdown: time.Second})
	m.Run()
	m.Exit("a", ExitError)
	m.Advance(time.Second)
	m.Exit("a", ExitError) // exactly one period later: the first no longer counts
	assert.False(t, m.Returned)
	m.Exit("a", ExitError)
	assert.True(t, m.GaveUp)
	assert.Equal(t, "a", m.GaveUpChild)
	assert.Equal(t, 2, m.Children[0].Restarts)
	assert.False(t, m.Children[0].Running)
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
