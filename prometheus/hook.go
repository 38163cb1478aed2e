// hook.go: the hooks that turn a tree's events into counters and the start
// histogram.

package prometheus

import (
	"errors"
	"time"

	"github.com/arbor-go/supervisor"
)

// hookState is what the hooks remember between events. Guarded by Metrics.mu.
type hookState struct {
	restarts map[string]map[string]int       // tree -> child -> last Restarts seen (> 0 only)
	starting map[string]map[string]time.Time // tree -> child -> start of a child not yet ready
}

func (h *hookState) init() {
	h.restarts = map[string]map[string]int{}
	h.starting = map[string]map[string]time.Time{}
}

// Hook returns a hook for a tree (supervisor.WithHook). Its children are
// labelled by name, unless the tree is known to be a SimpleOneForOne pool
// (see the package documentation).
func (m *Metrics) Hook() func(supervisor.Event) {
	return func(e supervisor.Event) { m.observe(e, "", false) }
}

// PoolHook returns the hook for a SimpleOneForOne tree: every child is
// labelled pool, or the tree's name when pool is empty, so that generated
// child names never become label values.
func (m *Metrics) PoolHook(pool string) func(supervisor.Event) {
	return func(e supervisor.Event) { m.observe(e, pool, true) }
}

// label returns the child label for e. m.mu is held.
func (m *Metrics) label(e *supervisor.Event, pool string, isPool bool) (string, bool) {
	if isPool {
		if pool == "" {
			pool = e.Tree
		}
		return pool, true
	}
	if p, ok := m.pools[e.Tree]; ok {
		return p, true
	}
	return e.Child, false
}

func (m *Metrics) observe(e supervisor.Event, pool string, isPool bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.Dropped > 0 {
		m.dropped.WithLabelValues(e.Tree).Add(float64(e.Dropped))
	}
	child, inPool := m.label(&e, pool, isPool)
	switch e.Kind {
	case supervisor.TreeStarted:
		// Make the tree's series exist from the start, at zero.
		m.dropped.WithLabelValues(e.Tree)
		m.giveUps.WithLabelValues(e.Tree)
	case supervisor.TreeStopped:
		delete(m.hooks.restarts, e.Tree)
		delete(m.hooks.starting, e.Tree)
	case supervisor.ChildStarted:
		m.started(&e, child)
	case supervisor.ChildReady:
		if t0, ok := m.hooks.starting[e.Tree][e.Child]; ok {
			delete(m.hooks.starting[e.Tree], e.Child)
			m.startSeconds.WithLabelValues(e.Tree, child).Observe(max(e.Time.Sub(t0), 0).Seconds())
		}
	case supervisor.ChildExited:
		delete(m.hooks.starting[e.Tree], e.Child)
		if inPool && !e.WillRestart && !e.Shutdown {
			delete(m.hooks.restarts[e.Tree], e.Child) // gone for good
		}
		m.exits.WithLabelValues(e.Tree, child, Reason(e)).Inc()
	case supervisor.GaveUp:
		m.giveUps.WithLabelValues(e.Tree).Inc()
	case supervisor.ShutdownTimeout:
		m.shutdownTimeouts.WithLabelValues(e.Tree, child).Inc()
	}
}

// started counts the restarts that ChildStarted reveals and notes the start
// time for the histogram.
func (m *Metrics) started(e *supervisor.Event, child string) {
	if m.hooks.starting[e.Tree] == nil {
		m.hooks.starting[e.Tree] = map[string]time.Time{}
	}
	m.hooks.starting[e.Tree][e.Child] = e.Time
	byChild := m.hooks.restarts[e.Tree]
	last := byChild[e.Child]
	if e.Restarts > last {
		m.restarts.WithLabelValues(e.Tree, child).Add(float64(e.Restarts - last))
	} else {
		m.restarts.WithLabelValues(e.Tree, child) // the series exists from the first start
	}
	switch {
	case e.Restarts == 0:
		delete(byChild, e.Child)
	case e.Restarts != last:
		if byChild == nil {
			byChild = map[string]int{}
			m.hooks.restarts[e.Tree] = byChild
		}
		byChild[e.Child] = e.Restarts
	}
}

// Reason classifies a ChildExited event as arbor_child_exits_total's reason
// label: shutdown (the tree stopped it), watchdog, start_failed, panic, error
// or normal.
func Reason(e supervisor.Event) string {
	var pe *supervisor.PanicError
	switch {
	case e.Shutdown:
		return "shutdown"
	case errors.Is(e.Err, supervisor.ErrWatchdogTimeout):
		return "watchdog"
	case errors.Is(e.Err, supervisor.ErrStartFailed):
		return "start_failed"
	case errors.As(e.Err, &pe):
		return "panic"
	case e.Err != nil:
		return "error"
	}
	return "normal"
}
