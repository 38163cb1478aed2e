// rendezvous_test.go: tests of rendezvous.go: the spread is even and a
// membership change moves only about 1/N of the keys.

package etcd

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRendezvous(t *testing.T) {
	require.Equal(t, "", owner("k", nil))
	three := []string{"a", "b", "c"}
	four := []string{"a", "b", "c", "d"}
	count := map[string]int{}
	moved := 0
	const n = 30000
	for i := range n {
		k := fmt.Sprintf("key-%d", i)
		o3, o4 := owner(k, three), owner(k, four)
		count[o3]++
		if o3 != o4 {
			moved++
			require.Equal(t, "d", o4, "a key only moves to the new member")
		}
		require.Equal(t, o3, owner(k, []string{"c", "a", "b"}), "order of members does not matter")
	}
	for _, m := range three {
		require.InDelta(t, n/3, count[m], n/30, "member %s", m)
	}
	require.InDelta(t, n/4, moved, n/40)
}
