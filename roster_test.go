package supervisor

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: a generated name could take a name the user gives later in
// WithChildren: WithChildren(Spec{}, Spec{Name: "child-1"}) failed New with
// ErrDuplicateChild. Generated names never collide with given ones, in any
// order.
func TestGeneratedNamesNeverTakeGivenNames(t *testing.T) {
	run := func(ctx context.Context) error { <-ctx.Done(); return nil }
	for _, specs := range [][]Spec{
		{{Run: run}, {Name: "child-1", Run: run}},
		{{Name: "child-1", Run: run}, {Run: run}},
		{{Run: run}, {Run: run}, {Name: "child-2", Run: run}, {Name: "child-1", Run: run}},
	} {
		tr, err := New(WithChildren(specs...))
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, c := range tr.Children() {
			assert.False(t, seen[c.Name], c.Name)
			seen[c.Name] = true
		}
		assert.Len(t, seen, len(specs))
		name, err := tr.Add(Spec{Run: run})
		require.NoError(t, err)
		assert.False(t, seen[name], name)
	}
}

func TestRosterOrderAndCounts(t *testing.T) {
	var r roster
	a, b, c := newChild(Spec{Name: "a"}), newChild(Spec{Name: "b", sub: &Tree{}}), newChild(Spec{Name: "c"})
	r.pushBack(a)
	r.pushBack(b)
	r.pushBack(c)
	assert.Equal(t, Counts{Specs: 3, Active: 1, Supervisors: 1}, r.counts(1))
	r.remove(b)
	assert.Equal(t, []*child{a, c}, from(r.head))
	assert.Equal(t, Counts{Specs: 2}, r.counts(0))
	assert.Nil(t, r.get("b"))
	assert.Equal(t, "child-1", r.name(nil))
	assert.Equal(t, "child-3", r.name(map[string]bool{"child-2": true}))
}

func TestGenNumberReadsOnlyTheGeneratedForm(t *testing.T) {
	for name, want := range map[string]int64{"child-1": 1, "child-42": 42, "child-9223372036854775807": 1<<63 - 1} {
		k, ok := genNumber(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, k, name)
	}
	for _, name := range []string{"child-", "child-0", "child-01", "child--1", "child-+1", "child-1x", "Child-1", "child-99999999999999999999", "x"} {
		_, ok := genNumber(name)
		assert.False(t, ok, name)
	}
}

// genNumber reads the digits itself; it must agree with strconv.ParseInt
// on every name, including those whose number is near or past the int64
// limit.
func FuzzGenNumber(f *testing.F) {
	for _, s := range []string{"child-1", "child-0", "child-01", "child-+1", "child-1x", "child-999999999999999999",
		"child-9223372036854775807", "child-9223372036854775808", "child-99999999999999999999", "child-1/", "child-1:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		k, ok := genNumber(name)
		digits, prefixed := strings.CutPrefix(name, "child-")
		want, err := strconv.ParseInt(digits, 10, 64)
		wantOK := prefixed && err == nil && digits != "" && digits[0] >= '1' && digits[0] <= '9'
		require.Equal(t, wantOK, ok, name)
		if ok {
			require.Equal(t, want, k, name)
		}
	})
}

// A generated name never takes a listed one, in every strategy, although it
// is not looked up: a given name of the generated form moves the sequence
// past it.
func TestGeneratedNamesSkipGivenOnes(t *testing.T) {
	run := func(ctx context.Context) error { <-ctx.Done(); return nil }
	for _, st := range []Strategy{OneForOne, OneForAll, RestForOne, SimpleOneForOne} {
		synctest.Test(t, func(t *testing.T) {
			tr := mustNew(t, WithStrategy(st))
			r := start(t, tr)
			given := []string{"child-3", "child-1", "child-7", "child-2", "child-5"}
			for _, name := range given {
				_, err := tr.Add(Spec{Name: name, Run: run})
				require.NoError(t, err, st)
			}
			for range 10 {
				name, err := tr.Add(Spec{Run: run})
				require.NoError(t, err, st)
				require.NotContains(t, given, name, st)
			}
			assert.Len(t, tr.Children(), len(given)+10, st)
			require.NoError(t, r.stop())
		})
	}
}
