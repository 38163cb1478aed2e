package supervisor

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStrategyOrders(t *testing.T) {
	cases := []struct {
		strategy Strategy
		want     []string
	}{
		{OneForOne, []string{"exit b", "start b"}},
		{OneForAll, []string{"exit b", "stop c", "stop a", "start a", "start b", "start c"}},
		{RestForOne, []string{"exit b", "stop c", "start b", "start c"}},
	}
	for _, tc := range cases {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				r := start(t, mustNew(t, WithStrategy(tc.strategy), threeChildren(h, Permanent)))
				h.take()
				h.exit("b", errBoom)
				assert.Equal(t, tc.want, h.take())
				for _, c := range r.tree.Children() {
					assert.Equal(t, Running, c.State, c.Name)
				}
				require.NoError(t, r.stop())
			})
		})
	}
}
