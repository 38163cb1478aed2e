package systemd_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/supervisor/systemd"
	"github.com/stretchr/testify/require"
)

// Malformed environment values are errors naming the value.
func TestNewBadEnvironment(t *testing.T) {
	for _, env := range [][2]string{
		{"WATCHDOG_USEC", "soon"}, {"WATCHDOG_USEC", "0"}, {"WATCHDOG_USEC", "-5"},
		{"NOTIFY_SOCKET", "vsock:2:1234"},
	} {
		t.Setenv("NOTIFY_SOCKET", "/run/x")
		t.Setenv("WATCHDOG_USEC", "")
		t.Setenv(env[0], env[1])
		_, err := systemd.New()
		require.ErrorIs(t, err, systemd.ErrBadEnvironment, env)
		require.Contains(t, err.Error(), env[1])
	}
	// The watchdog belongs to another process.
	t.Setenv("NOTIFY_SOCKET", "/run/x")
	t.Setenv("WATCHDOG_USEC", "1000000")
	t.Setenv("WATCHDOG_PID", "1")
	n, err := systemd.New()
	require.NoError(t, err)
	require.Zero(t, n.Watchdog())
}

// A notify socket that is gone costs an error from Notify, never a failure
// of Run.
func TestNotifySocketGone(t *testing.T) {
	n, err := systemd.New(systemd.WithSocket("/nonexistent/arbor/notify"))
	require.NoError(t, err)
	require.ErrorContains(t, n.Notify("READY=1"), "systemd: notify /nonexistent/arbor/notify")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.NoError(t, n.Run(ctx, mustNew(t)))
}

// Notify sends one datagram and keeps each assignment on one line.
func TestNotifyOneDatagram(t *testing.T) {
	m := listen(t, true)
	n, err := systemd.New(systemd.WithSocket(m.addr))
	require.NoError(t, err)
	require.NoError(t, n.Notify("STATUS=two\nlines", "EXTEND_TIMEOUT_USEC=5000000"))
	require.Equal(t, "STATUS=two lines\nEXTEND_TIMEOUT_USEC=5000000", m.next(t))
}
