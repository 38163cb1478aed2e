package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	arborprom "github.com/arbor-go/supervisor/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// block runs until cancelled.
func block(ctx context.Context) error { <-ctx.Done(); return nil }

// failOnce returns a Run that fails (or panics) on its first call only.
func failOnce(panics bool) func(context.Context) error {
	var n atomic.Int32
	return func(ctx context.Context) error {
		if n.Add(1) == 1 {
			if panics {
				panic("kaboom")
			}
			return errors.New("first run fails")
		}
		return block(ctx)
	}
}

// fixture is a nested tree with two pools whose children fail in every way.
type fixture struct {
	root, workers, jobs *supervisor.Tree
	release             chan struct{} // lets "stubborn" return, after it was abandoned
}

func newFixture(t *testing.T, m *arborprom.Metrics) *fixture {
	var watchedRuns atomic.Int32
	f := &fixture{release: make(chan struct{})}
	db := mustNew(t, supervisor.WithName("db"), supervisor.WithHook(m.Hook()), supervisor.WithChildren(
		supervisor.Spec{Name: "conn", Run: block},
		supervisor.Spec{Name: "stubborn", Shutdown: 20 * time.Millisecond, Run: func(ctx context.Context) error {
			<-f.release // ignores its context
			return nil
		}}))
	f.workers = mustNew(t, supervisor.WithName("workers"), supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithIntensity(100, time.Minute), supervisor.WithHook(m.PoolHook("")))
	f.jobs = mustNew(t, supervisor.WithName("jobs"), supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithIntensity(100, time.Minute), supervisor.WithHook(m.Hook())) // a pool found by Watch
	f.root = mustNew(t, supervisor.WithName("app"), supervisor.WithIntensity(100, time.Minute), supervisor.WithHook(m.Hook()),
		supervisor.WithChildren(db.Spec(), f.workers.Spec(), f.jobs.Spec(),
			supervisor.Spec{Name: "flaky", Run: failOnce(false)},
			supervisor.Spec{Name: "panicky", Run: failOnce(true)},
			supervisor.Spec{Name: "watched", Watchdog: 200 * time.Millisecond, Run: func(ctx context.Context) error {
				if watchedRuns.Add(1) == 1 {
					return block(ctx) // never beats: the watchdog stops it
				}
				return beat(ctx, 10*time.Millisecond)
			}},
			supervisor.Spec{Name: "slow", WaitReady: true, Run: func(ctx context.Context) error {
				time.Sleep(30 * time.Millisecond)
				supervisor.Ready(ctx)
				return block(ctx)
			}}))
	return f
}

// beat heartbeats every d until cancelled.
func beat(ctx context.Context, d time.Duration) error {
	tk := time.NewTicker(d)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
			supervisor.Heartbeat(ctx)
		}
	}
}

// fill adds ten children to each pool, three of which fail once; the pool
// "workers" gets generated names.
func (f *fixture) fill(t *testing.T) {
	for i := range 10 {
		run, run2 := block, block
		if i < 3 {
			run, run2 = failOnce(false), failOnce(false)
		}
		_, err := f.workers.Add(supervisor.Spec{Run: run})
		require.NoError(t, err)
		_, err = f.jobs.Add(supervisor.Spec{Name: fmt.Sprintf("job-%d", i), Run: run2})
		require.NoError(t, err)
	}
}

// Every counter and the histogram, fed by events of a nested tree with two
// pools, scraped from a real registry.
func TestHookCountersAndHistogram(t *testing.T) {
	m := arborprom.New(arborprom.WithStartBuckets(0.01, 0.1, 1))
	f := newFixture(t, m)
	root, release := f.root, f.release
	m.Watch(root)
	s := newScraper(t, m)
	stop := startTree(t, root)

	f.fill(t)
	_, err := root.Add(supervisor.Spec{Name: "bad", WaitReady: true, Run: func(context.Context) error { return errors.New("no config") }})
	require.ErrorIs(t, err, supervisor.ErrStartFailed)

	fams := s.eventually("restarts and exits counted", func(f map[string]*dto.MetricFamily) bool {
		return is("arbor_child_restarts_total", 1, "tree", "app", "child", "watched")(f) &&
			is("arbor_child_restarts_total", 3, "tree", "workers", "child", "workers")(f) &&
			is("arbor_child_restarts_total", 3, "tree", "jobs", "child", "jobs")(f) &&
			is("arbor_child_exits_total", 1, "tree", "app", "child", "bad", "reason", "start_failed")(f)
	})
	for _, c := range []struct {
		child, reason string
	}{{"flaky", "error"}, {"panicky", "panic"}, {"watched", "watchdog"}} {
		v, _ := value(fams, "arbor_child_exits_total", "tree", "app", "child", c.child, "reason", c.reason)
		require.Equal(t, 1.0, v, c)
		v, _ = value(fams, "arbor_child_restarts_total", "tree", "app", "child", c.child)
		require.Equal(t, 1.0, v, c)
	}
	v, _ := value(fams, "arbor_child_restarts_total", "tree", "app", "child", "slow")
	require.Zero(t, v)
	v, _ = value(fams, "arbor_child_exits_total", "tree", "workers", "child", "workers", "reason", "error")
	require.Equal(t, 3.0, v)
	// No generated or per-job name ever becomes a label value.
	require.Equal(t, []string{"bad", "conn", "db", "flaky", "jobs", "panicky", "slow", "stubborn", "watched", "workers"},
		labelValues(fams, "arbor_child_restarts_total", "child"))
	for _, name := range []string{"arbor_child_restarts_total", "arbor_child_exits_total", "arbor_child_start_seconds"} {
		for _, l := range labelValues(fams, name, "child") {
			require.NotContains(t, l, "job-", name)
			require.NotContains(t, l, "workers-", name)
		}
	}
	// The histogram: one start of "slow", at least 30ms long.
	h := histogram(fams, "arbor_child_start_seconds", "app", "slow")
	require.NotNil(t, h)
	require.Equal(t, uint64(1), h.GetSampleCount())
	require.GreaterOrEqual(t, h.GetSampleSum(), 0.03)
	require.Equal(t, uint64(0), h.Bucket[0].GetCumulativeCount()) // not under 10ms
	v, _ = value(fams, "arbor_tree_give_ups_total", "tree", "app")
	require.Zero(t, v)

	// Stopping abandons "stubborn": a shutdown timeout; everyone else exits by shutdown.
	require.NoError(t, stop())
	close(release)
	fams = s.eventually("shutdown timeout counted", is("arbor_shutdown_timeouts_total", 1, "tree", "db", "child", "stubborn"))
	v, _ = value(fams, "arbor_child_exits_total", "tree", "db", "child", "conn", "reason", "shutdown")
	require.Equal(t, 1.0, v)
}

func histogram(fams map[string]*dto.MetricFamily, name, tree, child string) *dto.Histogram {
	for _, m := range fams[name].GetMetric() {
		l := map[string]string{}
		for _, p := range m.Label {
			l[p.GetName()] = p.GetValue()
		}
		if l["tree"] == tree && l["child"] == child {
			return m.Histogram
		}
	}
	return nil
}

// A give-up and a normal exit are counted; the dropped-events series exists at zero.
func TestHookGiveUpAndNormalExit(t *testing.T) {
	m := arborprom.New()
	s := newScraper(t, m)
	done := make(chan struct{})
	tr := mustNew(t, supervisor.WithName("fragile"), supervisor.WithIntensity(0, time.Minute), supervisor.WithHook(m.Hook()),
		supervisor.WithChildren(
			supervisor.Spec{Name: "once", Restart: supervisor.Transient, Run: func(context.Context) error { return nil }},
			supervisor.Spec{Name: "dies", Run: func(ctx context.Context) error {
				<-done
				return errors.New("fatal")
			}}))
	errc := tr.Start(context.Background())
	s.eventually("normal exit", is("arbor_child_exits_total", 1, "tree", "fragile", "child", "once", "reason", "normal"))
	close(done)
	require.ErrorIs(t, <-errc, supervisor.ErrTooManyRestarts)
	s.eventually("give-up counted", is("arbor_tree_give_ups_total", 1, "tree", "fragile"))
	fams := s.scrape()
	v, _ := value(fams, "arbor_child_exits_total", "tree", "fragile", "child", "dies", "reason", "error")
	require.Equal(t, 1.0, v)
	v, ok := value(fams, "arbor_events_dropped_total", "tree", "fragile")
	require.True(t, ok)
	require.Zero(t, v)
}

// A hook that blocks makes the tree drop events; the next event delivered
// reports how many, and the counter adds them up.
func TestHookCountsDroppedEvents(t *testing.T) {
	m := arborprom.New()
	s := newScraper(t, m)
	gate := make(chan struct{})
	var first atomic.Bool
	pool := mustNew(t, supervisor.WithName("noisy"), supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithHook(func(supervisor.Event) {
			if first.CompareAndSwap(false, true) {
				<-gate
			}
		}), supervisor.WithHook(m.PoolHook("")))
	startTree(t, pool)
	for range 700 { // 1400 events: more than the tree's buffer
		name, err := pool.Add(supervisor.Spec{Run: block})
		require.NoError(t, err)
		require.NoError(t, pool.Terminate(name))
	}
	close(gate)
	// Drops are reported with the next event that finds room in the
	// buffer: keep the tree busy until one does.
	s.eventually("dropped events counted", func(f map[string]*dto.MetricFamily) bool {
		v, _ := value(f, "arbor_events_dropped_total", "tree", "noisy")
		_, err := pool.Add(supervisor.Spec{Run: block})
		require.NoError(t, err)
		return v > 0
	})
	require.Equal(t, []string{"noisy"}, labelValues(s.scrape(), "arbor_child_exits_total", "child"))
}

// Reason maps every kind of exit to its label.
func TestReason(t *testing.T) {
	for _, c := range []struct {
		e    supervisor.Event
		want string
	}{
		{supervisor.Event{Kind: supervisor.ChildExited}, "normal"},
		{supervisor.Event{Kind: supervisor.ChildExited, Err: errors.New("x")}, "error"},
		{supervisor.Event{Kind: supervisor.ChildExited, Err: &supervisor.PanicError{Child: "c", Value: 1}}, "panic"},
		{supervisor.Event{Kind: supervisor.ChildExited, Err: fmt.Errorf("w: %w", supervisor.ErrWatchdogTimeout)}, "watchdog"},
		{supervisor.Event{Kind: supervisor.ChildExited, Err: fmt.Errorf("w: %w", supervisor.ErrStartFailed)}, "start_failed"},
		{supervisor.Event{Kind: supervisor.ChildExited, Err: errors.New("x"), Shutdown: true}, "shutdown"},
	} {
		require.Equal(t, c.want, arborprom.Reason(c.e))
	}
}
