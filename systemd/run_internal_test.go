package systemd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/stretchr/testify/require"
)

// switchable wraps a real tree whose loop can be made to look wedged: the
// core offers no way to wedge a real loop.
type switchable struct {
	*supervisor.Tree
	wedged atomic.Bool
}

// Snapshot blocks until ctx ends while wedged.
func (s *switchable) Snapshot(ctx context.Context) (supervisor.TreeSnapshot, error) {
	if s.wedged.Load() {
		<-ctx.Done()
		return supervisor.TreeSnapshot{Name: s.Name(), State: supervisor.TreeStateUnresponsive}, ctx.Err()
	}
	return s.Tree.Snapshot(ctx)
}

// The watchdog is petted only while the loop answers.
func TestWatchdogWithheldWhileWedged(t *testing.T) {
	dir, err := os.MkdirTemp("", "sdn")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	addr := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	require.NoError(t, err)
	defer conn.Close()
	read := func() string {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		buf := make([]byte, 4096)
		k, err := conn.Read(buf)
		require.NoError(t, err)
		return string(buf[:k])
	}

	n, err := New(WithSocket(addr), WithWatchdog(100*time.Millisecond), WithStatusInterval(time.Hour))
	require.NoError(t, err)
	tr, err := supervisor.New(supervisor.WithName("app"))
	require.NoError(t, err)
	src := &switchable{Tree: tr}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- n.run(ctx, src) }()
	require.Contains(t, read(), "READY=1")
	require.Equal(t, "WATCHDOG=1", read())

	src.wedged.Store(true)
	for s := read(); !strings.Contains(s, "did not answer"); s = read() {
		require.Equal(t, "WATCHDOG=1", s) // one may have been on its way
	}
	// Wedged: several periods pass without a ping.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	buf := make([]byte, 4096)
	_, err = conn.Read(buf)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "a datagram arrived while the loop was wedged")

	src.wedged.Store(false)
	for s := read(); s != "WATCHDOG=1"; s = read() {
	}
	cancel()
	require.NoError(t, <-errc)
}

// Unhealthy names overdue children and unresponsive subtrees.
func TestUnhealthy(t *testing.T) {
	s := supervisor.TreeSnapshot{Name: "app", Children: []supervisor.ChildSnapshot{
		{Name: "ok", State: supervisor.Running},
		{Name: "db", State: supervisor.Running, Tree: &supervisor.TreeSnapshot{Name: "db", Children: []supervisor.ChildSnapshot{
			{Name: "conn", State: supervisor.Running, Watchdog: time.Second, Overdue: true}}}},
		{Name: "cache", State: supervisor.Running, Tree: &supervisor.TreeSnapshot{Name: "cache", State: supervisor.TreeStateUnresponsive}},
	}}
	require.Equal(t, "child app/db/conn missed its heartbeat; tree app/cache did not answer", Unhealthy(s, nil))
	require.Equal(t, "tree app did not answer: context deadline exceeded", Unhealthy(s, context.DeadlineExceeded))
	s.Children = s.Children[:1]
	require.Empty(t, Unhealthy(s, nil))
	require.Contains(t, Summary(s, nil), "app stopped: 1 children (1 running); 0/0 restarts in 0s")
}
