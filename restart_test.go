package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecide(t *testing.T) {
	no := fmt.Errorf("done for good: %w", ErrDoNotRestart)
	stop := fmt.Errorf("fatal: %w", ErrStopTree)
	cases := []struct {
		r    Restart
		err  error
		want outcome
	}{
		{Permanent, nil, outRestart}, {Permanent, errBoom, outRestart}, {Permanent, no, outStay}, {Permanent, stop, outStopTree},
		{Transient, nil, outStay}, {Transient, errBoom, outRestart}, {Transient, no, outStay}, {Transient, stop, outStopTree},
		{Temporary, nil, outStay}, {Temporary, errBoom, outStay}, {Temporary, no, outStay}, {Temporary, stop, outStopTree},
		{Permanent, &PanicError{Value: ErrStopTree}, outStopTree},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, decide(c.r, c.err), "%v %v", c.r, c.err)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := backoff{initial: 100 * time.Millisecond, max: time.Second, jitter: func() float64 { return 0.5 }}
	assert.Equal(t, 100*time.Millisecond, b.delay(1))
	assert.Equal(t, 200*time.Millisecond, b.delay(2))
	assert.Equal(t, time.Second, b.delay(5))
	assert.Equal(t, time.Second, b.delay(1000))
	b.jitter = func() float64 { return 0 }
	assert.Equal(t, 80*time.Millisecond, b.delay(1))
	huge := backoff{initial: time.Hour, max: never, jitter: func() float64 { return 0.9999 }}
	assert.Equal(t, never, huge.delay(100), "saturates instead of overflowing")
	assert.Equal(t, time.Duration(0), (&backoff{}).delay(3))
}

// A child that returns ErrDoNotRestart (wrapped) stays Stopped whatever its
// restart type, is removed if Temporary or in a SimpleOneForOne tree, and
// costs nothing toward intensity (here 0: any counted restart gives up).
func TestChildDeclinesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		tr := mustNew(t, WithIntensity(0, time.Hour), WithStrategy(OneForAll),
			WithChildren(h.spec("p", Permanent), h.spec("tmp", Temporary), h.spec("other", Permanent)))
		r := start(t, tr)
		h.take()
		h.exit("p", fmt.Errorf("no more work: %w", ErrDoNotRestart))
		h.exit("tmp", ErrDoNotRestart)
		assert.Equal(t, []string{"exit p", "exit tmp"}, h.take(), "no sibling touched")
		_, over := r.done()
		require.False(t, over)
		assert.Equal(t, map[string]ChildState{"p": Stopped, "other": Running}, states(tr))
		info, _ := tr.Child("p")
		assert.ErrorIs(t, info.Err, ErrDoNotRestart)
		require.NoError(t, tr.Restart("p"), "a manual Restart runs it again")
		require.NoError(t, r.stop())
	})
}

// OTP's ignore: a WaitReady child that declines at once (before Ready) is
// not a failed start: Add succeeds and keeps it Stopped, and Run's initial
// start goes on.
func TestChildDeclinesToStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		ignore := Spec{Name: "ignore", WaitReady: true, Run: func(context.Context) error { return ErrDoNotRestart }}
		tr := mustNew(t, WithIntensity(0, time.Hour), WithChildren(ignore, h.spec("b", Permanent)))
		r := start(t, tr)
		assert.Equal(t, []string{"start b"}, h.take())
		assert.Equal(t, map[string]ChildState{"ignore": Stopped, "b": Running}, states(tr))
		name, err := tr.Add(Spec{Name: "later", WaitReady: true, Run: ignore.Run})
		require.NoError(t, err)
		assert.Equal(t, "later", name)
		assert.Equal(t, Stopped, states(tr)["later"])
		require.NoError(t, r.stop())

		sofo := mustNew(t, WithStrategy(SimpleOneForOne))
		r = start(t, sofo)
		_, err = sofo.Add(Spec{WaitReady: true, Run: ignore.Run})
		require.NoError(t, err)
		assert.Empty(t, sofo.Children(), "SimpleOneForOne keeps no stopped child")
		require.NoError(t, r.stop())
	})
}

// A child that returns ErrStopTree stops the whole tree in reverse start
// order, and Run returns the child's error.
func TestChildStopsTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		fatal := fmt.Errorf("disk gone: %w", ErrStopTree)
		tr := mustNew(t, WithChildren(h.spec("a", Permanent), h.spec("b", Temporary), h.spec("c", Permanent)))
		r := start(t, tr)
		h.take()
		h.exit("b", fatal)
		err, over := r.done()
		require.True(t, over)
		assert.Equal(t, []string{"exit b", "stop c", "stop a"}, h.take())
		assert.ErrorIs(t, err, ErrStopTree)
		assert.Equal(t, fatal, err)
	})
}

// With WithPanicPassThrough a child's panic crashes the program with the
// original value and the child's own stack. Checked in a child process.
func TestPanicPassThrough(t *testing.T) {
	if os.Getenv("ARBOR_PANIC_CHILD") == "1" {
		tr, _ := New(WithPanicPassThrough(), WithChildren(Spec{Name: "p", Run: panickyChild}))
		_ = tr.Run(context.Background())
		os.Exit(0) // not reached
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPanicPassThrough$")
	cmd.Env = append(os.Environ(), "ARBOR_PANIC_CHILD=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the program crashed: %v\n%s", err, out)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Contains(t, string(out), "panic: original panic value")
	assert.Contains(t, string(out), "panickyChild", "the child's own stack")
}

func panickyChild(context.Context) error { panic("original panic value") }
