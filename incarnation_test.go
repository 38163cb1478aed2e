package supervisor

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPanicBecomesPanicError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events []Event
		n := 0
		spec := Spec{Name: "p", Restart: Transient, Run: func(ctx context.Context) error {
			n++
			if n == 1 {
				panic("kaboom")
			}
			<-ctx.Done()
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(spec), WithHook(func(e Event) { events = append(events, e) })))
		kids := r.tree.Children()
		require.Len(t, kids, 1)
		var pe *PanicError
		require.ErrorAs(t, kids[0].Err, &pe)
		assert.Equal(t, "p", pe.Child)
		assert.Equal(t, "kaboom", pe.Value)
		assert.Contains(t, string(pe.Stack), "TestPanicBecomesPanicError")
		assert.Contains(t, pe.Error(), `"p"`)
		assert.Equal(t, 1, kids[0].Restarts)
		require.NoError(t, r.stop())
	})
}

func TestPanicWithErrorValueMatchesIt(t *testing.T) {
	pe := &PanicError{Child: "x", Value: errBoom}
	assert.ErrorIs(t, pe, errBoom)
}

type ctxKey struct{}

// The context a child receives carries Run's values, is cancelled only by the
// tree, and propagates that cancellation to contexts derived from it.
func TestChildContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type seen struct {
			value                      any
			errBefore, errAfter        error
			derived, timeout, deadline error
			afterFuncRan, stopped      bool
			hasDeadline                bool
		}
		got := make(chan seen, 1)
		spec := Spec{Name: "c", Run: func(ctx context.Context) error {
			var s seen
			s.value = ctx.Value(ctxKey{})
			_, s.hasDeadline = ctx.Deadline()
			s.errBefore = ctx.Err()
			derived, cancel := context.WithCancel(ctx)
			defer cancel()
			withTimeout, cancel2 := context.WithTimeout(ctx, time.Hour)
			defer cancel2()
			ran := make(chan struct{})
			context.AfterFunc(ctx, func() { close(ran) })
			stopMe := context.AfterFunc(ctx, func() { t.Error("stopped AfterFunc ran") })
			s.stopped = stopMe()
			<-ctx.Done()
			<-derived.Done()
			<-withTimeout.Done()
			<-ran
			s.afterFuncRan = true
			s.errAfter = ctx.Err()
			s.derived = derived.Err()
			s.timeout = withTimeout.Err()
			s.deadline = context.Cause(ctx)
			got <- s
			return nil
		}}
		tr := mustNew(t, WithChildren(spec))
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
		errc := make(chan error, 1)
		go func() { errc <- tr.Run(ctx) }()
		synctest.Wait()
		cancel()
		require.NoError(t, <-errc)
		s := <-got
		assert.Equal(t, "v", s.value)
		assert.False(t, s.hasDeadline)
		assert.NoError(t, s.errBefore)
		assert.ErrorIs(t, s.errAfter, context.Canceled)
		assert.ErrorIs(t, s.derived, context.Canceled)
		assert.ErrorIs(t, s.timeout, context.Canceled)
		assert.ErrorIs(t, s.deadline, context.Canceled)
		assert.True(t, s.afterFuncRan)
		assert.True(t, s.stopped)
	})
}

// A context derived after the child was cancelled is cancelled at once.
func TestChildContextDerivedAfterCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		done := make(chan error, 1)
		spec := Spec{Name: "c", Run: func(ctx context.Context) error {
			<-ctx.Done()
			d, cancel := context.WithCancel(ctx)
			defer cancel()
			ran := make(chan struct{})
			context.AfterFunc(ctx, func() { close(ran) })
			<-ran
			done <- d.Err()
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(spec)))
		require.NoError(t, r.stop())
		assert.ErrorIs(t, <-done, context.Canceled)
	})
}

// A child started on a new goroutine has its Done channel before its Run
// is called, made (or reused) by whoever starts it rather than by the
// child's first call to Done, since a fresh goroutine's first allocation
// during a collection costs it an assist (newDone). A restart on the
// child's own goroutine makes it on first use.
func TestDoneIsMadeBeforeTheChildRuns(t *testing.T) {
	for _, add := range []string{"Add", "AddAsync", "restart"} {
		synctest.Test(t, func(t *testing.T) {
			tr := mustNew(t, WithStrategy(SimpleOneForOne))
			r := start(t, tr)
			var made []bool
			spec := Spec{Run: func(ctx context.Context) error {
				inc := incOf(ctx)
				made = append(made, inc.done != nil && inc.done == ctx.Done())
				if add == "restart" && len(made) == 1 {
					return errors.New("failed") // restarted on this goroutine
				}
				<-ctx.Done()
				return nil
			}}
			var err error
			if add == "AddAsync" {
				_, err = tr.AddAsync(spec)
			} else {
				_, err = tr.Add(spec)
			}
			require.NoError(t, err)
			synctest.Wait()
			want := []bool{true}
			if add == "restart" {
				want = []bool{true, false} // restarted on its own goroutine: made on first use
			}
			assert.Equal(t, want, made, add)
			require.NoError(t, r.stop())
		})
	}
}

// The channel a child was given by Done is its own for good: closed when
// its incarnation ends, never given to another. The channels of
// incarnations cancelled before they asked are reused (newDone), which
// must not mix the two. First a child restarted on its own goroutine, every
// other run asking; then children deleted before or after they ask.
func TestDoneChannelsGivenOutAreNeverReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var given []<-chan struct{}
		runs := 0
		spec := Spec{Name: "c", Run: func(ctx context.Context) error {
			runs++
			if runs%2 == 0 {
				d := ctx.Done()
				select {
				case <-d:
					t.Errorf("run %d: its Done channel is closed already", runs)
				default:
				}
				given = append(given, d)
			}
			if runs < 40 {
				return errors.New("failed")
			}
			<-ctx.Done()
			return nil
		}}
		r := start(t, mustNew(t, WithIntensity(100, time.Second), WithChildren(spec)))
		require.Equal(t, 40, runs)
		require.NoError(t, r.tree.Delete("c"))
		assertOwnAndClosed(t, given)
		require.NoError(t, r.stop())
	})
	// Children deleted before they ask give their channels back for the
	// next starts; children that asked keep theirs.
	synctest.Test(t, func(t *testing.T) {
		tr := mustNew(t, WithStrategy(SimpleOneForOne))
		r := start(t, tr)
		var given []<-chan struct{}
		spec := Spec{Run: func(ctx context.Context) error {
			d := ctx.Done()
			select {
			case <-d:
				return nil // deleted before it ran: it was given the closed channel
			default:
			}
			given = append(given, d)
			<-d
			return nil
		}}
		for i := range 50 {
			name, err := tr.Add(spec)
			require.NoError(t, err)
			if i%2 == 0 {
				synctest.Wait() // it has asked
			}
			require.NoError(t, tr.Delete(name))
		}
		require.GreaterOrEqual(t, len(given), 25) // the odd ones may have asked too, on the other processor
		assertOwnAndClosed(t, given)
		require.NoError(t, r.stop())
	})
}

// assertOwnAndClosed checks that no channel in given appears twice and
// that each is closed.
func assertOwnAndClosed(t *testing.T, given []<-chan struct{}) {
	t.Helper()
	seen := map[<-chan struct{}]bool{}
	for i, d := range given {
		assert.False(t, seen[d], "channel %d given twice", i)
		seen[d] = true
		select {
		case <-d:
		default:
			t.Errorf("channel %d: not closed after its incarnation ended", i)
		}
	}
}

// Done asked from several goroutines while the tree cancels the context:
// every caller gets the same channel, and it is closed once cancel returns.
// Run with -race, this also checks that the channel is published safely to
// callers that read it without the lock.
func TestChildContextDoneRacesWithCancel(t *testing.T) {
	for range 200 {
		inc := &incarnation{}
		const callers = 4
		got := make(chan (<-chan struct{}), callers)
		for range callers {
			go func() { got <- inc.Done() }()
		}
		inc.cancel()
		first := <-got
		for range callers - 1 {
			require.Equal(t, first, <-got)
		}
		select {
		case <-first:
		default:
			t.Fatal("Done channel not closed after cancel")
		}
		assert.ErrorIs(t, inc.Err(), context.Canceled)
		assert.Equal(t, first, inc.Done())
	}
}

// AfterFunc registrations and their stop functions racing with the
// tree's cancel, which all take the incarnation's lock (a bit of its
// flags): every f runs exactly once, unless its stop reported that it
// stopped f, and then never.
func TestChildContextAfterFuncRacesWithCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for round := range 300 {
			inc := &incarnation{}
			const callers = 4
			var ran [callers]atomic.Int32
			var stopped [callers]bool
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					stop := inc.AfterFunc(func() { ran[i].Add(1) })
					if i%2 == 0 {
						stopped[i] = stop()
					}
				})
			}
			inc.cancel()
			wg.Wait()
			synctest.Wait() // every f that was to run has run
			for i := range callers {
				want := int32(1)
				if stopped[i] {
					want = 0
				}
				require.Equal(t, want, ran[i].Load(), "round %d, registration %d (stopped: %v)", round, i, stopped[i])
			}
		}
	})
}

// A child that sees Done closed finds Err set at once (found by FuzzTree:
// cancel closed the channel before it marked the context cancelled).
func TestChildContextErrSetWhenDoneCloses(t *testing.T) {
	for range 5000 {
		inc := &incarnation{}
		done := inc.Done()
		errc := make(chan error, 1)
		polling := make(chan struct{})
		go func() { // polls, so as to look at Err as soon as Done closes
			close(polling)
			for {
				select {
				case <-done:
					errc <- inc.Err()
					return
				default:
				}
			}
		}()
		<-polling
		inc.cancel()
		require.ErrorIs(t, <-errc, context.Canceled)
	}
}

// labelledChild is a child that signals it runs and blocks; its name finds
// its goroutine in a goroutine profile.
func labelledChild(running chan<- struct{}) func(context.Context) error {
	return func(ctx context.Context) error {
		running <- struct{}{}
		<-ctx.Done()
		return nil
	}
}

// childLabels returns the labels line of every goroutine in the goroutine
// profile whose stack runs labelledChild.
func childLabels(t *testing.T) []string {
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	var lines []string
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		if !strings.Contains(rec, "labelledChild") {
			continue
		}
		line := "no labels"
		for _, l := range strings.Split(rec, "\n") {
			if strings.HasPrefix(l, "# labels: ") {
				line = l
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// TestChildTakesRunsProfilerLabels: a child's goroutine carries the
// runtime/pprof labels of Run's context, whether Run's goroutine started it
// (the initial start) or a caller with labels of its own that served the
// loop (Add), and not the caller's.
func TestChildTakesRunsProfilerLabels(t *testing.T) {
	running := make(chan struct{})
	tr, err := New(WithChildren(Spec{Name: "first", Run: labelledChild(running)}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var errc <-chan error
	pprof.Do(ctx, pprof.Labels("tree", "t1"), func(ctx context.Context) { errc = tr.Start(ctx) })
	<-running
	added := make(chan error, 1)
	pprof.Do(context.Background(), pprof.Labels("caller", "c1"), func(context.Context) {
		go func() { // inherits the caller's labels, and serves the loop in Add
			_, err := tr.Add(Spec{Name: "added", Run: labelledChild(running)})
			added <- err
		}()
	})
	<-running
	require.NoError(t, <-added)

	labels := childLabels(t)
	require.NotEmpty(t, labels) // one group per distinct stack and labels
	for _, l := range labels {
		assert.Equal(t, `# labels: {"tree":"t1"}`, l)
	}
	cancel()
	require.NoError(t, <-errc)
}

// goid is the calling goroutine's number, from its stack's first line.
func goid() string {
	var buf [64]byte
	return strings.Fields(string(buf[:runtime.Stack(buf[:], false)]))[1]
}

// A child that the tree restarts at once (no group restart, no backoff)
// runs its next incarnation on the goroutine of the last one, which served
// its own exit: a restart makes no goroutine. Under a group strategy or a
// backoff the restart is left to the loop, and each incarnation has a
// goroutine of its own.
func TestImmediateRestartKeepsTheGoroutine(t *testing.T) {
	cases := []struct {
		name string
		opts []Option
		same bool
	}{
		{"one_for_one", nil, true},
		{"transient", nil, true},
		{"one_for_all", []Option{WithStrategy(OneForAll)}, false},
		{"backoff", []Option{WithBackoff(time.Millisecond, time.Millisecond)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var gids []string
				release := make(chan struct{})
				spec := Spec{Name: "c", Run: func(ctx context.Context) error {
					gids = append(gids, goid())
					if len(gids) == 1 {
						<-release // fail once the tree is quiet
					}
					if len(gids) <= 5 {
						return errBoom
					}
					<-ctx.Done()
					return nil
				}}
				if tc.name == "transient" {
					spec.Restart = Transient
				}
				opts := append([]Option{WithIntensity(10, time.Second), WithChildren(spec)}, tc.opts...)
				r := start(t, mustNew(t, opts...))
				close(release)
				time.Sleep(time.Second) // the backoff delays
				synctest.Wait()
				require.Len(t, gids, 6)
				for i, g := range gids[1:] {
					if tc.same {
						assert.Equal(t, gids[0], g, "incarnation %d", i+2)
					} else {
						assert.NotEqual(t, gids[i], g, "incarnation %d", i+2)
					}
				}
				assert.Equal(t, 5, r.tree.Children()[0].Restarts)
				require.NoError(t, r.stop())
			})
		})
	}
}

// The same in a SimpleOneForOne tree, for a child added at run time; and
// its last incarnation, stopped by Delete, ends its goroutine.
func TestImmediateRestartKeepsTheGoroutineSimpleOneForOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, mustNew(t, WithStrategy(SimpleOneForOne), WithIntensity(10, time.Second)))
		var gids []string
		name, err := r.tree.Add(Spec{Run: func(ctx context.Context) error {
			gids = append(gids, goid())
			if len(gids) <= 3 {
				return errBoom
			}
			<-ctx.Done()
			return nil
		}})
		require.NoError(t, err)
		synctest.Wait()
		require.Len(t, gids, 4)
		assert.Equal(t, []string{gids[1], gids[1]}, gids[2:])
		require.NoError(t, r.tree.Delete(name))
		assert.Equal(t, Counts{}, r.tree.Count())
		require.NoError(t, r.stop())
	})
}

// A panic ends its goroutine once recovered (the frames under Run are gone
// before the restart), so the next panic's stack holds no frame of the
// last; a restart after a failure Run returned stays on the child's
// goroutine.
func TestRestartAfterPanicDoesNotNestStacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gids []string
		spec := Spec{Name: "p", Run: func(ctx context.Context) error {
			gids = append(gids, goid())
			switch len(gids) {
			case 1, 2, 4:
				panic("kaboom")
			case 3:
				return errors.New("failed")
			}
			<-ctx.Done()
			return nil
		}}
		r := start(t, mustNew(t, WithIntensity(10, time.Second), WithChildren(spec)))
		require.Len(t, gids, 5)
		var pe *PanicError
		require.ErrorAs(t, r.tree.Children()[0].Err, &pe)
		assert.Equal(t, 1, strings.Count(string(pe.Stack), "panic("), "%s", pe.Stack)
		for _, i := range []int{1, 2, 4} {
			assert.NotEqual(t, gids[i-1], gids[i], "after the panic of run %d: a new goroutine", i)
		}
		assert.Equal(t, gids[2], gids[3], "after a failure without a panic: restarted on the same goroutine")
		require.NoError(t, r.stop())
	})
}

// A child's Run is called one frame deep in its goroutine: the collector
// walks every parked child's stack at every cycle (BenchmarkCollect).
func TestRunIsOneFrameDeep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var below []string
		spec := Spec{Name: "deep", Run: func(ctx context.Context) error {
			pcs := make([]uintptr, 16)
			frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)]) // from Run's caller
			for {
				f, more := frames.Next()
				below = append(below, f.Function)
				if !more {
					break
				}
			}
			<-ctx.Done()
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(spec)))
		assert.Equal(t, []string{"github.com/arbor-go/supervisor.(*loop).runNext", "runtime.goexit"}, below)
		require.NoError(t, r.stop())
	})
}

// A child whose Run calls runtime.Goexit ends its goroutine: its exit is
// reported from there and the restart runs on a new goroutine; also when
// the tree passes panics through (a Goexit is not a panic: before, such a
// tree never heard of the exit).
func TestRestartAfterGoexit(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithPanicPassThrough()}} {
		synctest.Test(t, func(t *testing.T) {
			var gids []string
			spec := Spec{Name: "g", Run: func(ctx context.Context) error {
				gids = append(gids, goid())
				if len(gids) == 1 {
					runtime.Goexit()
				}
				<-ctx.Done()
				return nil
			}}
			r := start(t, mustNew(t, append(opts, WithChildren(spec))...))
			require.Len(t, gids, 2)
			assert.NotEqual(t, gids[0], gids[1])
			assert.ErrorIs(t, r.tree.Children()[0].Err, errGoexit)
			require.NoError(t, r.stop())
		})
	}
}

// A child that changed its goroutine's profiler labels and failed runs its
// next incarnation, on the same goroutine, with the labels of Run's context.
func TestRestartOnTheSameGoroutineResetsProfilerLabels(t *testing.T) {
	running := make(chan struct{})
	runs := 0
	spec := Spec{Name: "c", Run: func(ctx context.Context) error {
		if runs++; runs == 1 {
			pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("mine", "x")))
			return errBoom
		}
		return labelledChild(running)(ctx)
	}}
	tr, err := New(WithChildren(spec))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var errc <-chan error
	pprof.Do(ctx, pprof.Labels("tree", "t1"), func(ctx context.Context) { errc = tr.Start(ctx) })
	<-running
	assert.Equal(t, []string{`# labels: {"tree":"t1"}`}, childLabels(t))
	cancel()
	require.NoError(t, <-errc)
}

// A child's context is cancelled once its Run has returned, whatever
// follows (a restart, a Stopped spec, removal, a Goexit), so that the
// goroutines it started with that context stop too.
func TestChildContextCancelledWhenRunReturns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart Restart
		exit    func() error
	}{
		{"restarted", Permanent, func() error { return errBoom }},
		{"stays stopped", Transient, func() error { return nil }},
		{"removed", Temporary, func() error { return errBoom }},
		{"goexit", Transient, func() error { runtime.Goexit(); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				helpers := make(chan error, 2)
				runs := 0
				spec := Spec{Name: "c", Restart: tc.restart, Run: func(ctx context.Context) error {
					if runs++; runs > 1 {
						<-ctx.Done()
						return nil
					}
					go func() { <-ctx.Done(); helpers <- ctx.Err() }() // outlives Run
					return tc.exit()
				}}
				r := start(t, mustNew(t, WithChildren(spec)))
				select {
				case err := <-helpers:
					assert.ErrorIs(t, err, context.Canceled)
				default:
					t.Fatal("the goroutine the child started with its context still waits")
				}
				require.NoError(t, r.stop())
			})
		})
	}
}
