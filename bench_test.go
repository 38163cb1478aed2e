package supervisor

// Benchmarks of the hot paths, for benchstat:
//
//	go test -run '^$' -bench . -benchmem -count 10 . > new.txt
//	benchstat old.txt new.txt
//
// The comparison with suture and bare goroutines is the program in bench/
// (see BENCHMARKS.md). Every benchmark stops its tree: TestMain checks for
// leaked goroutines.

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func blockUntilCancelled(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// startTree runs t until the benchmark ends.
func startTree(b *testing.B, t *Tree) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := t.Start(ctx)
	b.Cleanup(func() {
		cancel()
		require.NoError(b, <-errc)
	})
}

// residentTree returns a running SimpleOneForOne tree holding n children
// that block until cancelled.
func residentTree(b *testing.B, n int) *Tree {
	b.Helper()
	t, err := New(WithStrategy(SimpleOneForOne))
	require.NoError(b, err)
	startTree(b, t)
	for range n {
		_, err := t.Add(Spec{Run: blockUntilCancelled})
		require.NoError(b, err)
	}
	return t
}

// BenchmarkAddDelete: one Add (returns once the child runs) and one Delete
// (returns once it has returned) on a SimpleOneForOne tree holding 1,000
// other children; per pair.
func BenchmarkAddDelete(b *testing.B) {
	for _, resident := range []int{1_000, 100_000} {
		b.Run("resident="+strconv.Itoa(resident), func(b *testing.B) {
			if resident > 1_000 && testing.Short() {
				b.Skip("short")
			}
			t := residentTree(b, resident)
			spec := Spec{Run: blockUntilCancelled}
			b.ReportAllocs()
			for b.Loop() {
				name, err := t.Add(spec)
				if err != nil {
					b.Fatal(err)
				}
				if err := t.Delete(name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAddWaitReady: Add of a WaitReady child that calls Ready at once,
// then Delete; per pair.
func BenchmarkAddWaitReady(b *testing.B) {
	t := residentTree(b, 1_000)
	spec := Spec{WaitReady: true, Run: func(ctx context.Context) error {
		Ready(ctx)
		<-ctx.Done()
		return nil
	}}
	b.ReportAllocs()
	for b.Loop() {
		name, err := t.Add(spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := t.Delete(name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpawnStop: Add 1,000 children one after the other, then stop the
// tree (SimpleOneForOne: all at once); per child.
func BenchmarkSpawnStop(b *testing.B) {
	const n = 1_000
	spec := Spec{Run: blockUntilCancelled}
	b.ReportAllocs()
	for b.Loop() {
		t, err := New(WithStrategy(SimpleOneForOne))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := t.Start(ctx)
		for range n {
			if _, err := t.Add(spec); err != nil {
				b.Fatal(err)
			}
		}
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/child")
}

// BenchmarkRestartOneForOne: automatic restarts of a Permanent child that
// fails at once; per restart. The intensity (10 in 1ns) never trips.
func BenchmarkRestartOneForOne(b *testing.B) {
	var runs atomic.Int64
	target := atomic.Int64{}
	target.Store(-1)
	done := make(chan struct{}, 1)
	t, err := New(WithIntensity(10, time.Nanosecond), WithChildren(Spec{Name: "crasher",
		Run: func(ctx context.Context) error {
			if runs.Add(1) == target.Load() {
				done <- struct{}{}
				<-ctx.Done()
				return nil
			}
			return errBoom
		}}))
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	// Run the tree inside the timed region: b.N restarts after the initial
	// start. Tree start and stop are a constant amortized over b.N.
	target.Store(int64(b.N) + 1)
	ctx, cancel := context.WithCancel(context.Background())
	errc := t.Start(ctx)
	<-done
	b.StopTimer()
	cancel()
	require.NoError(b, <-errc)
}

// BenchmarkChildren: Children on a tree holding 1,000 children.
func BenchmarkChildren(b *testing.B) {
	t := residentTree(b, 1_000)
	b.ReportAllocs()
	for b.Loop() {
		if infos := t.Children(); len(infos) != 1_000 {
			b.Fatal(len(infos))
		}
	}
}

// BenchmarkCount: Count on a tree holding 1,000 children.
func BenchmarkCount(b *testing.B) {
	t := residentTree(b, 1_000)
	b.ReportAllocs()
	for b.Loop() {
		if c := t.Count(); c.Active != 1_000 {
			b.Fatal(c)
		}
	}
}
