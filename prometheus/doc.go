// Package prometheus exports a supervision tree's state and events as
// Prometheus metrics, with github.com/prometheus/client_golang. It is a
// module of its own, so that the core module stays standard library only.
// Import it under another name, since client_golang's package is also
// called prometheus:
//
//	import arborprom "github.com/arbor-go/supervisor/prometheus"
//
//	m := arborprom.New()
//	pool, _ := supervisor.New(supervisor.WithName("workers"),
//		supervisor.WithStrategy(supervisor.SimpleOneForOne),
//		supervisor.WithHook(m.PoolHook("")))     // child label: "workers"
//	root, _ := supervisor.New(supervisor.WithName("app"),
//		supervisor.WithHook(m.Hook()), supervisor.WithChildren(pool.Spec(), ...))
//	m.Watch(root)                               // gauges for root and its subtrees
//	prometheus.MustRegister(m)
//
// # Metrics
//
// From snapshots of the watched trees, taken at each scrape (the collector):
//
//	arbor_children{tree,state}      gauge: children in each state (all five states, zeros included)
//	arbor_tree_up{tree}             gauge: 1 while the tree runs, else 0 (also when its loop does not answer)
//
// From events (the hooks):
//
//	arbor_child_restarts_total{tree,child}           automatic restarts (ChildInfo.Restarts going up)
//	arbor_child_exits_total{tree,child,reason}       reason: normal, error, panic, watchdog, shutdown, start_failed
//	arbor_tree_give_ups_total{tree}                  restart intensity exceeded
//	arbor_shutdown_timeouts_total{tree,child}        children abandoned after their Shutdown
//	arbor_events_dropped_total{tree}                 events the tree dropped because a hook was slow
//	arbor_child_start_seconds{tree,child}            histogram: from start to Ready, for WaitReady children
//
// The tree label is the tree's name (WithName). Trees of the same name are
// added together.
//
// # Label cardinality
//
// Children of a SimpleOneForOne tree are many and often have generated
// names, so they are never a child label: their child label is the pool's
// name, which is the tree's name unless PoolHook is given another. A tree is
// known to be a pool either because its hook was made with PoolHook, or
// because Watch (or a scrape) saw it in a snapshot with the SimpleOneForOne
// strategy; a pool that is not below a watched root (run with its own Run
// function rather than Tree.Spec) must use PoolHook. arbor_children and
// arbor_tree_up have no child label at all.
//
// The hooks keep a little state per child: the start time of a running
// child until it calls Ready or exits (events do not say whether a child is
// WaitReady, so children without WaitReady keep theirs until they exit: one
// small map entry each), and the restart count of a child that has
// restarted, dropped when a pool's child exits for good and when a tree
// stops. A tree whose loop does not answer a scrape reports arbor_tree_up 0
// and no arbor_children series for that scrape.
package prometheus
