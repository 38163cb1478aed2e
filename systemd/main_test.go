package systemd_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain checks that no test leaks a goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// manager is the service manager's end of the notify protocol: a real
// unixgram socket that collects datagrams.
type manager struct {
	addr string
	conn *net.UnixConn
	msgs chan string
}

var sockSeq atomic.Int64

// listen opens a socket at a path in a fresh directory, or an abstract one.
func listen(t *testing.T, abstract bool) *manager {
	t.Helper()
	var addr string
	if abstract {
		addr = "@arbor-systemd-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(sockSeq.Add(1), 10)
	} else {
		dir, err := os.MkdirTemp("", "sdn")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "notify")
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	require.NoError(t, err)
	m := &manager{addr: addr, conn: conn, msgs: make(chan string, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			m.msgs <- string(buf[:k])
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return m
}

// next returns the next datagram, failing after a deadline.
func (m *manager) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-m.msgs:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
		return ""
	}
}

// waitFor returns the first datagram (after those already read) holding sub.
func (m *manager) waitFor(t *testing.T, sub string) string {
	t.Helper()
	for {
		if s := m.next(t); strings.Contains(s, sub) {
			return s
		}
	}
}

// ctl is a child that becomes ready and fails when told.
type ctl struct{ fail chan error }

func newCtl() *ctl { return &ctl{fail: make(chan error, 1)} }

func (c *ctl) spec(name string) supervisor.Spec {
	return supervisor.Spec{Name: name, WaitReady: true, Run: func(ctx context.Context) error {
		supervisor.Ready(ctx)
		select {
		case err := <-c.fail:
			return err
		case <-ctx.Done():
			return nil
		}
	}}
}

func mustNew(t *testing.T, opts ...supervisor.Option) *supervisor.Tree {
	t.Helper()
	tr, err := supervisor.New(opts...)
	require.NoError(t, err)
	return tr
}

// runAsync runs f and returns its result channel.
func runAsync(f func() error) <-chan error {
	c := make(chan error, 1)
	go func() { c <- f() }()
	return c
}

func result(t *testing.T, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}
