package supervisor

// Benchmarks of the hot paths, for benchstat:
//
//	go test -run '^$' -bench . -benchmem -count 10 . > new.txt
//	benchstat old.txt new.txt
//
// The comparison with suture and bare goroutines is the program in bench/
// (see BENCHMARKS.md). Every benchmark stops its tree: TestMain checks for
// leaked goroutines. The 1,000,000-children cases run only with -million
// (several GB and minutes):
//
//	go test -run '^$' -bench 'Population|AddDelete/' -benchmem . -million

import (
	"context"
	"flag"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var benchMillion = flag.Bool("million", false, "benchmarks: also run the 1,000,000-children cases")

// skipHeavy skips a case of n children unless it is small or asked for.
func skipHeavy(b *testing.B, n int) {
	b.Helper()
	if n > 1_000 && testing.Short() {
		b.Skip("short")
	}
	if n >= 1_000_000 && !*benchMillion {
		b.Skip("1,000,000 children: run with -million")
	}
}

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
// (returns once it has returned) on a SimpleOneForOne tree holding
// `resident` other children; per pair. The cost against the population is
// the scaling figure.
func BenchmarkAddDelete(b *testing.B) {
	for _, resident := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run("resident="+strconv.Itoa(resident), func(b *testing.B) {
			skipHeavy(b, resident)
			t := residentTree(b, resident)
			addDeletePairs(b, t, t.Add)
		})
	}
}

// BenchmarkAddAsyncDelete: AddAsync (returns without waiting for the tree)
// and Delete (returns once the child has returned), on a SimpleOneForOne
// tree holding 10,000 or 100,000 other children; per pair. Against
// AddDelete: what not waiting for the start saves.
func BenchmarkAddAsyncDelete(b *testing.B) {
	for _, resident := range []int{10_000, 100_000} {
		b.Run("resident="+strconv.Itoa(resident), func(b *testing.B) {
			t := residentTree(b, resident)
			addDeletePairs(b, t, t.AddAsync)
		})
	}
}

// addDeletePairs adds a child with add and deletes it, b.Loop times.
func addDeletePairs(b *testing.B, t *Tree, add func(Spec) (string, error)) {
	spec := Spec{Run: blockUntilCancelled}
	b.ReportAllocs()
	for b.Loop() {
		name, err := add(spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := t.Delete(name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddDeleteParallel: Add+Delete pairs from 1, 2 and 8 concurrent
// callers on one SimpleOneForOne tree holding 10,000 children; ns/op is per
// pair (wall time / pairs), pairs/s the throughput. The target: 2 callers
// at least 1.6× the pairs/s of one on 2 cores, 8 no worse than 2.
func BenchmarkAddDeleteParallel(b *testing.B) {
	for _, callers := range []int{1, 2, 8} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			t := residentTree(b, 10_000)
			spec := Spec{Run: blockUntilCancelled}
			var next atomic.Int64
			var failed atomic.Pointer[error]
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						name, err := t.Add(spec)
						if err == nil {
							err = t.Delete(name)
						}
						if err != nil {
							failed.Store(&err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(*err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}

// BenchmarkPopulation: spawn n children one after the other into one
// SimpleOneForOne tree, measure heap+stack per child, then stop the tree
// (all at once). Reports ns/spawn, ns/stop and B/child; ns/op is the whole
// cycle. For the memory figure to be stable, run with
// GODEBUG=adaptivestackstart=0 (see BENCHMARKS.md).
func BenchmarkPopulation(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			skipHeavy(b, n)
			spec := Spec{Run: blockUntilCancelled}
			var spawn, stop time.Duration
			var mem float64
			for b.Loop() {
				m0 := heapAndStack()
				t, err := New(WithStrategy(SimpleOneForOne))
				require.NoError(b, err)
				ctx, cancel := context.WithCancel(context.Background())
				errc := t.Start(ctx)
				t0 := time.Now()
				for range n {
					if _, err := t.Add(spec); err != nil {
						b.Fatal(err)
					}
				}
				spawn += time.Since(t0)
				b.StopTimer()
				mem += float64(heapAndStack()-m0) / float64(n)
				b.StartTimer()
				t0 = time.Now()
				cancel()
				require.NoError(b, <-errc)
				stop += time.Since(t0)
			}
			b.ReportMetric(float64(spawn.Nanoseconds())/float64(b.N*n), "ns/spawn")
			b.ReportMetric(float64(stop.Nanoseconds())/float64(b.N*n), "ns/stop")
			b.ReportMetric(mem/float64(b.N), "B/child")
		})
	}
}

// heapAndStack is HeapInuse + StackInuse after two collections.
func heapAndStack() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
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

// BenchmarkSpawnStop: add 1,000 children one after the other, with Add
// (returns once the tree started the child) or AddAsync (returns at once),
// until all run, then stop the tree (SimpleOneForOne: all at once); per
// child.
func BenchmarkSpawnStop(b *testing.B) {
	const n = 1_000
	for _, async := range []bool{false, true} {
		b.Run(map[bool]string{false: "Add", true: "AddAsync"}[async], func(b *testing.B) {
			var started sync.WaitGroup
			spec := Spec{Run: func(ctx context.Context) error {
				started.Done()
				<-ctx.Done()
				return nil
			}}
			b.ReportAllocs()
			for b.Loop() {
				t, err := New(WithStrategy(SimpleOneForOne))
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				errc := t.Start(ctx)
				started.Add(n)
				for range n {
					add := t.Add
					if async {
						add = t.AddAsync
					}
					if _, err := add(spec); err != nil {
						b.Fatal(err)
					}
				}
				started.Wait()
				cancel()
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/child")
		})
	}
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

// BenchmarkCollect: one full collection (runtime.GC) with 100,000 children
// parked in their Run, in a SimpleOneForOne tree (arbor) and as bare
// goroutines on one channel (bare); ns/child is the collection's time per
// child. The collector walks every parked goroutine's stack at every cycle,
// so what a child's goroutine holds under its Run shows here, beside its
// records.
func BenchmarkCollect(b *testing.B) {
	const n = 100_000
	collect := func(b *testing.B) {
		for b.Loop() {
			runtime.GC()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/child")
	}
	b.Run("arbor", func(b *testing.B) {
		skipHeavy(b, n)
		residentTree(b, n)
		collect(b)
	})
	b.Run("bare", func(b *testing.B) {
		skipHeavy(b, n)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(n)
		for range n {
			go func() {
				defer wg.Done()
				<-stop
			}()
		}
		defer wg.Wait()
		defer close(stop)
		collect(b)
	})
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
