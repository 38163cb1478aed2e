package supervisor

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A snapshot of the root walks into subtrees made with Tree.Spec and reports
// states, restarts, errors, pids and timestamps; it encodes to JSON with the
// documented field names.
func TestSnapshotWholeTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		inner := mustNew(t, WithName("inner"), WithStrategy(OneForAll),
			WithChildren(h.spec("w", Permanent), Spec{Name: "p", Run: func(ctx context.Context) error {
				ReportPID(ctx, 4242)
				<-ctx.Done()
				return nil
			}}))
		root := mustNew(t, WithName("root"), WithIntensity(5, time.Minute),
			WithChildren(h.spec("a", Permanent), inner.Spec()))
		s, err := root.Snapshot(context.Background())
		require.NoError(t, err)
		require.Equal(t, TreeStateStopped, s.State)
		require.Empty(t, s.Children[1].Tree.Children[0].Err)
		require.Equal(t, Counts{Specs: 2, Supervisors: 1}, s.Counts)

		r := start(t, root)
		time.Sleep(time.Second)
		h.exit("a", errBoom)
		s, err = root.Snapshot(context.Background())
		require.NoError(t, err)
		require.Equal(t, TreeStateRunning, s.State)
		require.Equal(t, 1, s.Restarts)
		require.Equal(t, 5, s.MaxRestarts)
		require.Equal(t, Counts{Specs: 2, Active: 2, Supervisors: 1}, s.Counts)
		a := s.Children[0]
		require.Equal(t, Running, a.State)
		require.Equal(t, 1, a.Restarts)
		require.Contains(t, a.Err, "boom")
		require.False(t, a.Started.IsZero())
		require.Equal(t, s.Since.Add(time.Second), a.Started)
		sub := s.Children[1].Tree
		require.NotNil(t, sub)
		require.Equal(t, "inner", sub.Name)
		require.Equal(t, TreeStateRunning, sub.State)
		require.Equal(t, 4242, sub.Children[1].PID)

		info, err := inner.Child("p")
		require.NoError(t, err)
		require.Equal(t, 4242, info.PID)
		_, err = inner.Child("nope")
		require.ErrorIs(t, err, ErrUnknownChild)

		b, err := json.Marshal(s)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		require.Equal(t, "running", m["state"])
		require.Equal(t, map[string]any{"specs": 2.0, "active": 2.0, "supervisors": 1.0, "workers": 1.0}, m["counts"])
		require.Equal(t, "one_for_one", m["strategy"])
		kid := m["children"].([]any)[1].(map[string]any)
		require.Equal(t, "inner", kid["tree"].(map[string]any)["name"])
		var back TreeSnapshot
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, s.Children[1].Tree.Strategy, back.Children[1].Tree.Strategy)

		require.NoError(t, r.stop())
		s, _ = root.Snapshot(context.Background())
		require.Equal(t, TreeStateStopped, s.State)
	})
}

// A tree that gave up says so in its snapshot after Run returned.
func TestSnapshotGaveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		tr := mustNew(t, WithIntensity(0, time.Second), WithChildren(h.spec("a", Permanent)))
		r := start(t, tr)
		h.exit("a", errBoom)
		err, ok := r.done()
		require.True(t, ok)
		require.ErrorIs(t, err, ErrTooManyRestarts)
		s, _ := tr.Snapshot(context.Background())
		require.Equal(t, TreeStateGaveUp, s.State)
		require.Contains(t, s.Err, "too many restarts")
	})
}

// A snapshot tells when a child last exited, and how many events the hooks
// missed.
func TestSnapshotExitedAndDroppedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		h := newHarness(t)
		tr := mustNew(t, WithIntensity(10000, time.Hour), WithHook(func(Event) { <-block }),
			WithChildren(h.spec("a", Permanent)))
		r := start(t, tr)
		time.Sleep(time.Minute)
		for i := 0; i < 2*observerBuffer; i++ {
			h.exit("a", errBoom)
		}
		s, err := tr.Snapshot(context.Background())
		require.NoError(t, err)
		assert.Greater(t, s.EventsDropped, int64(0))
		assert.Equal(t, s.Since.Add(time.Minute), s.Children[0].Exited)
		close(block)
		require.NoError(t, r.stop())
	})
}

// ReportDetail puts what a child describes of itself into its snapshot,
// computed off the loop; a panicking description is reported, not raised.
func TestSnapshotDetail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		tr := mustNew(t, WithChildren(
			Spec{Name: "pool", Run: func(ctx context.Context) error {
				ReportDetail(ctx, func() any { calls++; return map[string]int{"busy": 2} })
				<-ctx.Done()
				return nil
			}},
			Spec{Name: "bad", Run: func(ctx context.Context) error {
				ReportDetail(ctx, func() any { panic("oops") })
				<-ctx.Done()
				return nil
			}},
		))
		r := start(t, tr)
		s, err := tr.Snapshot(context.Background())
		require.NoError(t, err)
		assert.Equal(t, map[string]int{"busy": 2}, s.Children[0].Detail)
		assert.Contains(t, s.Children[1].Detail, "panicked: oops")
		assert.Equal(t, 1, calls)
		require.NoError(t, r.stop())
		s, _ = tr.Snapshot(context.Background())
		assert.Nil(t, s.Children[0].Detail, "no detail once stopped")
	})
}
