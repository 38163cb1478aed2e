package systemd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/systemd"
	"github.com/stretchr/testify/require"
)

// The whole protocol against a real socket named by the environment:
// READY=1 after the start, WATCHDOG=1 pings, STATUS= on a change, STOPPING=1
// on cancellation.
func TestRunNotifiesFromEnvironment(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		t.Run(map[bool]string{false: "path", true: "abstract"}[abstract], func(t *testing.T) {
			m := listen(t, abstract)
			t.Setenv("NOTIFY_SOCKET", m.addr)
			t.Setenv("WATCHDOG_USEC", "200000")
			t.Setenv("WATCHDOG_PID", "")
			n, err := systemd.New()
			require.NoError(t, err)
			require.True(t, n.Enabled())
			require.Equal(t, 200*time.Millisecond, n.Watchdog())

			flaky := newCtl()
			sub := mustNew(t, supervisor.WithName("db"), supervisor.WithChildren(newCtl().spec("conn")))
			root := mustNew(t, supervisor.WithName("app"), supervisor.WithHook(n.Hook),
				supervisor.WithBackoff(time.Hour, 2*time.Hour),
				supervisor.WithChildren(sub.Spec(), flaky.spec("flaky")))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := runAsync(func() error { return n.Run(ctx, root) })

			require.Equal(t, "READY=1\nSTATUS=app running: 3 children (3 running); 0/3 restarts in 5s", m.next(t))
			for range 3 {
				require.Equal(t, "WATCHDOG=1", m.waitFor(t, "WATCHDOG"))
			}
			flaky.fail <- errors.New("lost")
			require.Equal(t, "STATUS=app running: 3 children (2 running, 1 restarting); 0/3 restarts in 5s",
				m.waitFor(t, "restarting"))
			require.Equal(t, "WATCHDOG=1", m.waitFor(t, "WATCHDOG"))

			cancel()
			s := m.waitFor(t, "STOPPING")
			require.True(t, strings.HasPrefix(s, "STOPPING=1\nSTATUS=shutting down; app "), s)
			require.NoError(t, result(t, errc))
		})
	}
}

// A tree that gives up says STOPPING=1 and Run returns its error.
func TestRunTreeGivesUp(t *testing.T) {
	m := listen(t, false)
	n, err := systemd.New(systemd.WithSocket(m.addr), systemd.WithWatchdog(0))
	require.NoError(t, err)
	c := newCtl()
	root := mustNew(t, supervisor.WithName("fragile"), supervisor.WithIntensity(0, time.Minute), supervisor.WithChildren(c.spec("only")))
	errc := runAsync(func() error { return n.Run(context.Background(), root) })
	require.Contains(t, m.next(t), "READY=1")
	c.fail <- errors.New("fatal")
	require.ErrorIs(t, result(t, errc), supervisor.ErrTooManyRestarts)
	s := m.waitFor(t, "STOPPING=1")
	require.Contains(t, s, "fragile gave_up")
}

// A tree whose initial start fails never says READY=1.
func TestRunStartFails(t *testing.T) {
	m := listen(t, false)
	n, err := systemd.New(systemd.WithSocket(m.addr))
	require.NoError(t, err)
	root := mustNew(t, supervisor.WithName("broken"), supervisor.WithChildren(supervisor.Spec{Name: "x", WaitReady: true,
		Run: func(context.Context) error { return errors.New("no config") }}))
	require.ErrorIs(t, n.Run(context.Background(), root), supervisor.ErrStartFailed)
	s := m.next(t)
	require.True(t, strings.HasPrefix(s, "STOPPING=1\n"), s)
	require.NotContains(t, s, "READY")
}

// Without NOTIFY_SOCKET it only runs the tree.
func TestRunWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n, err := systemd.New()
	require.NoError(t, err)
	require.False(t, n.Enabled())
	require.NoError(t, n.Notify("READY=1"))
	root := mustNew(t, supervisor.WithName("plain"), supervisor.WithChildren(newCtl().spec("a")))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.NoError(t, n.Run(ctx, root))
	require.ErrorIs(t, n.Run(ctx, nil), systemd.ErrNilTree)
}
