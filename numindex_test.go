package supervisor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkNumIndex compares x with the model and checks its invariants: the
// window counts its children, slots outside it are nil, far holds only
// numbers below the base.
func checkNumIndex(t *testing.T, x *numIndex, model map[int64]*child) {
	t.Helper()
	if x.off < 0 || x.off >= pageSize && len(x.pages) > 0 || x.off+x.n > len(x.pages)*pageSize {
		t.Fatalf("window [%d, %d) does not fit %d pages", x.off, x.off+x.n, len(x.pages))
	}
	live := 0
	for pi, p := range x.pages {
		for j, c := range p {
			i := pi*pageSize + j - x.off // index in the window
			k := x.base + int64(i)
			switch inWindow := i >= 0 && i < x.n; {
			case !inWindow && c != nil:
				t.Fatalf("slot %d outside the window [0, %d) holds a child", i, x.n)
			case c != nil && model[k] != c:
				t.Fatalf("window: number %d holds the wrong child", k)
			case c != nil:
				live++
			}
		}
	}
	if x.spare != nil && *x.spare != (page{}) {
		t.Fatalf("the spare page holds children")
	}
	if live != x.live {
		t.Fatalf("window holds %d children, counts %d", live, x.live)
	}
	for k := range x.far {
		if k >= x.base {
			t.Fatalf("far holds %d, not below the base %d", k, x.base)
		}
	}
	if len(model) != x.len() {
		t.Fatalf("index holds %d children, model %d", x.len(), len(model))
	}
	for k, c := range model {
		if x.get(k) != c {
			t.Fatalf("number %d: wrong child", k)
		}
	}
}

// FuzzNumIndex drives a numIndex with a sequence of operations and
// compares it with a map after each. Each byte is an operation: its low
// two bits pick put the next number, put a number given out of order,
// remove a child picked by the high bits, or remove the oldest or newest.
//
// Recorded runs (go test -run XXX -fuzz '^FuzzNumIndex$', 2 vCPU, Go
// 1.26.8): window in one slice, 30s and 60s runs (-parallel 2), no
// failure; paged window, 60s (-parallel 2) and 2m, 464,106 execs
// (-parallel 1), no failure.
func FuzzNumIndex(f *testing.F) {
	f.Add([]byte{0, 0, 0, 4, 0, 8, 0, 3, 1, 2, 0xff, 0x81})
	f.Add([]byte{0, 0, 0, 0, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 3, 7, 11, 15, 0, 0, 19, 0, 0, 23, 0, 0, 0x7d, 0xfd, 0x41, 0x45})
	f.Fuzz(runNumIndexOps)
}

// runNumIndexOps runs FuzzNumIndex's operations: at most 256, as each is
// followed by a full check.
func runNumIndexOps(t *testing.T, ops []byte) {
	ops = ops[:min(len(ops), 256)]
	var x numIndex
	model := map[int64]*child{}
	var order []int64 // numbers in the model, oldest put first
	seq := int64(0)
	put := func(k int64) {
		if model[k] != nil {
			return
		}
		c := &child{}
		model[k] = c
		order = append(order, k)
		x.put(k, c)
		if k > seq {
			seq = k
		}
	}
	remove := func(j int) {
		k := order[j]
		order = append(order[:j], order[j+1:]...)
		delete(model, k)
		x.remove(k)
		assert.Nil(t, x.get(k))
	}
	for _, op := range ops {
		arg := int(op >> 2)
		switch op & 3 {
		case 0:
			put(seq + 1)
		case 1: // a given name: ahead by up to 2^arg (big jumps included), or behind
			if arg&1 == 0 {
				put(seq + 1 + int64(1)<<(arg>>1))
			} else if seq > int64(arg) {
				put(seq - int64(arg))
			}
		case 2:
			if len(order) > 0 {
				remove(arg % len(order))
			}
		case 3:
			if len(order) > 0 {
				if arg&1 == 0 {
					remove(0)
				} else {
					remove(len(order) - 1)
				}
			}
		}
		checkNumIndex(t, &x, model)
	}
}

// A window that slides at a steady size allocates nothing once it has
// grown.
func TestNumIndexSlidesWithoutAllocating(t *testing.T) {
	const resident = 1000
	var x numIndex
	cs := make([]child, 2)
	seq := int64(0)
	for range resident {
		seq++
		x.put(seq, &cs[0])
	}
	fifo := testing.AllocsPerRun(10_000, func() {
		seq++
		x.put(seq, &cs[0])
		x.remove(x.base)
	})
	assert.Zero(t, fifo)
	assert.Equal(t, resident, x.live)
	assert.Empty(t, x.far)
	assert.LessOrEqual(t, len(x.pages), resident/pageSize+2, "pages")
	// Last in, first out: the numbers drawn run ahead of the residents, so
	// the residents move to far once and the window follows the newcomers.
	lifo := testing.AllocsPerRun(10_000, func() {
		seq++
		x.put(seq, &cs[1])
		x.remove(seq)
	})
	assert.Zero(t, lifo)
	assert.Equal(t, resident, x.len())
	assert.Len(t, x.far, resident)
}

// A window whose children mostly leave does not keep growing: once it is
// sparse, its children move to far and a new window starts.
func TestNumIndexSpillsSparseWindow(t *testing.T) {
	var x numIndex
	old := &child{}
	x.put(1, old)
	for k := int64(2); k < 10_000; k++ {
		x.put(k, &child{})
		require.LessOrEqual(t, x.n, 2*x.live+windowSlack)
		if k%4 != 0 { // one in four stays
			x.remove(k)
		}
	}
	assert.Same(t, old, x.get(1))
	assert.Same(t, old, x.far[1], "spilled")
	assert.Nil(t, x.get(2))
	assert.NotNil(t, x.get(9_996))
	assert.Equal(t, 1+9_996/4, x.len())
}

// Children that come and go at the end of the window, behind others that
// stay, stretch it by one slot per add: the empty slots they leave are not
// trimmed and stretched over again at each add (which made an Add+Delete
// pair O(children) until the window spilled). Once the window is sparse its
// residents move to far.
func TestNumIndexChurnAtTheEnd(t *testing.T) {
	var x numIndex
	c := &child{}
	for k := int64(1); k < 1_000; k++ {
		x.put(k, c)
		x.remove(k)
		require.Zero(t, x.n)
	}
	const resident = 100
	for k := int64(1_000); k < 1_000+resident; k++ {
		x.put(k, &child{})
	}
	for k := int64(1_000 + resident); k < 5_000; k++ {
		n := x.n
		x.put(k, c)
		require.LessOrEqual(t, x.n, n+1, "add of %d", k)
		require.LessOrEqual(t, x.n, 2*x.live+windowSlack)
		x.remove(k)
	}
	assert.Equal(t, resident, x.len())
	assert.Len(t, x.far, resident)
	assert.NotNil(t, x.get(1_000))
}

// A number far ahead (a given name such as "child-9223372036854775807")
// starts a new window rather than stretching the old one to it.
func TestNumIndexJumpsAhead(t *testing.T) {
	var x numIndex
	a, b, c := &child{}, &child{}, &child{}
	x.put(1, a)
	x.put(math.MaxInt64, b)
	x.put(2, c)
	assert.Same(t, a, x.get(1))
	assert.Same(t, b, x.get(math.MaxInt64))
	assert.Same(t, c, x.get(2))
	assert.Nil(t, x.get(3))
	assert.Equal(t, 1, x.n)
	x.remove(math.MaxInt64)
	x.remove(1)
	x.remove(2)
	assert.Nil(t, x.get(1))
	assert.Zero(t, x.live)
	assert.Empty(t, x.far)
}

// A long run of adds and removes, with a few thousand children indexed,
// moves the window across many pages; it is checked against a map.
func TestNumIndexAcrossPages(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 1))
	var x numIndex
	model := map[int64]*child{}
	var order []int64
	seq := int64(0)
	for op := range 40_000 {
		switch v := r.IntN(100); {
		case v < 55 || len(order) == 0:
			seq++
			if r.IntN(20) == 0 {
				seq += int64(r.IntN(3)) // some numbers drawn are never used
			}
			c := &child{}
			model[seq] = c
			order = append(order, seq)
			x.put(seq, c)
		case v < 65:
			j := r.IntN(len(order))
			k := order[j]
			order = append(order[:j], order[j+1:]...)
			delete(model, k)
			x.remove(k)
		default:
			k := order[0]
			order = order[1:]
			delete(model, k)
			x.remove(k)
		}
		if op%97 == 0 {
			checkNumIndex(t, &x, model)
		}
	}
	checkNumIndex(t, &x, model)
	assert.Greater(t, seq, int64(20*pageSize))
	assert.Greater(t, x.n, 4*pageSize, "a window over several pages")
}
