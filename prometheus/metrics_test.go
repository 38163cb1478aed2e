package prometheus_test

import (
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	arborprom "github.com/arbor-go/supervisor/prometheus"
	"github.com/stretchr/testify/require"
)

// The gauges follow the trees through never run, running and stopped;
// subtrees are reported under their own names, and two trees of one name
// add up.
func TestCollectorGauges(t *testing.T) {
	m := arborprom.New(arborprom.WithTimeout(time.Second))
	twinA := mustNew(t, supervisor.WithName("twin"), supervisor.WithChildren(supervisor.Spec{Name: "a", Run: block}))
	twinB := mustNew(t, supervisor.WithName("twin"), supervisor.WithChildren(supervisor.Spec{Name: "b", Run: block}))
	pool := mustNew(t, supervisor.WithName("pool"), supervisor.WithStrategy(supervisor.SimpleOneForOne))
	mid := mustNew(t, supervisor.WithName("mid"), supervisor.WithChildren(twinB.Spec()))
	root := mustNew(t, supervisor.WithName("root"), supervisor.WithChildren(twinA.Spec(), mid.Spec(), pool.Spec(),
		supervisor.Spec{Name: "w", Run: block}))
	m.Watch(root)
	m.Watch(nil)
	s := newScraper(t, m)

	fams := s.scrape()
	for _, c := range []struct {
		tree  string
		state string
		n     float64
	}{{"root", "stopped", 4}, {"twin", "stopped", 2}, {"pool", "stopped", 0}, {"root", "running", 0}} {
		v, ok := value(fams, "arbor_children", "tree", c.tree, "state", c.state)
		require.True(t, ok, c)
		require.Equal(t, c.n, v, c)
	}
	for _, tree := range []string{"root", "twin", "pool"} {
		v, ok := value(fams, "arbor_tree_up", "tree", tree)
		require.True(t, ok)
		require.Zero(t, v, tree)
	}
	require.Len(t, fams["arbor_children"].Metric, 20) // 4 trees × 5 states

	stop := startTree(t, root)
	for range 5 {
		_, err := pool.Add(supervisor.Spec{Run: block})
		require.NoError(t, err)
	}
	fams = s.scrape()
	for _, c := range []struct {
		tree string
		n    float64
	}{{"root", 4}, {"twin", 2}, {"pool", 5}} {
		v, _ := value(fams, "arbor_children", "tree", c.tree, "state", "running")
		require.Equal(t, c.n, v, c)
		v, _ = value(fams, "arbor_tree_up", "tree", c.tree)
		require.Equal(t, 1.0, v, c)
	}

	require.NoError(t, stop())
	fams = s.scrape()
	v, _ := value(fams, "arbor_tree_up", "tree", "root")
	require.Zero(t, v)
	v, _ = value(fams, "arbor_children", "tree", "pool", "state", "running")
	require.Zero(t, v) // a pool's children are gone once it stops
}

// Without any watched tree the collector still registers and exposes
// nothing but the event metrics that exist.
func TestCollectorEmpty(t *testing.T) {
	s := newScraper(t, arborprom.New())
	fams := s.scrape()
	require.Nil(t, fams["arbor_children"])
	require.Empty(t, labelValues(fams, "arbor_tree_up", "tree"))
}
