// table_test.go: tests of table.go: key syntax, and MemTable's watch (a
// Reset, then changes in order; a Reset again for a watcher left behind).

package supervisor_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/arbor-go/supervisor"
)

func TestValidKey(t *testing.T) {
	for _, k := range []string{"a", "tenant-42", "orders.3", "x_y:z@w=1", strings.Repeat("k", supervisor.MaxKeyLen)} {
		require.NoError(t, supervisor.ValidKey(k), k)
	}
	for _, k := range []string{"", ".hidden", "a/b", "a b", "é", "a\x00", strings.Repeat("k", supervisor.MaxKeyLen+1)} {
		err := supervisor.ValidKey(k)
		require.ErrorIs(t, err, supervisor.ErrInvalidKey, k)
		require.ErrorContains(t, err, "supervisor: key ")
	}
}

// watcher collects what a MemTable reports.
type watcher struct {
	mu      sync.Mutex
	updates []supervisor.Update
	block   chan struct{} // when not nil, each send waits for it
}

func (w *watcher) send(u supervisor.Update) {
	if w.block != nil {
		<-w.block
	}
	w.mu.Lock()
	w.updates = append(w.updates, u)
	w.mu.Unlock()
}

func (w *watcher) take() []supervisor.Update {
	synctest.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.updates
	w.updates = nil
	return out
}

func TestMemTable_Watch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		table, err := supervisor.NewMemTable(map[string]string{"a": "1"})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		w := &watcher{}
		done := make(chan error)
		go func() { done <- table.Watch(ctx, w.send) }()
		require.Equal(t, []supervisor.Update{{Reset: true, Changes: []supervisor.Change{{Key: "a", Value: "1"}}}}, w.take())

		require.NoError(t, table.Set("b", "2"))
		require.NoError(t, table.Set("b", "2"))
		require.False(t, table.Delete("zz"))
		got := w.take()
		require.NoError(t, table.Set("a", "3"))
		require.True(t, table.Delete("b"))
		got = append(got, w.take()...)
		var changes []supervisor.Change
		for _, u := range got {
			require.False(t, u.Reset)
			changes = append(changes, u.Changes...)
		}
		require.Equal(t, []supervisor.Change{{Key: "b", Value: "2"}, {Key: "a", Value: "3"}, {Key: "b", Deleted: true}}, changes)
		require.Equal(t, 1, table.Len())
		v, ok := table.Get("a")
		require.True(t, ok)
		require.Equal(t, "3", v)
		cancel()
		require.NoError(t, <-done)
	})
}

// A watcher that falls behind more changes than the table keeps gets the
// full contents again.
func TestMemTable_LaggingWatcherGetsReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		table := &supervisor.MemTable{}
		ctx, cancel := context.WithCancel(t.Context())
		w := &watcher{block: make(chan struct{})}
		done := make(chan error)
		go func() { done <- table.Watch(ctx, w.send) }()
		synctest.Wait() // the watcher holds the empty Reset, blocked in send
		for i := range 10000 {
			require.NoError(t, table.Set("k", string(rune('a'+i%26))))
		}
		require.NoError(t, table.Set("last", "1"))
		close(w.block)
		got := w.take()
		require.Len(t, got, 2)
		require.True(t, got[1].Reset)
		require.ElementsMatch(t, []supervisor.Change{{Key: "k", Value: string(rune('a' + 9999%26))}, {Key: "last", Value: "1"}},
			got[1].Changes)
		cancel()
		require.NoError(t, <-done)
	})
}
