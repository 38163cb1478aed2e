//go:build linux

package proc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/supervisor/proc"
)

func sh(script string) *proc.Process {
	p := proc.Command("sh", "-c", script)
	p.Name = "test"
	return p
}

func TestExitClassification(t *testing.T) {
	for _, tc := range []struct {
		script string
		code   int    // -1: killed by a signal
		msg    string // in the error
	}{
		{"exit 0", 0, ""},
		{"exit 3", 3, "exit status 3"},
		{"kill -KILL $$", -1, "signal: killed"},
		{"kill -TERM $$", -1, "signal: terminated"},
	} {
		t.Run(tc.script, func(t *testing.T) {
			err := sh(tc.script).Run(context.Background())
			if tc.code == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, tc.code, ee.ExitCode())
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "proc: test (pid "), err.Error())
		})
	}
}

func TestStartFailure(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	require.NoError(t, os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644))
	for _, tc := range []struct {
		path string
		is   error
	}{
		{"/nonexistent/prog", fs.ErrNotExist},
		{"no-such-program-arbor", exec.ErrNotFound},
		{noexec, fs.ErrPermission},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			err := proc.Command(tc.path).Run(context.Background())
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.is)
			var ee *exec.ExitError
			assert.False(t, errors.As(err, &ee))
			assert.Contains(t, err.Error(), tc.path)
			assert.True(t, strings.HasPrefix(err.Error(), "proc: "), err.Error())
		})
	}
	t.Run("Dir", func(t *testing.T) {
		p := proc.Command("true")
		p.Dir = filepath.Join(dir, "missing")
		err := p.Run(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "true")
	})
}

func TestCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, sh("exit 0").Run(ctx), context.Canceled)
}

func TestGracefulStop(t *testing.T) {
	out := newLines()
	p := sh(`trap 'echo got TERM; exit 0' TERM; echo $$; while :; do sleep 0.05; done`)
	p.Stdout = out
	p.Grace = 10 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	res := runAsync(func() error { return p.Run(ctx) })
	pid := out.waitPid(t)
	start := time.Now()
	cancel()
	err := result(t, res)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 5*time.Second, "stopped by SIGTERM, not by the grace timer")
	out.wait(t, "got TERM")
	assert.False(t, alive(pid))
}

func TestStopSignal(t *testing.T) {
	out := newLines()
	p := sh(`trap 'echo got INT; exit 0' INT; echo $$; while :; do sleep 0.05; done`)
	p.Stdout = out
	p.StopSignal = os.Interrupt
	ctx, cancel := context.WithCancel(context.Background())
	res := runAsync(func() error { return p.Run(ctx) })
	out.waitPid(t)
	cancel()
	assert.ErrorIs(t, result(t, res), context.Canceled)
	out.wait(t, "got INT")
}

func TestEscalationToSIGKILL(t *testing.T) {
	out := newLines()
	// The shell ignores TERM, and so does the sleep it becomes.
	p := sh(`trap '' TERM; echo $$; exec sleep 1000`)
	p.Stdout = out
	p.Grace = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	res := runAsync(func() error { return p.Run(ctx) })
	pid := out.waitPid(t)
	start := time.Now()
	cancel()
	err := result(t, res)
	elapsed := time.Since(start)
	assert.ErrorIs(t, err, context.Canceled)
	assert.GreaterOrEqual(t, elapsed, p.Grace, "SIGKILL before the grace period ended")
	assert.Less(t, elapsed, p.Grace+3*time.Second)
	assert.False(t, alive(pid), "Run returned before the process was reaped")
}

func TestInfiniteGraceNeverKills(t *testing.T) {
	// Regression: Grace supervisor.Infinity used to mean "SIGKILL at once".
	// The process ignores TERM for a while, then exits by itself: with no
	// limit it must be waited for, not killed.
	marker := filepath.Join(t.TempDir(), "finished")
	out := newLines()
	p := sh(`trap 'echo got TERM; sleep 0.7; echo done > ` + marker + `; exit 0' TERM; echo $$; while :; do sleep 0.05; done`)
	p.Stdout = out
	p.Grace = supervisor.Infinity
	ctx, cancel := context.WithCancel(context.Background())
	res := runAsync(func() error { return p.Run(ctx) })
	out.waitPid(t)
	cancel()
	assert.ErrorIs(t, result(t, res), context.Canceled)
	_, err := os.Stat(marker)
	assert.NoError(t, err, "the process was killed before it finished its cleanup")
}

func TestStopSignalKILLKillsAtOnce(t *testing.T) {
	out := newLines()
	p := sh(`trap '' TERM; echo $$; exec sleep 1000`)
	p.Stdout = out
	p.StopSignal = syscall.SIGKILL
	p.Grace = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	res := runAsync(func() error { return p.Run(ctx) })
	pid := out.waitPid(t)
	cancel()
	assert.ErrorIs(t, result(t, res), context.Canceled)
	assert.False(t, alive(pid))
}

func TestGroupKeepsGraceAfterLeaderExits(t *testing.T) {
	// Regression: when the leader died of the stop signal, the rest of its
	// group was SIGKILLed at once. A member that cleans up on TERM must get
	// the rest of Grace, and Run must return as soon as it is done.
	marker := filepath.Join(t.TempDir(), "cleaned")
	out := newLines()
	p := sh(`(trap 'sleep 0.5; echo done > ` + marker + `; exit 0' TERM; echo trapped; while :; do sleep 0.05; done) & echo $!; wait`)
	p.Stdout = out
	p.Grace = 10 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	res := runAsync(func() error { return p.Run(ctx) })
	member := out.waitPid(t)
	out.wait(t, "trapped")
	start := time.Now()
	cancel()
	assert.ErrorIs(t, result(t, res), context.Canceled)
	assert.Less(t, time.Since(start), 5*time.Second, "Run waited for the whole grace period")
	_, err := os.Stat(marker)
	assert.NoError(t, err, "the group member was killed before it finished its cleanup")
	waitDead(t, member, 2*time.Second)
}

func TestGroupMemberKilledWhenGraceEnds(t *testing.T) {
	// The leader dies of TERM; the member ignores it: SIGKILL when Grace
	// runs out, not before.
	out := newLines()
	p := sh(`(trap '' TERM; echo trapped; exec sleep 1000) & echo $!; wait`)
	p.Stdout = out
	p.Grace = 400 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	res := runAsync(func() error { return p.Run(ctx) })
	member := out.waitPid(t)
	out.wait(t, "trapped")
	start := time.Now()
	cancel()
	assert.ErrorIs(t, result(t, res), context.Canceled)
	assert.GreaterOrEqual(t, time.Since(start), p.Grace, "the member was killed before Grace ran out")
	waitDead(t, member, 2*time.Second)
}

func TestGroupKilledAfterGrace(t *testing.T) {
	out := newLines()
	// Leader and grandchild both ignore TERM: SIGKILL to the group after
	// Grace takes both.
	p := sh(`trap '' TERM; sleep 1000 & echo $!; wait`)
	p.Stdout = out
	p.Grace = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	res := runAsync(func() error { return p.Run(ctx) })
	grandchild := out.waitPid(t)
	cancel()
	assert.ErrorIs(t, result(t, res), context.Canceled)
	waitDead(t, grandchild, 2*time.Second)
}

func TestGrandchildHoldingStdout(t *testing.T) {
	out := newLines()
	// The shell exits at once; its background sleep holds stdout open.
	p := sh(`sleep 1000 & echo $!`)
	p.Stdout = out
	start := time.Now()
	err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	waitDead(t, out.waitPid(t), 2*time.Second)
}

func TestGrandchildHoldingLoggedOutput(t *testing.T) {
	// The same through the logging path (a pipe of os/exec's).
	var buf testutil.Buffer
	p := sh(`sleep 1000 & echo $!`)
	p.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	start := time.Now()
	require.NoError(t, p.Run(context.Background()))
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestEscapedProcessHoldingStdout(t *testing.T) {
	// A process that left the group (setsid) is out of reach, but it
	// cannot hang Run: the pipes are closed after Cmd.WaitDelay.
	out := newLines()
	p := proc.Command(helper, "escape", "30")
	p.Stdout = out
	start := time.Now()
	err := p.Run(context.Background())
	elapsed := time.Since(start)
	require.NoError(t, err)
	escaped := out.waitPid(t)
	defer syscall.Kill(escaped, syscall.SIGKILL)
	assert.Less(t, elapsed, 5*time.Second)
	assert.True(t, alive(escaped), "a process in its own session escapes the group")
}

func TestConcurrentRuns(t *testing.T) {
	p := sh(`echo $$`)
	out := newLines()
	p.Stdout = out
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = p.Run(context.Background()) })
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	pids := map[string]bool{}
	for _, l := range out.all() {
		pids[l] = true
	}
	assert.Len(t, pids, 4, "each Run starts its own process")
}

func TestOutputLogging(t *testing.T) {
	var buf testutil.Buffer
	p := sh(`echo $$; echo hello; echo oops >&2; head -c 150000 /dev/zero | tr '\0' a; echo; printf tail`)
	p.Name = "worker"
	p.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	require.NoError(t, p.Run(context.Background()))

	type rec struct {
		Msg    string `json:"msg"`
		Level  string `json:"level"`
		Child  string `json:"child"`
		PID    int    `json:"pid"`
		Stream string `json:"stream"`
	}
	var stdout, stderr []rec
	for line := range strings.Lines(buf.String()) {
		var r rec
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		switch r.Stream {
		case "stdout":
			stdout = append(stdout, r)
		case "stderr":
			stderr = append(stderr, r)
		}
	}
	require.Len(t, stdout, 6)
	require.Len(t, stderr, 1)
	pid := stdout[0].Msg
	for _, r := range append(stdout, stderr...) {
		assert.Equal(t, "worker", r.Child)
		assert.Equal(t, "INFO", r.Level)
		assert.Equal(t, pid, strconv.Itoa(r.PID))
	}
	assert.Equal(t, "hello", stdout[1].Msg)
	assert.Equal(t, strings.Repeat("a", 65536), stdout[2].Msg)
	assert.Equal(t, strings.Repeat("a", 65536), stdout[3].Msg)
	assert.Equal(t, strings.Repeat("a", 150000-2*65536), stdout[4].Msg)
	assert.Equal(t, "tail", stdout[5].Msg, "a last line without newline is logged")
	assert.Equal(t, "oops", stderr[0].Msg)
}

func TestStartTimeout(t *testing.T) {
	out := newLines()
	p := sh(`echo $$; exec sleep 1000`)
	p.Stdout = out
	p.Ready = proc.ReadyOnOutput(regexp.MustCompile(`never`))
	p.StartTimeout = 200 * time.Millisecond
	err := p.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not ready within 200ms")
	assert.False(t, alive(out.waitPid(t)))
}

func TestEnvironment(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
	t.Setenv("ARBOR_TEST", "inherited")
	out := newLines()
	p := sh(`echo "ns=$NOTIFY_SOCKET t=$ARBOR_TEST"; pwd`)
	p.Stdout = out
	p.Dir = "/"
	require.NoError(t, p.Run(context.Background()))
	assert.Equal(t, []string{"ns= t=inherited", "/"}, out.all())

	out = newLines()
	p.Stdout = out
	p.Env = []string{"ARBOR_TEST=explicit"}
	require.NoError(t, p.Run(context.Background()))
	assert.Equal(t, "ns= t=explicit", out.all()[0])
}

func TestInvalidProcess(t *testing.T) {
	for name, p := range map[string]*proc.Process{
		"no path":           {},
		"fake signal":       {Path: "true", StopSignal: fakeSignal{}},
		"negative grace":    {Path: "true", Grace: -2 * time.Second},
		"negative timeout":  {Path: "true", StartTimeout: -time.Second},
		"negative watchdog": {Path: "true", Watchdog: -time.Second},
		"nil regexp":        {Path: "true", Ready: proc.ReadyOnOutput(nil)},
		"bad tcp address":   {Path: "true", Ready: proc.ReadyOnTCP("localhost")},
		"nil socket":        {Path: "true", Sockets: []*proc.Socket{nil}},
	} {
		t.Run(name, func(t *testing.T) {
			err := p.Validate()
			require.ErrorIs(t, err, proc.ErrInvalidProcess)
			assert.True(t, strings.HasPrefix(err.Error(), "proc: "), err.Error())
			assert.ErrorIs(t, p.Run(context.Background()), proc.ErrInvalidProcess)
		})
	}
}

func TestReadyOnOutputNil(t *testing.T) {
	// Regression: a nil regular expression crashed the program from
	// os/exec's copying goroutine at the first line, and String panicked.
	marker := filepath.Join(t.TempDir(), "started")
	p := sh(`touch ` + marker + `; echo hello`)
	p.Ready = proc.ReadyOnOutput(nil)
	assert.NotPanics(t, func() { _ = p.Ready.String() })
	err := p.Run(context.Background())
	require.ErrorIs(t, err, proc.ErrInvalidProcess)
	assert.Contains(t, err.Error(), "ReadyOnOutput")
	_, statErr := os.Stat(marker)
	assert.ErrorIs(t, statErr, fs.ErrNotExist, "the process was started")
}

func TestSpecShutdown(t *testing.T) {
	for _, tc := range []struct {
		grace, want time.Duration
	}{
		{0, proc.DefaultGrace + proc.ReapMargin},
		{time.Second, time.Second + proc.ReapMargin},
		{supervisor.Infinity, supervisor.Infinity},
		{time.Duration(math.MaxInt64 - 1), supervisor.Infinity}, // regression: overflowed
	} {
		p := proc.Command("true")
		p.Grace = tc.grace
		s := p.Spec("x")
		assert.Equal(t, tc.want, s.Shutdown, "Grace %v", tc.grace)
		_, err := supervisor.New(supervisor.WithChildren(s))
		assert.NoError(t, err, "Grace %v gives an invalid spec", tc.grace)
	}
}

type fakeSignal struct{}

func (fakeSignal) String() string { return "fake" }
func (fakeSignal) Signal()        {}

func TestPdeathsig(t *testing.T) {
	// The helper runs a proc.Process (sh that execs sleep 1000) and is then
	// killed by SIGKILL: the kernel must kill the sleep.
	cmd := exec.Command(helper, "supervise")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	rd := bufio.NewReader(stdout)
	child := readPid(t, rd)
	// The helper then makes the Go runtime end many OS threads: the child
	// must survive, since the thread that started it stays locked.
	line, err := rd.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "churned\n", line)
	require.True(t, alive(child), "the child died when a thread of its supervisor ended")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	waitDead(t, child, 5*time.Second)
}
