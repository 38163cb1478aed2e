// metrics.go: Metrics, its options, and the collector side: gauges built
// from snapshots at scrape time.

package prometheus

import (
	"context"
	"sync"
	"time"

	"github.com/arbor-go/supervisor"
	prom "github.com/prometheus/client_golang/prometheus"
)

// DefaultTimeout bounds the wait for a tree's loop during a scrape.
const DefaultTimeout = time.Second

// Metrics is a prometheus.Collector for arbor's metrics and the source of the
// hooks that feed its counters. Create it with New; it is safe for
// concurrent use.
type Metrics struct {
	timeout time.Duration

	mu    sync.Mutex
	roots []*supervisor.Tree
	pools map[string]string // tree name -> child label for its children
	hooks hookState

	restarts, exits, shutdownTimeouts *prom.CounterVec
	giveUps, dropped                  *prom.CounterVec
	startSeconds                      *prom.HistogramVec
	childrenDesc, upDesc              *prom.Desc
}

// Option configures Metrics.
type Option func(*options)

type options struct {
	timeout time.Duration
	buckets []float64
}

// WithTimeout bounds how long a scrape waits for a tree's loop (default
// DefaultTimeout). A tree that does not answer reports arbor_tree_up 0.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithStartBuckets sets the buckets of arbor_child_start_seconds (default
// prometheus.DefBuckets).
func WithStartBuckets(b ...float64) Option {
	return func(o *options) { o.buckets = b }
}

// New creates the metrics. Register the result with a prometheus.Registerer,
// give its hooks to the trees (Hook, PoolHook) and its root to Watch.
func New(opts ...Option) *Metrics {
	o := options{timeout: DefaultTimeout, buckets: prom.DefBuckets}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	m := &Metrics{timeout: o.timeout, pools: map[string]string{}}
	m.hooks.init()
	counter := func(name, help string, labels ...string) *prom.CounterVec {
		return prom.NewCounterVec(prom.CounterOpts{Name: name, Help: help}, labels)
	}
	m.restarts = counter("arbor_child_restarts_total", "Automatic restarts of a child.", "tree", "child")
	m.exits = counter("arbor_child_exits_total", "Exits of a child by reason (normal, error, panic, watchdog, shutdown, start_failed).", "tree", "child", "reason")
	m.giveUps = counter("arbor_tree_give_ups_total", "Times a tree exceeded its restart intensity and gave up.", "tree")
	m.shutdownTimeouts = counter("arbor_shutdown_timeouts_total", "Children abandoned because they did not stop within their Shutdown.", "tree", "child")
	m.dropped = counter("arbor_events_dropped_total", "Events a tree dropped because its hooks were too slow.", "tree")
	m.startSeconds = prom.NewHistogramVec(prom.HistogramOpts{Name: "arbor_child_start_seconds",
		Help: "Time from a WaitReady child's start to its Ready call.", Buckets: o.buckets}, []string{"tree", "child"})
	m.childrenDesc = prom.NewDesc("arbor_children", "Children of a tree by state.", []string{"tree", "state"}, nil)
	m.upDesc = prom.NewDesc("arbor_tree_up", "1 while the tree runs, else 0.", []string{"tree"}, nil)
	return m
}

// Watch adds a root tree to the collector: each scrape reports the gauges of
// t and of every subtree below it (children made with Tree.Spec). It also
// learns which of them are SimpleOneForOne pools (see the package
// documentation). A nil t is ignored.
func (m *Metrics) Watch(t *supervisor.Tree) {
	if t == nil {
		return
	}
	m.mu.Lock()
	m.roots = append(m.roots, t)
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
	defer cancel()
	s, _ := t.Snapshot(ctx)
	m.learnPools(&s)
}

// learnPools records the SimpleOneForOne trees in s.
func (m *Metrics) learnPools(s *supervisor.TreeSnapshot) {
	var names []string
	walkTrees(s, func(t *supervisor.TreeSnapshot) {
		if t.Strategy == supervisor.SimpleOneForOne {
			names = append(names, t.Name)
		}
	})
	if len(names) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range names {
		if _, ok := m.pools[n]; !ok {
			m.pools[n] = n
		}
	}
}

func walkTrees(s *supervisor.TreeSnapshot, f func(*supervisor.TreeSnapshot)) {
	if s.State == supervisor.TreeStateUnresponsive {
		return
	}
	f(s)
	for i := range s.Children {
		if t := s.Children[i].Tree; t != nil {
			walkTrees(t, f)
		}
	}
}

// Describe sends the descriptors of every metric.
func (m *Metrics) Describe(ch chan<- *prom.Desc) {
	ch <- m.childrenDesc
	ch <- m.upDesc
	for _, c := range []prom.Collector{m.restarts, m.exits, m.giveUps, m.shutdownTimeouts, m.dropped, m.startSeconds} {
		c.Describe(ch)
	}
}

// treeGauges is what one scrape gathers for one tree name.
type treeGauges struct {
	up    bool
	count [5]int // by supervisor.ChildState
}

// Collect snapshots every watched root and sends the gauges, then the
// counters and the histogram.
func (m *Metrics) Collect(ch chan<- prom.Metric) {
	m.mu.Lock()
	roots := append([]*supervisor.Tree(nil), m.roots...)
	m.mu.Unlock()
	gauges := map[string]*treeGauges{}
	var order []string
	for _, r := range roots {
		ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
		s, _ := r.Snapshot(ctx)
		cancel()
		m.learnPools(&s)
		gather(&s, gauges, &order)
	}
	for _, name := range order {
		g := gauges[name]
		up := 0.0
		if g.up {
			up = 1
		}
		ch <- prom.MustNewConstMetric(m.upDesc, prom.GaugeValue, up, name)
		for st, n := range g.count {
			ch <- prom.MustNewConstMetric(m.childrenDesc, prom.GaugeValue, float64(n), name, supervisor.ChildState(st).String())
		}
	}
	for _, c := range []prom.Collector{m.restarts, m.exits, m.giveUps, m.shutdownTimeouts, m.dropped, m.startSeconds} {
		c.Collect(ch)
	}
}

// gather adds s and its subtrees to gauges. Trees of the same name add up;
// such a name is up only if all of them run.
func gather(s *supervisor.TreeSnapshot, gauges map[string]*treeGauges, order *[]string) {
	g := gauges[s.Name]
	if g == nil {
		g = &treeGauges{up: true}
		gauges[s.Name] = g
		*order = append(*order, s.Name)
	}
	g.up = g.up && s.State == supervisor.TreeStateRunning
	if s.State == supervisor.TreeStateUnresponsive {
		return
	}
	for i := range s.Children {
		c := &s.Children[i]
		if int(c.State) < len(g.count) {
			g.count[c.State]++
		}
		if c.Tree != nil {
			gather(c.Tree, gauges, order)
		}
	}
}
