package supervisor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInboxPushTakeClose(t *testing.T) {
	var q inbox
	assert.False(t, q.pending())
	a, b, c := &report{kind: repExit}, &report{kind: repReady}, &report{kind: repCall}
	pushed, empty := q.first(a)
	assert.True(t, pushed)
	assert.True(t, empty, "the first entry finds the inbox empty")
	pushed, empty = q.first(b)
	assert.True(t, pushed)
	assert.False(t, empty)
	assert.True(t, q.pending())
	list := q.take()
	require.NotNil(t, list)
	assert.Same(t, a, list, "oldest first")
	assert.Same(t, b, list.next.Load())
	assert.Nil(t, list.next.Load().next.Load())
	assert.False(t, q.pending())

	assert.True(t, q.push(c))
	left := q.close()
	assert.Same(t, c, left, "close returns what was left")
	assert.False(t, q.pending(), "a closed inbox has nothing pending")
	assert.False(t, q.push(a), "a closed inbox takes nothing")
	pushed, empty = q.first(a)
	assert.False(t, pushed)
	assert.False(t, empty)
}

// TestCallersServeTheLoop runs Add/Delete pairs, Terminate, Restart and
// WaitReady Adds from several callers at once against children that exit
// by themselves, so that callers serve the inbox (post), are picked to serve
// a child's report while they wait (await, notify), and get their answer
// before or after the token that picked them. An entry left in the inbox
// with no one to serve it leaves every goroutine of the bubble blocked,
// which synctest reports as a deadlock; and every pair must be answered.
func TestCallersServeTheLoop(t *testing.T) {
	for _, strategy := range []Strategy{SimpleOneForOne, OneForOne} {
		t.Run(strategy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr, err := New(WithStrategy(strategy), WithIntensity(1<<30, time.Second))
				require.NoError(t, err)
				ctx, cancel := context.WithCancel(context.Background())
				errc := tr.Start(ctx)
				const callers, pairs = 4, 2000
				var wg sync.WaitGroup
				var answered atomic.Int64
				for k := range callers {
					wg.Go(func() {
						for i := range pairs {
							spec := Spec{Run: blockUntilCancelled, Restart: Temporary}
							switch {
							case i%3 == 1: // exits by itself, soon
								spec.Run = func(context.Context) error { return nil }
							case i%5 == 2 && strategy != SimpleOneForOne:
								spec.WaitReady = true
								spec.Run = func(ctx context.Context) error { Ready(ctx); <-ctx.Done(); return nil }
							}
							if strategy != SimpleOneForOne {
								spec.Name = fmt.Sprintf("c%d-%d", k, i)
							}
							name, err := tr.Add(spec)
							if !assert.NoError(t, err) {
								return
							}
							if i%7 == 3 && strategy != SimpleOneForOne {
								_ = tr.Restart(name) // it may have exited (Temporary: gone)
							}
							if i%2 == 0 {
								_ = tr.Terminate(name)
							}
							err = tr.Delete(name)
							if err != nil && !assert.ErrorIs(t, err, ErrUnknownChild) { // exited by itself and removed
								return
							}
							answered.Add(1)
						}
					})
				}
				wg.Wait()
				assert.Equal(t, int64(callers*pairs), answered.Load())
				assert.Equal(t, 0, tr.Count().Specs)
				cancel()
				require.NoError(t, <-errc)
			})
		})
	}
}

// holdReq holds the loop until released: its onLoop runs on whoever serves it.
type holdReq struct {
	msg
	held, release chan struct{}
	reply         chan error
}

func (m *holdReq) onLoop(*loop) {
	close(m.held)
	<-m.release
	m.reply <- nil
}

// TestHolderServesWhatArrivedWhileHeld: a call made while another caller
// holds the loop is not served by its own caller (the loop is held), nor
// lost: the holder serves it after its own pass, before it lets go for good.
func TestHolderServesWhatArrivedWhileHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, err := New(WithChildren(Spec{Name: "a", Run: blockUntilCancelled}))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		errc := tr.Start(ctx)

		hold := &holdReq{held: make(chan struct{}), release: make(chan struct{}), reply: make(chan error, 1)}
		go func() { _ = call(tr, hold, hold.reply, func() error { return nil }) }()
		<-hold.held
		var counted atomic.Bool
		go func() {
			assert.Equal(t, 1, tr.Count().Specs)
			counted.Store(true)
		}()
		synctest.Wait() // Count is pushed before Delete
		deleted := make(chan error, 1)
		go func() { deleted <- tr.Delete("a") }()
		synctest.Wait()
		assert.False(t, counted.Load(), "served while the loop is held")
		assert.Empty(t, deleted)

		close(hold.release)
		synctest.Wait()
		assert.True(t, counted.Load(), "the holder served the call that arrived meanwhile")
		require.NoError(t, <-deleted)
		assert.Equal(t, 0, tr.Count().Specs)
		cancel()
		require.NoError(t, <-errc)
	})
}

// A burst of starts: every incarnation put on the starts stack is run by
// exactly one of the goroutines spawn starts, whichever takes it.
func TestSpawnRunsEachIncarnationOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 2000
		var runs [n]atomic.Int32
		tr := mustNew(t, WithStrategy(SimpleOneForOne))
		r := start(t, tr)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			_, err := tr.AddAsync(Spec{Run: func(ctx context.Context) error {
				runs[i].Add(1)
				wg.Done()
				<-ctx.Done()
				return nil
			}})
			require.NoError(t, err)
		}
		wg.Wait()
		require.NoError(t, r.stop())
		for i := range runs {
			require.Equal(t, int32(1), runs[i].Load(), "child %d", i)
		}
	})
}

// An AddAsync + Delete pair allocates the record, the incarnation, the
// name and the child's Done channel (made as its goroutine is started), and
// nothing for the goroutine's start (spawn).
func TestAddDeleteAllocations(t *testing.T) {
	if raceOn {
		t.Skip("the race detector drops requests from their sync.Pool, which adds allocations")
	}
	tr := mustNew(t, WithStrategy(SimpleOneForOne))
	ctx, cancel := context.WithCancel(context.Background())
	errc := tr.Start(ctx)
	running := make(chan struct{})
	spec := Spec{Run: func(ctx context.Context) error {
		done := ctx.Done()
		running <- struct{}{}
		<-done
		return nil
	}}
	pair := func() {
		name, err := tr.AddAsync(spec)
		require.NoError(t, err)
		<-running
		require.NoError(t, tr.Delete(name))
	}
	pair()
	assert.LessOrEqual(t, testing.AllocsPerRun(1000, pair), 4.0)
	cancel()
	require.NoError(t, <-errc)
}
