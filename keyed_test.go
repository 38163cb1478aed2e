// keyed_test.go: tests of keyed.go and keyed_reconcile.go: a Keyed tree
// follows its table (add, remove, change, exit for good), reports bad keys
// and failing factories without disturbing the others, survives table
// failures, gives up with its tree, and runs as a subtree.

package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/arbor-go/supervisor"
)

// keyLog records what keyed children do: "start k=v", "stop k".
type keyLog struct {
	mu  sync.Mutex
	log []string
	n   map[string]int // factory calls per key
}

func newKeyLog() *keyLog { return &keyLog{n: map[string]int{}} }

func (l *keyLog) add(s string) {
	l.mu.Lock()
	l.log = append(l.log, s)
	l.mu.Unlock()
}

// take returns, sorted, what was recorded since the last take, once every
// goroutine of the bubble is blocked.
func (l *keyLog) take() []string {
	synctest.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.log
	l.log = nil
	slices.Sort(out)
	return out
}

func (l *keyLog) calls(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[key]
}

// factory makes children that run until cancelled.
func (l *keyLog) factory(key, value string) supervisor.Spec {
	l.mu.Lock()
	l.n[key]++
	l.mu.Unlock()
	return supervisor.Spec{Run: func(ctx context.Context) error {
		l.add("start " + key + "=" + value)
		<-ctx.Done()
		l.add("stop " + key)
		return nil
	}}
}

// startKeyed runs a Keyed tree in the bubble and stops it at the end.
func startKeyed(t *testing.T, table supervisor.Table, f func(k, v string) supervisor.Spec,
	opts ...supervisor.KeyedOption) (*supervisor.Keyed, func() error) {
	k, kerr := supervisor.NewKeyed(table, f, opts...)
	require.NoError(t, kerr)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return k, stop
}

func names(k *supervisor.Keyed) []string {
	var out []string
	for _, c := range k.Tree().Children() {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}

func TestKeyed_FollowsTable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		table, err := supervisor.NewMemTable(map[string]string{"a": "1", "b": "1"})
		require.NoError(t, err)
		l := newKeyLog()
		k, stop := startKeyed(t, table, l.factory)
		require.Equal(t, []string{"start a=1", "start b=1"}, l.take())
		require.Equal(t, []string{"a", "b"}, names(k))

		require.NoError(t, table.Set("c", "1"))
		require.Equal(t, []string{"start c=1"}, l.take())
		require.True(t, table.Delete("a"))
		require.Equal(t, []string{"stop a"}, l.take())
		require.NoError(t, table.Set("b", "2"))
		require.Equal(t, []string{"start b=2", "stop b"}, l.take())
		require.NoError(t, table.Set("b", "2")) // same value: nothing
		require.Empty(t, l.take())
		require.Equal(t, []string{"b", "c"}, names(k))

		require.NoError(t, stop())
		require.Equal(t, []string{"stop b", "stop c"}, l.take())
	})
}

// One change among many keys calls the factory for that key only: the
// reconciler does not rescan the table.
func TestKeyed_ReconcilesOnlyChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		table := &supervisor.MemTable{}
		for i := range 1000 {
			require.NoError(t, table.Set(fmt.Sprintf("k%d", i), "v"))
		}
		l := newKeyLog()
		k, stop := startKeyed(t, table, l.factory)
		require.Len(t, l.take(), 1000)
		require.NoError(t, table.Set("k7", "w"))
		require.Equal(t, []string{"start k7=w", "stop k7"}, l.take())
		require.Equal(t, 2, l.calls("k7"))
		require.Equal(t, 1, l.calls("k8"))
		require.Equal(t, 1000, k.Tree().Count().Active)
		require.NoError(t, stop())
	})
}

// A child that exits for good while its key is desired is added again after
// the retry backoff, which doubles while it keeps exiting.
func TestKeyed_ExitForGoodIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		table, _ := supervisor.NewMemTable(map[string]string{"job": "x"})
		var mu sync.Mutex
		var starts []time.Duration
		t0 := time.Now()
		f := func(key, value string) supervisor.Spec {
			return supervisor.Spec{Restart: supervisor.Temporary, Run: func(ctx context.Context) error {
				mu.Lock()
				starts = append(starts, time.Since(t0))
				mu.Unlock()
				return nil
			}}
		}
		var evs []supervisor.KeyEventKind
		_, stop := startKeyed(t, table, f, supervisor.KeyedRetry(time.Second, 4*time.Second),
			supervisor.KeyedHook(func(e supervisor.KeyEvent) { evs = append(evs, e.Kind) }))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		mu.Lock()
		require.Equal(t, []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}, starts)
		mu.Unlock()
		table.Delete("job")
		time.Sleep(20 * time.Second)
		synctest.Wait()
		mu.Lock()
		require.Len(t, starts, 4, "a removed key is not retried")
		mu.Unlock()
		require.NoError(t, stop())
		require.Contains(t, evs, supervisor.KeyExited)
	})
}

// A factory that panics or makes an invalid Spec for one key is reported
// for that key; the other keys run; the key is retried and recovers once
// its value is fixed.
func TestKeyed_BadFactoryIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		table, _ := supervisor.NewMemTable(map[string]string{"ok": "1", "panics": "p", "nil": "n"})
		l := newKeyLog()
		f := func(key, value string) supervisor.Spec {
			switch value {
			case "p":
				panic("no luck")
			case "n":
				return supervisor.Spec{}
			}
			return l.factory(key, value)
		}
		var mu sync.Mutex
		failed := map[string]int{}
		k, stop := startKeyed(t, table, f, supervisor.KeyedHook(func(e supervisor.KeyEvent) {
			if e.Kind == supervisor.KeyFailed {
				mu.Lock()
				failed[e.Key]++
				mu.Unlock()
			}
		}))
		require.Equal(t, []string{"start ok=1"}, l.take())
		errs := k.Errors()
		require.Len(t, errs, 2)
		var pe *supervisor.PanicError
		require.ErrorAs(t, errs["panics"], &pe)
		require.ErrorIs(t, errs["panics"], supervisor.ErrFactory)
		require.ErrorContains(t, errs["panics"], `keyed tree "supervisor": key "panics"`)
		require.ErrorIs(t, errs["nil"], supervisor.ErrInvalidSpec)
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		require.Greater(t, failed["panics"], 1, "retried with backoff")
		mu.Unlock()

		require.NoError(t, table.Set("panics", "fixed"))
		require.Equal(t, []string{"start panics=fixed"}, l.take())
		require.NotContains(t, k.Errors(), "panics")
		_, ok := table.Get("nil")
		require.True(t, ok, "arbor never drops a key from the table")
		require.NoError(t, stop())
	})
}

// chanTable is a Table driven by a test: each Watch takes its script from
// the scripts channel (updates to send, then an error to return, or block
// until ctx ends when err is nil).
type chanTable struct{ scripts chan script }

type script struct {
	updates []supervisor.Update
	err     error
}

func (c *chanTable) Watch(ctx context.Context, send func(supervisor.Update)) error {
	select {
	case s := <-c.scripts:
		for _, u := range s.updates {
			send(u)
		}
		if s.err != nil {
			return s.err
		}
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return nil
}

func TestKeyed_InvalidKeyRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := &chanTable{scripts: make(chan script, 1)}
		tb.scripts <- script{updates: []supervisor.Update{{Reset: true, Changes: []supervisor.Change{
			{Key: "good", Value: "1"}, {Key: "bad key/1", Value: "1"}}}}}
		l := newKeyLog()
		k, stop := startKeyed(t, tb, l.factory)
		require.Equal(t, []string{"start good=1"}, l.take())
		require.ErrorIs(t, k.Errors()["bad key/1"], supervisor.ErrInvalidKey)
		require.Equal(t, 0, l.calls("bad key/1"))
		require.NoError(t, stop())

		_, err := supervisor.NewMemTable(map[string]string{"a/b": ""})
		require.ErrorIs(t, err, supervisor.ErrInvalidKey)
	})
}

// A table that fails before its first report makes Run fail with its
// error; one that fails later is watched again and its Reset applied.
func TestKeyed_TableFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("store unreachable")
		tb := &chanTable{scripts: make(chan script, 2)}
		tb.scripts <- script{err: boom}
		k, err := supervisor.NewKeyed(tb, newKeyLog().factory, supervisor.KeyedTree(supervisor.WithName("kt")))
		require.NoError(t, err)
		err = k.Run(t.Context())
		require.ErrorIs(t, err, boom)
		require.ErrorContains(t, err, `supervisor: keyed tree "kt": table: store unreachable`)

		reset := func(keys ...string) supervisor.Update {
			u := supervisor.Update{Reset: true}
			for _, key := range keys {
				u.Changes = append(u.Changes, supervisor.Change{Key: key, Value: "v"})
			}
			return u
		}
		tb.scripts <- script{updates: []supervisor.Update{reset("a", "b")}, err: boom}
		l := newKeyLog()
		_, stop := startKeyed(t, tb, l.factory, supervisor.KeyedRetry(time.Second, time.Second))
		require.Equal(t, []string{"start a=v", "start b=v"}, l.take())
		tb.scripts <- script{updates: []supervisor.Update{reset("b", "c")}}
		time.Sleep(time.Second)
		require.Equal(t, []string{"start c=v", "stop a"}, l.take())
		require.NoError(t, stop())
	})
}

// When the tree gives up (a Permanent child keeps failing), Run returns the
// tree's error.
func TestKeyed_TreeGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		table, _ := supervisor.NewMemTable(map[string]string{"crashy": "1"})
		boom := errors.New("boom")
		k, err := supervisor.NewKeyed(table, func(string, string) supervisor.Spec {
			return supervisor.Spec{Run: func(context.Context) error { return boom }}
		}, supervisor.KeyedTree(supervisor.WithIntensity(2, time.Minute)))
		require.NoError(t, err)
		err = k.Run(t.Context())
		require.ErrorIs(t, err, supervisor.ErrTooManyRestarts)
		require.ErrorIs(t, err, boom)
	})
}

// A Keyed tree runs as a subtree: the parent's start waits for its first
// reconcile, and the parent's snapshot shows its children.
func TestKeyed_AsSubtree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		table, _ := supervisor.NewMemTable(map[string]string{"a": "1"})
		l := newKeyLog()
		factory := func(key, value string) supervisor.Spec {
			if key == "broken" {
				return supervisor.Spec{} // no Run: an invalid spec for this key
			}
			return l.factory(key, value)
		}
		k, err := supervisor.NewKeyed(table, factory, supervisor.KeyedTree(supervisor.WithName("tenants")))
		require.NoError(t, err)
		parent, err := supervisor.New(supervisor.WithChildren(k.Spec()))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := parent.Start(ctx)
		require.Equal(t, []string{"start a=1"}, l.take())
		snap, err := parent.Snapshot(ctx)
		require.NoError(t, err)
		require.Equal(t, "tenants", snap.Children[0].Name)
		require.NotNil(t, snap.Children[0].Tree)
		require.Equal(t, "a", snap.Children[0].Tree.Children[0].Name)
		require.Equal(t, 1, parent.Count().Supervisors)
		require.Nil(t, snap.Children[0].Detail, "no key errors")

		require.NoError(t, table.Set("broken", "x"))
		synctest.Wait()
		snap, err = parent.Snapshot(ctx)
		require.NoError(t, err)
		detail, ok := snap.Children[0].Detail.(map[string]any)
		require.True(t, ok, "the parent's snapshot carries the key errors: %#v", snap.Children[0].Detail)
		require.Contains(t, detail["key_errors"], "broken")
		cancel()
		require.NoError(t, <-done)
	})
}

// The periodic resync removes children nobody asked for and notices exits
// whose events were lost.
func TestKeyed_ResyncRemovesStrays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		table, _ := supervisor.NewMemTable(map[string]string{"a": "1"})
		l := newKeyLog()
		k, stop := startKeyed(t, table, l.factory, supervisor.KeyedResync(time.Minute))
		require.Equal(t, []string{"start a=1"}, l.take())
		_, err := k.Tree().Add(l.factory("stray", "x"))
		require.NoError(t, err)
		require.Equal(t, []string{"start stray=x"}, l.take())
		time.Sleep(time.Minute)
		require.Equal(t, []string{"stop stray"}, l.take())
		require.Equal(t, []string{"a"}, names(k))
		require.NoError(t, stop())
	})
}

func TestKeyed_BadOptionsAndDoubleRun(t *testing.T) {
	table := &supervisor.MemTable{}
	_, err := supervisor.NewKeyed(table, nil)
	require.ErrorIs(t, err, supervisor.ErrInvalidOption)
	_, err = supervisor.NewKeyed(table, newKeyLog().factory, supervisor.KeyedRetry(0, time.Second))
	require.ErrorIs(t, err, supervisor.ErrInvalidOption)
	_, err = supervisor.NewKeyed(table, newKeyLog().factory, supervisor.KeyedConcurrency(0))
	require.ErrorIs(t, err, supervisor.ErrInvalidOption)

	synctest.Test(t, func(t *testing.T) {
		k, stop := startKeyed(t, table, newKeyLog().factory)
		synctest.Wait()
		require.ErrorIs(t, k.Run(t.Context()), supervisor.ErrAlreadyRunning)
		require.NoError(t, stop())
	})
}
