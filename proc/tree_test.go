//go:build linux

package proc_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/proc"
)

// running is a tree running in the background for a test.
type running struct {
	tree   *supervisor.Tree
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // Run's error, once done is closed

	mu     sync.Mutex
	events []supervisor.Event
}

// startTree runs a tree built from opts and waits for its initial start.
func startTree(t *testing.T, opts ...supervisor.Option) *running {
	t.Helper()
	r := &running{}
	ready := make(chan struct{})
	var once sync.Once
	opts = append(opts, supervisor.WithHook(func(ev supervisor.Event) {
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
		if ev.Kind == supervisor.TreeReady || ev.Kind == supervisor.TreeStopped {
			once.Do(func() { close(ready) })
		}
	}))
	tree, err := supervisor.New(opts...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r.tree, r.cancel = tree, cancel
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		r.err = tree.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Error("tree did not stop")
		}
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("tree did not start")
	}
	return r
}

// stop cancels the tree and returns Run's error.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		return r.err
	case <-time.After(20 * time.Second):
		t.Fatal("tree did not stop")
		return nil
	}
}

// waitEvent waits for an event matching f and returns it.
func (r *running) waitEvent(t *testing.T, f func(supervisor.Event) bool) supervisor.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, ev := range r.events {
			if f(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("event not seen")
	return supervisor.Event{}
}

func (r *running) count(kind supervisor.EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// runs counts the lines of a file each run of a script appends to.
func runs(name string) int {
	b, _ := os.ReadFile(name)
	return strings.Count(string(b), "\n")
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSpec(t *testing.T) {
	p := proc.Command("sleep", "1")
	s := p.Spec("sleeper")
	assert.Equal(t, "sleeper", s.Name)
	assert.Equal(t, proc.DefaultGrace+proc.ReapMargin, s.Shutdown)
	assert.False(t, s.WaitReady)
	assert.Zero(t, s.Watchdog)
	assert.Empty(t, p.Name, "Spec does not modify the Process")

	p.Grace = time.Second
	p.Ready = proc.ReadyOnNotify()
	p.Watchdog = 3 * time.Second
	s = p.Spec("sleeper")
	assert.Equal(t, time.Second+proc.ReapMargin, s.Shutdown)
	assert.True(t, s.WaitReady)
	assert.Equal(t, 3*time.Second, s.Watchdog)
}

func TestTreePermanentRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "runs")
	p := sh(`echo run >> "$F"; exit 0`)
	p.Env = []string{"F=" + file}
	r := startTree(t,
		supervisor.WithIntensity(100, time.Second),
		supervisor.WithBackoff(10*time.Millisecond, 20*time.Millisecond),
		supervisor.WithChildren(p.Spec("perm")))
	eventually(t, func() bool { return runs(file) >= 3 }, "a Permanent process is restarted after a normal exit")
	require.NoError(t, r.stop(t))
}

func TestTreeTransient(t *testing.T) {
	file := filepath.Join(t.TempDir(), "runs")
	// Fails on its first run, exits 0 on its second.
	p := sh(`echo run >> "$F"; [ "$(wc -l < "$F")" -ge 2 ] && exit 0; exit 7`)
	p.Env = []string{"F=" + file}
	spec := p.Spec("trans")
	spec.Restart = supervisor.Transient
	r := startTree(t, supervisor.WithChildren(spec))
	ev := r.waitEvent(t, func(ev supervisor.Event) bool {
		return ev.Kind == supervisor.ChildExited && ev.Err != nil
	})
	var ee *exec.ExitError
	require.ErrorAs(t, ev.Err, &ee)
	assert.Equal(t, 7, ee.ExitCode())
	assert.True(t, ev.WillRestart)
	eventually(t, func() bool {
		c := r.tree.Children()
		return len(c) == 1 && c[0].State == supervisor.Stopped
	}, "a Transient process that exits 0 stays stopped")
	c := r.tree.Children()[0]
	assert.Equal(t, 1, c.Restarts)
	assert.NoError(t, c.Err)
	assert.Equal(t, 2, runs(file))
	require.NoError(t, r.stop(t))
}

func TestTreeStopsProcessGroup(t *testing.T) {
	out := newLines()
	// Ignores TERM: the tree's shutdown must wait for the SIGKILL after
	// Grace rather than abandon the process.
	p := sh(`trap '' TERM; sleep 1000 & echo $!; wait`)
	p.Stdout = out
	p.Grace = 300 * time.Millisecond
	r := startTree(t, supervisor.WithChildren(p.Spec("stubborn")))
	grandchild := out.waitPid(t)
	start := time.Now()
	err := r.stop(t)
	require.NoError(t, err, "no shutdown timeout: Spec leaves room for Grace")
	assert.GreaterOrEqual(t, time.Since(start), p.Grace)
	waitDead(t, grandchild, 2*time.Second)
	ev := r.waitEvent(t, func(ev supervisor.Event) bool { return ev.Kind == supervisor.ChildExited })
	assert.True(t, ev.Shutdown)
}

func TestReadyOnOutput(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	p := sh(`sleep 0.2; echo starting; touch "$M"; echo "server listening on :80"; exec sleep 1000`)
	p.Env = []string{"M=" + marker}
	p.Ready = proc.ReadyOnOutput(regexp.MustCompile(`listening on`))
	r := startTree(t)
	_, err := r.tree.Add(p.Spec("web"))
	require.NoError(t, err)
	assert.FileExists(t, marker, "Add returned before the line was written")
	assert.Equal(t, supervisor.Running, r.tree.Children()[0].State)
	require.NoError(t, r.stop(t))
}

func TestReadyOnOutputWithWriter(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	out := newLines()
	p := sh(`touch "$M"; echo ready >&2; exec sleep 1000`)
	p.Env = []string{"M=" + marker}
	p.Stderr = out
	p.Ready = proc.ReadyOnOutput(regexp.MustCompile(`^ready$`))
	r := startTree(t)
	_, err := r.tree.Add(p.Spec("web"))
	require.NoError(t, err)
	assert.FileExists(t, marker)
	out.wait(t, "ready")
	require.NoError(t, r.stop(t))
}

func TestReadyFailsWhenProcessExits(t *testing.T) {
	p := sh(`echo starting; exit 4`)
	p.Ready = proc.ReadyOnOutput(regexp.MustCompile(`never`))
	r := startTree(t)
	_, err := r.tree.Add(p.Spec("web"))
	require.Error(t, err)
	assert.ErrorIs(t, err, supervisor.ErrStartFailed)
	var ee *exec.ExitError
	assert.ErrorAs(t, err, &ee)
	require.NoError(t, r.stop(t))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestReadyOnTCP(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	addr := freeAddr(t)
	p := proc.Command(helper, "listen", addr, "200ms", marker)
	p.Ready = proc.ReadyOnTCP(addr)
	r := startTree(t)
	_, err := r.tree.Add(p.Spec("server"))
	require.NoError(t, err)
	assert.FileExists(t, marker)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	c.Close()
	require.NoError(t, r.stop(t))
}

func TestReadyOnNotify(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	out := newLines()
	p := proc.Command(helper, "notify", marker, "200ms", "0", "0s")
	p.Stdout = out
	p.Ready = proc.ReadyOnNotify()
	r := startTree(t)
	_, err := r.tree.Add(p.Spec("notifier"))
	require.NoError(t, err)
	assert.FileExists(t, marker)
	line, _ := out.wait(t, "NOTIFY_SOCKET=")
	sock := strings.TrimPrefix(line, "NOTIFY_SOCKET=")
	require.NotEmpty(t, sock)
	wd, _ := out.wait(t, "WATCHDOG_USEC=")
	assert.Equal(t, "WATCHDOG_USEC=", wd, "no watchdog announced without Process.Watchdog")
	require.NoError(t, r.stop(t))
	_, err = os.Stat(filepath.Dir(sock))
	assert.True(t, errors.Is(err, os.ErrNotExist), "notify socket directory removed: %v", err)
}

func TestNotifySocketPrivateWithLongTMPDIR(t *testing.T) {
	// Regression: with a TMPDIR too long for a socket path, the notify
	// socket fell back to the abstract namespace, where any local process
	// could forge READY=1 or WATCHDOG=1. It must be a filesystem socket in
	// a private directory, removed afterwards.
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	require.NoError(t, os.MkdirAll(long, 0o755))
	t.Setenv("TMPDIR", long)
	marker := filepath.Join(t.TempDir(), "marker")
	out := newLines()
	p := proc.Command(helper, "notify", marker, "0s", "0", "0s")
	p.Stdout = out
	p.Ready = proc.ReadyOnNotify()
	r := startTree(t)
	_, err := r.tree.Add(p.Spec("notifier"))
	require.NoError(t, err)
	line, _ := out.wait(t, "NOTIFY_SOCKET=")
	sock := strings.TrimPrefix(line, "NOTIFY_SOCKET=")
	require.True(t, strings.HasPrefix(sock, "/"), "not a filesystem socket: %q", sock)
	fi, err := os.Stat(filepath.Dir(sock))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "socket directory not private")
	require.NoError(t, r.stop(t))
	_, err = os.Stat(filepath.Dir(sock))
	assert.True(t, errors.Is(err, os.ErrNotExist), "notify socket directory removed: %v", err)
}

func TestWatchdogNotify(t *testing.T) {
	const watchdog = time.Second
	marker := filepath.Join(t.TempDir(), "marker")
	out := newLines()
	// Pings every 50ms for 1.5s, then falls silent.
	p := proc.Command(helper, "notify", marker, "0s", "30", "50ms")
	p.Stdout = out
	p.Ready = proc.ReadyOnNotify()
	p.Watchdog = watchdog
	r := startTree(t, supervisor.WithIntensity(10, time.Second))
	_, err := r.tree.Add(p.Spec("pinger"))
	require.NoError(t, err)
	wd, _ := out.wait(t, "WATCHDOG_USEC=")
	assert.Equal(t, "WATCHDOG_USEC=1000000", wd)
	ev := r.waitEvent(t, func(ev supervisor.Event) bool { return ev.Kind == supervisor.WatchdogTimeout })
	exit := r.waitEvent(t, func(ev supervisor.Event) bool {
		return ev.Kind == supervisor.ChildExited && ev.Err != nil
	})
	assert.ErrorIs(t, exit.Err, supervisor.ErrWatchdogTimeout)
	require.NoError(t, r.stop(t))

	// The watchdog must not fire while the process pings, unless the
	// process itself stalled for most of a watchdog period before the
	// timeout (an overloaded machine), which the gaps between its lines
	// reveal. The stall also counts up to the event itself.
	out.mu.Lock()
	var prev, silent time.Time
	var maxGap time.Duration
	for i, l := range out.lines {
		if (l == "ready sent" || l == "ping" || l == "pings done") && !out.times[i].After(ev.Time) {
			if !prev.IsZero() && out.times[i].Sub(prev) > maxGap {
				maxGap = out.times[i].Sub(prev)
			}
			prev = out.times[i]
		}
		if l == "pings done" {
			silent = out.times[i]
			break
		}
	}
	out.mu.Unlock()
	if !prev.IsZero() && ev.Time.Sub(prev) > maxGap {
		maxGap = ev.Time.Sub(prev)
	}
	pinged := !silent.IsZero() && ev.Time.After(silent) // no timeout while it pinged
	if !pinged && maxGap > watchdog/2 {
		t.Skipf("the helper stalled for %v between pings: machine too loaded to judge the watchdog", maxGap)
	}
	assert.True(t, pinged, "watchdog fired at %v while the process still pinged (done pinging: %v, gaps at most %v)",
		ev.Time, silent, maxGap)
}

func TestSimpleOneForOnePool(t *testing.T) {
	r := startTree(t, supervisor.WithStrategy(supervisor.SimpleOneForOne))
	out := newLines()
	for range 3 {
		p := sh(`echo $$; exec sleep 1000`)
		p.Stdout = out
		_, err := r.tree.Add(p.Spec(""))
		require.NoError(t, err)
	}
	eventually(t, func() bool { return len(out.all()) == 3 }, "three workers")
	require.NoError(t, r.stop(t))
	for _, l := range out.all() {
		pid := 0
		for _, c := range l {
			pid = pid*10 + int(c-'0')
		}
		waitDead(t, pid, 2*time.Second)
	}
	assert.Equal(t, 3, r.count(supervisor.ChildExited))
}
