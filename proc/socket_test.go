//go:build linux

package proc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/proc"
)

// listen opens a socket on a free loopback port, closed after the test.
func listen(t *testing.T, name string) *proc.Socket {
	t.Helper()
	s, err := proc.Listen(name, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// oneShot makes one connection per request, so that no idle connection
// (and no goroutine of the transport) outlives a test.
var oneShot = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// get does one GET and returns the body.
func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(resp.Status)
	}
	return strings.TrimSpace(string(b)), err
}

func TestListenErrors(t *testing.T) {
	s := listen(t, "web")
	_, err := proc.Listen("again", "tcp", s.Addr().String())
	require.Error(t, err)
	assert.Contains(t, err.Error(), s.Addr().String())
	assert.True(t, strings.HasPrefix(err.Error(), "proc: "), err.Error())
	_, err = proc.Listen("a:b", "tcp", "127.0.0.1:0")
	assert.ErrorContains(t, err, "':'")
}

func TestSocketActivation(t *testing.T) {
	a, b := listen(t, "first"), listen(t, "")
	out := newLines()
	p := sh(`echo "$LISTEN_FDS $LISTEN_FDNAMES $((LISTEN_PID == $$))"; ls /proc/$$/fd/3 /proc/$$/fd/4 >/dev/null && echo fds`)
	p.Sockets = []*proc.Socket{a, b}
	p.Stdout = out
	t.Setenv("LISTEN_FDS", "7") // the supervisor's own are never passed on
	require.NoError(t, p.Run(context.Background()))
	assert.Equal(t, []string{"2 first:unknown 1", "fds"}, out.all())
}

// TestSocketKeptAcrossRestarts kills a process child serving HTTP on a
// tree-owned socket: while the next incarnation starts, connections wait
// in the backlog instead of being refused.
func TestSocketKeptAcrossRestarts(t *testing.T) {
	s := listen(t, "http")
	p := proc.Command(httpWorker, "-startup", "200ms")
	p.Sockets = []*proc.Socket{s}
	p.Ready = proc.ReadyOnNotify()
	r := startTree(t, supervisor.WithChildren(p.Spec("web")))
	url := "http://" + s.Addr().String() + "/"
	c := oneShot
	body, err := get(c, url)
	require.NoError(t, err)
	pid, err := strconv.Atoi(body)
	require.NoError(t, err)
	info, err := r.tree.Child("web")
	require.NoError(t, err)
	assert.Equal(t, pid, info.PID)

	require.NoError(t, killPid(pid))
	body, err = get(c, url) // during the restart: waits in the backlog
	require.NoError(t, err, "a request during the restart failed")
	assert.NotEqual(t, strconv.Itoa(pid), body)
}

func killPid(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// TestSocketListenerForGoroutines restarts a goroutine child that serves
// on a socket's Listener: its Accept returns when its context ends, and
// the socket keeps accepting for the next incarnation.
func TestSocketListenerForGoroutines(t *testing.T) {
	s := listen(t, "echo")
	var accepted = make(chan error, 10)
	child := supervisor.Spec{Name: "echo", Run: func(ctx context.Context) error {
		ln, err := s.Listener(ctx)
		if err != nil {
			return err
		}
		defer ln.Close()
		for {
			c, err := ln.Accept()
			if err != nil {
				accepted <- err
				return nil
			}
			c.Write([]byte("hi\n"))
			c.Close()
		}
	}}
	r := startTree(t, supervisor.WithChildren(child))
	dial := func() string {
		c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
		require.NoError(t, err)
		defer c.Close()
		b, _ := io.ReadAll(c)
		return string(b)
	}
	assert.Equal(t, "hi\n", dial())
	require.NoError(t, r.tree.Restart("echo"))
	assert.ErrorIs(t, <-accepted, net.ErrClosed, "Accept returned when the context ended")
	assert.Equal(t, "hi\n", dial(), "the socket outlived the first incarnation")
	require.NoError(t, r.stop(t))
	assert.ErrorIs(t, <-accepted, net.ErrClosed)
	// Owned by the test, the socket is still open: a connection waits in
	// the backlog.
	c, err := net.DialTimeout("tcp", s.Addr().String(), time.Second)
	require.NoError(t, err)
	c.Close()
	require.NoError(t, s.Close())
	_, err = s.Listener(context.Background())
	assert.ErrorIs(t, err, net.ErrClosed)
}

// TestSocketStaysNonBlocking: passing the socket to a process must not put
// it in blocking mode (os/exec calls Fd on every extra file, and Fd of a
// net listener's File switches the shared socket to blocking), or a
// goroutine child's Accept would block its thread and not return when the
// child's context ends.
func TestSocketStaysNonBlocking(t *testing.T) {
	s := listen(t, "shared")
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := s.Listener(ctx)
	require.NoError(t, err)
	p := sh(`exit 0`)
	p.Sockets = []*proc.Socket{s}
	require.NoError(t, p.Run(context.Background())) // after the listener was made
	accepted := make(chan error, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				accepted <- err
				return
			}
			c.Close()
		}
	}()
	// Accept once, so that the next Accept calls accept(2) at once rather
	// than waiting in the poller.
	c, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	c.Close()
	time.Sleep(50 * time.Millisecond) // let Accept loop back to the socket (not an assertion)
	cancel()
	select {
	case err := <-accepted:
		assert.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(3 * time.Second):
		c, err := net.Dial("tcp", s.Addr().String()) // unblock the stuck accept
		if err == nil {
			c.Close()
		}
		<-accepted
		t.Fatal("Accept did not return when the context ended: the socket is in blocking mode")
	}
}
