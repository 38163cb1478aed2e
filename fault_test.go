package supervisor

// Fault injection: children and observers that misbehave in every way the
// issue lists. For each, the tree keeps its promises: no deadlock (synctest
// fails a test whose bubble deadlocks), no leaked goroutine (the bubble must
// drain, and TestMain runs goleak), and the documented error.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var allStrategies = []Strategy{OneForOne, OneForAll, RestForOne, SimpleOneForOne}

// addOrWith adds specs statically, or with Add once running for
// SimpleOneForOne.
func startWith(t *testing.T, s Strategy, specs []Spec, opts ...Option) *running {
	t.Helper()
	opts = append(opts, WithStrategy(s))
	if s != SimpleOneForOne {
		opts = append(opts, WithChildren(specs...))
	}
	r := start(t, mustNew(t, opts...))
	if s == SimpleOneForOne {
		for _, sp := range specs {
			_, err := r.tree.Add(sp)
			require.NoError(t, err)
		}
	}
	return r
}

// deaf ignores cancellation until released.
func deaf(name string, shutdown time.Duration, release <-chan struct{}) Spec {
	return Spec{Name: name, Shutdown: shutdown, Run: func(ctx context.Context) error {
		<-release
		return nil
	}}
}

func TestFault_ChildIgnoresCancellation(t *testing.T) {
	for _, s := range allStrategies {
		t.Run(s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				release := make(chan struct{})
				specs := []Spec{h.spec("a", Permanent), deaf("deaf1", time.Second, release),
					deaf("deaf2", 2*time.Second, release), h.spec("z", Permanent)}
				r := startWith(t, s, specs, WithIntensity(0, time.Hour))
				h.take()

				// Terminate waits exactly the Shutdown and reports the
				// abandonment; Restart then starts the Stopped child at once.
				begin := time.Now()
				err := r.tree.Terminate("deaf1")
				assert.ErrorIs(t, err, ErrShutdownTimeout)
				assert.Equal(t, time.Second, time.Since(begin))
				if s != SimpleOneForOne {
					assert.Equal(t, 3, r.tree.Count().Active, "an abandoned child is not active")
					require.NoError(t, r.tree.Restart("deaf1"))
					assert.Equal(t, time.Second, time.Since(begin))
					assert.Equal(t, Running, states(r.tree)["deaf1"])
					assert.Equal(t, 4, r.tree.Count().Active)
				} else {
					assert.Equal(t, 3, r.tree.Count().Active, "an abandoned child is not active")
				}
				require.NoError(t, r.tree.checkInvariants())

				// Shutdown: sequential (3s) or concurrent (SimpleOneForOne: 2s).
				begin = time.Now()
				r.cancel()
				err = <-r.errc
				assert.ErrorIs(t, err, ErrShutdownTimeout)
				var se *ShutdownTimeoutError
				require.ErrorAs(t, err, &se)
				if s == SimpleOneForOne {
					assert.Equal(t, 2*time.Second, time.Since(begin))
					assert.ElementsMatch(t, []string{"deaf1", "deaf2"}, se.Children)
				} else {
					assert.Equal(t, 3*time.Second, time.Since(begin))
					assert.Equal(t, []string{"deaf1", "deaf2", "deaf1"}, se.Children)
				}
				assert.ElementsMatch(t, []string{"stop a", "stop z"}, h.take())
				require.NoError(t, r.tree.checkInvariants())
				close(release) // late returns of abandoned goroutines change nothing
				synctest.Wait()
				for _, c := range r.tree.Children() {
					assert.Equal(t, Stopped, c.State)
				}
			})
		})
	}
}

// A group restart whose bystander ignores cancellation waits its Shutdown,
// abandons it and goes on; Delete of such a child reports the timeout.
func TestFault_DeafBystanderInGroupRestart(t *testing.T) {
	for _, s := range []Strategy{OneForAll, RestForOne} {
		t.Run(s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				release := make(chan struct{})
				r := start(t, mustNew(t, WithStrategy(s), WithIntensity(5, time.Hour),
					WithChildren(h.spec("a", Permanent), deaf("deaf", time.Second, release), h.spec("c", Permanent))))
				h.take()
				begin := time.Now()
				h.exit("a", errBoom)
				synctest.Wait()
				assert.Equal(t, time.Duration(0), time.Since(begin))
				time.Sleep(time.Second)
				synctest.Wait()
				for _, c := range r.tree.Children() {
					assert.Equal(t, Running, c.State, c.Name)
					assert.Equal(t, 1, c.Restarts, c.Name)
				}
				assert.Equal(t, []string{"exit a", "stop c", "start a", "start c"}, h.take())
				assert.ErrorIs(t, r.tree.Delete("deaf"), ErrShutdownTimeout)
				err := r.stop()
				var se *ShutdownTimeoutError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, []string{"deaf", "deaf"}, se.Children)
				close(release)
			})
		})
	}
}

// A child that panics on its way out is stopped, not failed: no restart, no
// intensity, and Terminate and Run report nothing.
func TestFault_PanicDuringShutdown(t *testing.T) {
	for _, s := range allStrategies {
		t.Run(s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				var starts atomic.Int32
				panicky := func(name string) Spec {
					return Spec{Name: name, Run: func(ctx context.Context) error {
						starts.Add(1)
						<-ctx.Done()
						panic("panic during shutdown of " + name)
					}}
				}
				specs := []Spec{panicky("p1"), h.spec("a", Permanent), panicky("p2"), panicky("p3")}
				r := startWith(t, s, specs, WithIntensity(0, time.Hour))
				require.NoError(t, r.tree.Terminate("p1"))
				if s != SimpleOneForOne {
					var pe *PanicError
					kids := r.tree.Children()
					require.ErrorAs(t, kids[0].Err, &pe, "the panic is kept as the child's last error")
					assert.Equal(t, Stopped, kids[0].State)
					require.NoError(t, r.tree.Restart("p2"))
				}
				if s.group() {
					// A group restart whose bystanders panic while stopping
					// counts once; intensity 0 gives up on that one restart,
					// with a's error, not a panic.
					h.exit("a", errBoom)
					err, over := r.done()
					require.True(t, over)
					assert.ErrorIs(t, err, ErrTooManyRestarts)
					assert.ErrorIs(t, err, errBoom)
					var pe *PanicError
					assert.False(t, errors.As(err, &pe), "bystander panics are shutdowns: %v", err)
					return
				}
				require.NoError(t, r.stop())
				_, over := r.done()
				assert.False(t, over)
				if s == SimpleOneForOne {
					assert.Empty(t, r.tree.Children())
				}
			})
		})
	}
}

// Children call the tree's API on their siblings from their Run and from
// their shutdown path, while restarts and a shutdown are in progress.
func TestFault_APICallsFromChildren(t *testing.T) {
	for _, s := range allStrategies {
		t.Run(s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var tr *Tree
				var mu sync.Mutex
				var unexpected []error
				note := func(err error) {
					if err != nil && !errors.Is(err, ErrUnknownChild) && !errors.Is(err, ErrDuplicateChild) &&
						!errors.Is(err, ErrNotRunning) && !errors.Is(err, ErrStartFailed) {
						mu.Lock()
						unexpected = append(unexpected, err)
						mu.Unlock()
					}
				}
				plain := func(ctx context.Context) error { <-ctx.Done(); return nil }
				// busy churns its siblings from its Run, then fails.
				busy := func(i int) Spec {
					return Spec{Name: fmt.Sprintf("busy%d", i), Run: func(ctx context.Context) error {
						for k := 0; k < 5; k++ {
							name := fmt.Sprintf("sib%d", (i+k)%4)
							_, err := tr.Add(Spec{Name: name, Restart: Transient, Run: plain})
							note(err)
							note(tr.Restart(name))
							_ = tr.Children()
							_ = tr.Count()
							time.Sleep(10 * time.Millisecond)
							if ctx.Err() != nil {
								return nil
							}
							note(tr.Terminate(name))
							note(tr.Delete(name))
						}
						return errBoom
					}}
				}
				// closer acts on siblings from its shutdown path.
				closer := Spec{Name: "closer", Run: func(ctx context.Context) error {
					<-ctx.Done()
					for k := 0; k < 4; k++ {
						name := fmt.Sprintf("sib%d", k)
						note(tr.Terminate(name))
						note(tr.Restart(name))
						note(tr.Delete(name))
						_, err := tr.Add(Spec{Name: name, Run: plain})
						note(err)
					}
					_ = tr.Children()
					return nil
				}}
				opts := []Option{WithStrategy(s), WithIntensity(1000, time.Second)}
				specs := []Spec{closer, busy(0), busy(1), {Name: "sib0", Run: plain}}
				if s != SimpleOneForOne {
					opts = append(opts, WithChildren(specs...))
				}
				tr = mustNew(t, opts...)
				r := start(t, tr)
				if s == SimpleOneForOne {
					for _, sp := range specs {
						if _, err := tr.Add(sp); !errors.Is(err, ErrDuplicateChild) {
							require.NoError(t, err) // busy may have added sib0 already
						}
					}
				}
				for i := 0; i < 20; i++ {
					time.Sleep(7 * time.Millisecond)
					synctest.Wait()
					require.NoError(t, tr.checkInvariants())
				}
				require.NoError(t, r.stop())
				require.NoError(t, tr.checkInvariants())
				assert.Zero(t, tr.Count().Active)
				mu.Lock()
				assert.Empty(t, unexpected)
				mu.Unlock()
			})
		})
	}
}

// A child that terminates itself (documented as a mistake) is abandoned
// after its Shutdown: the call returns then, and nothing hangs.
func TestFault_ChildTerminatesItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan error, 1)
		var tr *Tree
		self := Spec{Name: "self", Shutdown: time.Second, Run: func(ctx context.Context) error {
			got <- tr.Terminate("self")
			return nil
		}}
		tr = mustNew(t, WithChildren(self))
		r := start(t, tr)
		begin := time.Now()
		err := <-got
		assert.ErrorIs(t, err, ErrShutdownTimeout)
		assert.Equal(t, time.Second, time.Since(begin))
		synctest.Wait()
		assert.Equal(t, Stopped, states(tr)["self"])
		assert.ErrorIs(t, r.stop(), ErrShutdownTimeout)
	})
}

// context.Canceled returned while the child's context is alive is a failure,
// under every strategy and restart type that restarts failures.
func TestFault_SpuriousContextCanceled(t *testing.T) {
	for _, s := range allStrategies {
		t.Run(s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var runs atomic.Int32
				liar := Spec{Name: "liar", Restart: Transient, Run: func(ctx context.Context) error {
					runs.Add(1)
					time.Sleep(time.Second)
					return context.Canceled
				}}
				h := newHarness(t)
				r := startWith(t, s, []Spec{h.spec("a", Permanent), liar}, WithIntensity(2, time.Minute))
				time.Sleep(3500 * time.Millisecond)
				err, over := r.done()
				require.True(t, over, "3 restarts in a minute exceed 2")
				assert.ErrorIs(t, err, ErrTooManyRestarts)
				assert.ErrorIs(t, err, context.Canceled)
				assert.Contains(t, err.Error(), `child "liar"`)
				assert.Equal(t, int32(3), runs.Load())
			})
		})
	}
}

// A WaitReady child that never calls Ready blocks the ordered start, Add
// and Restart, but never the tree: the API answers, and cancellation,
// Terminate and Delete end the wait with the documented errors.
func TestFault_BlockInReadyForever(t *testing.T) {
	never := func(name string, deafToo bool, release <-chan struct{}) Spec {
		return Spec{Name: name, WaitReady: true, Shutdown: time.Second, Run: func(ctx context.Context) error {
			if deafToo {
				<-release
				return nil
			}
			<-ctx.Done()
			return ctx.Err()
		}}
	}
	t.Run("initial start, cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			release := make(chan struct{})
			r := start(t, mustNew(t, WithChildren(h.spec("a", Permanent), never("n", true, release), h.spec("c", Permanent))))
			time.Sleep(time.Hour)
			assert.Equal(t, map[string]ChildState{"a": Running, "n": Starting, "c": Stopped}, states(r.tree))
			assert.Equal(t, Counts{Specs: 3, Active: 2}, r.tree.Count())
			r.cancel()
			err := <-r.errc
			assert.ErrorIs(t, err, ErrShutdownTimeout)
			assert.Equal(t, []string{"start a", "stop a"}, h.take())
			close(release)
		})
	})
	t.Run("Add, then Terminate and Delete", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			r := start(t, mustNew(t))
			errs := make(chan error, 2)
			go func() { _, err := r.tree.Add(never("n1", false, nil)); errs <- err }()
			go func() { _, err := r.tree.Add(never("n2", true, release)); errs <- err }()
			time.Sleep(time.Hour)
			assert.Equal(t, map[string]ChildState{"n1": Starting, "n2": Starting}, states(r.tree))
			require.NoError(t, r.tree.Terminate("n1"))
			assert.ErrorIs(t, <-errs, ErrStartFailed)
			assert.ErrorIs(t, r.tree.Delete("n2"), ErrShutdownTimeout)
			assert.ErrorIs(t, <-errs, ErrStartFailed)
			// Add failed, so neither spec is kept: Add's answer and the
			// tree agree (a retried Add is not a duplicate).
			assert.Empty(t, r.tree.Children())
			require.ErrorIs(t, r.stop(), ErrShutdownTimeout)
			close(release)
		})
	})
	t.Run("Restart waits, Run cancel ends it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := start(t, mustNew(t, WithStrategy(OneForAll)))
			go func() { _, _ = r.tree.Add(never("n", false, nil)) }()
			synctest.Wait()
			res := make(chan error, 1)
			go func() { res <- r.tree.Restart("n") }()
			time.Sleep(time.Hour)
			select {
			case err := <-res:
				t.Fatalf("Restart returned %v before Ready", err)
			default:
			}
			require.NoError(t, r.stop())
			err := <-res
			assert.Error(t, err, "Restart of a child stopped before Ready")
		})
	})
}

// Three levels of trees; the innermost gives up again and again. Each
// level restarts the one below with a fresh history until its own intensity
// is exceeded, and the root finally returns ErrTooManyRestarts with the
// innermost cause, leaving no goroutine behind.
func TestFault_NestedInnermostGivesUpRepeatedly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var innerRuns, midRuns atomic.Int32
		var live atomic.Int32
		failing := Spec{Name: "w", Run: func(ctx context.Context) error {
			live.Add(1)
			defer live.Add(-1)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
				return errBoom
			}
		}}
		calm := Spec{Name: "calm", Run: func(ctx context.Context) error {
			live.Add(1)
			defer live.Add(-1)
			<-ctx.Done()
			return nil
		}}
		inner := mustNew(t, WithName("inner"), WithIntensity(2, time.Minute), WithChildren(calm, failing))
		mid := mustNew(t, WithName("mid"), WithStrategy(OneForAll), WithIntensity(3, time.Minute), WithChildren(
			Spec{Name: "inner", Shutdown: Infinity, Run: func(ctx context.Context) error { innerRuns.Add(1); return inner.Run(ctx) }},
			calm))
		root := mustNew(t, WithName("root"), WithStrategy(RestForOne), WithIntensity(1, time.Minute), WithChildren(
			calm,
			Spec{Name: "mid", Shutdown: Infinity, WaitReady: true, Run: func(ctx context.Context) error { midRuns.Add(1); return mid.Run(ctx) }}))
		r := start(t, root)
		time.Sleep(time.Hour)
		err, over := r.done()
		require.True(t, over)
		assert.ErrorIs(t, err, ErrTooManyRestarts)
		assert.ErrorIs(t, err, errBoom, "the innermost cause is kept through the levels")
		assert.Contains(t, err.Error(), `tree "root"`)
		assert.Equal(t, int32(2), midRuns.Load(), "root: the first run and 1 restart")
		assert.Equal(t, int32(8), innerRuns.Load(), "mid: 4 runs per mid run")
		assert.Zero(t, live.Load())
		for _, tr := range []*Tree{root, mid, inner} {
			require.NoError(t, tr.checkInvariants())
			assert.Zero(t, tr.Count().Active)
		}
	})
}

// blockingHandler is a slog handler whose Handle blocks or panics.
type blockingHandler struct {
	block <-chan struct{}
	panic bool
	calls *atomic.Int32
}

func (h blockingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h blockingHandler) Handle(context.Context, slog.Record) error {
	h.calls.Add(1)
	if h.panic {
		panic("handler panic")
	}
	<-h.block
	return nil
}
func (h blockingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h blockingHandler) WithGroup(string) slog.Handler      { return h }

// A hook or logger that blocks or panics never stalls supervision; Run
// waits at most observerDrain for a blocked observer.
func TestFault_ObserverBlocksOrPanics(t *testing.T) {
	cases := []struct {
		name  string
		opt   func(block chan struct{}, calls *atomic.Int32) Option
		block bool
	}{
		{"hook blocks", func(b chan struct{}, n *atomic.Int32) Option {
			return WithHook(func(Event) { n.Add(1); <-b })
		}, true},
		{"hook panics", func(b chan struct{}, n *atomic.Int32) Option {
			return WithHook(func(Event) { n.Add(1); panic("hook") })
		}, false},
		{"logger blocks", func(b chan struct{}, n *atomic.Int32) Option {
			return WithLogger(slog.New(blockingHandler{block: b, calls: n}))
		}, true},
		{"logger panics", func(b chan struct{}, n *atomic.Int32) Option {
			return WithLogger(slog.New(blockingHandler{panic: true, calls: n}))
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				block := make(chan struct{})
				var calls atomic.Int32
				h := newHarness(t)
				r := start(t, mustNew(t, tc.opt(block, &calls), WithIntensity(100000, time.Hour),
					WithChildren(h.spec("a", Permanent), h.spec("b", Transient))))
				for i := 0; i < 3000; i++ {
					h.exit("a", errBoom)
				}
				require.NoError(t, r.tree.Restart("b"))
				require.NoError(t, r.tree.Terminate("b"))
				kids := r.tree.Children()
				assert.Equal(t, 3000, kids[0].Restarts, "supervision went on")
				assert.Equal(t, Stopped, kids[1].State)
				r.cancel()
				begin := time.Now()
				require.NoError(t, <-r.errc)
				if tc.block {
					assert.Equal(t, observerDrain, time.Since(begin), "bounded wait for the observer")
					assert.Equal(t, int32(1), calls.Load())
				} else {
					assert.Zero(t, time.Since(begin))
					assert.Greater(t, calls.Load(), int32(1000))
				}
				close(block) // lets the observer goroutine end
			})
		})
	}
}

// slowStop is a WaitReady child that takes d to return once cancelled.
func slowStop(h *harness, name string, d time.Duration) Spec {
	return Spec{Name: name, WaitReady: true, Run: func(ctx context.Context) error {
		h.record("start " + name)
		Ready(ctx) // after the record: the next child's start is recorded after this one
		<-ctx.Done()
		time.Sleep(d)
		h.record("stop " + name)
		return nil
	}}
}

// Failures that arrive while a group restart waits for a slow bystander:
// members' own failures are absorbed into the running restart (counted once,
// Temporary members removed); a non-member's failure waits for it and then
// makes a group restart of its own.
func TestFault_FailuresDuringGroupRestart(t *testing.T) {
	t.Run("members", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			r := start(t, mustNew(t, WithStrategy(OneForAll), WithIntensity(1, time.Hour), WithChildren(
				h.spec("a", Permanent), h.spec("t", Temporary), h.spec("b", Permanent), slowStop(h, "slow", time.Second))))
			h.take()
			h.exit("a", errBoom)
			time.Sleep(500 * time.Millisecond)
			h.exit("t", errBoom)
			h.exit("b", errBoom)
			// The Temporary member's own exit removes it at once.
			assert.Equal(t, map[string]ChildState{"a": Restarting, "b": Restarting, "slow": Stopping}, states(r.tree))
			require.NoError(t, r.tree.checkInvariants())
			time.Sleep(time.Second)
			assert.Equal(t, []string{"exit a", "exit t", "exit b", "stop slow", "start a", "start b", "start slow"}, h.take())
			for _, c := range r.tree.Children() {
				assert.Equal(t, Running, c.State, c.Name)
				assert.Equal(t, 1, c.Restarts, c.Name)
			}
			assert.Equal(t, []string{"a", "b", "slow"}, names(r.tree.Children()))
			_, over := r.done()
			require.False(t, over, "one group restart, counted once")
			require.NoError(t, r.stop())
		})
	})
	t.Run("non-member", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			r := start(t, mustNew(t, WithStrategy(RestForOne), WithIntensity(2, time.Hour), WithChildren(
				h.spec("x", Permanent), h.spec("a", Permanent), slowStop(h, "slow", time.Second), h.spec("y", Permanent))))
			h.take()
			h.exit("a", errBoom)
			time.Sleep(500 * time.Millisecond)
			h.exit("x", errBoom)
			assert.Equal(t, Restarting, states(r.tree)["x"])
			time.Sleep(5 * time.Second)
			assert.Equal(t, []string{"exit a", "stop y", "exit x", "stop slow", "start a", "start slow", "start y",
				"stop y", "stop slow", "stop a", "start x", "start a", "start slow", "start y"}, h.take())
			got := map[string]int{}
			for _, c := range r.tree.Children() {
				assert.Equal(t, Running, c.State, c.Name)
				got[c.Name] = c.Restarts
			}
			assert.Equal(t, map[string]int{"x": 1, "a": 2, "slow": 2, "y": 2}, got)
			_, over := r.done()
			require.False(t, over, "two restarts within 2")
			require.NoError(t, r.stop())
		})
	})
}

// Ready and Heartbeat called late, from a goroutine the child leaked, on the
// context of an incarnation that has ended, change nothing for the
// incarnation that replaced it.
func TestFault_LateReadyFromLeakedGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		late := make(chan struct{})
		var wg sync.WaitGroup
		spec := Spec{Name: "w", WaitReady: true, Watchdog: time.Second, Run: func(ctx context.Context) error {
			n := runs.Add(1)
			if n == 1 {
				wg.Add(1)
				go func() { // leaks past the child's return
					defer wg.Done()
					<-late
					Ready(ctx)
					Ready(ctx)
					Heartbeat(ctx)
				}()
				return errBoom // fails before Ready: Add fails
			}
			<-ctx.Done() // never Ready: stays Starting
			return nil
		}}
		r := start(t, mustNew(t, WithChildren(Spec{Name: "a", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }})))
		errc := make(chan error, 1)
		go func() { _, err := r.tree.Add(spec); errc <- err }()
		require.ErrorIs(t, <-errc, ErrStartFailed)
		go func() { _, err := r.tree.Add(spec); errc <- err }()
		synctest.Wait()
		close(late) // the first incarnation's context calls Ready now
		wg.Wait()
		synctest.Wait()
		assert.Equal(t, Starting, states(r.tree)["w"], "the late Ready belongs to the old incarnation")
		select {
		case err := <-errc:
			t.Fatalf("Add returned %v on a stale Ready", err)
		default:
		}
		require.NoError(t, r.stop())
		assert.ErrorIs(t, <-errc, ErrStartFailed)
	})
}

// A tree given its own Run as a child fails that child with
// ErrAlreadyRunning, restarts it and finally gives up: no deadlock.
func TestFault_TreeAsItsOwnChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr *Tree
		tr = mustNew(t, WithIntensity(2, time.Minute), WithChildren(
			Spec{Name: "self", Run: func(ctx context.Context) error { return tr.Run(ctx) }}))
		err := tr.Run(context.Background())
		assert.ErrorIs(t, err, ErrTooManyRestarts)
		assert.ErrorIs(t, err, ErrAlreadyRunning)
		assert.Equal(t, 2, tr.Children()[0].Restarts)
	})
}
