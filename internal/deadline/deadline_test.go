package deadline

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHeapOrdersAndRemoves(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Heap[int]
	entries := make([]*Entry[int], 200)
	for i := range entries {
		entries[i] = &Entry[int]{At: time.Duration(r.IntN(1000))}
		h.Push(entries[i])
	}
	require.Equal(t, 200, h.Len())
	// Remove every third entry, move every fifth.
	var want []time.Duration
	for i, e := range entries {
		switch {
		case i%3 == 0:
			h.Remove(e)
			require.False(t, e.Queued())
			h.Remove(e) // twice is a no-op
		case i%5 == 0:
			e.At = time.Duration(r.IntN(1000))
			h.Push(e)
			want = append(want, e.At)
		default:
			want = append(want, e.At)
		}
	}
	slices.Sort(want)
	var got []time.Duration
	for h.Len() > 0 {
		got = append(got, h.Pop().At)
	}
	require.Equal(t, want, got)
	require.Nil(t, h.Pop())
	require.Nil(t, h.Peek())
}
