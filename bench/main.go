// Command bench compares the cost of supervising goroutines with arbor
// (github.com/arbor-go/supervisor), with suture v4, and with bare goroutines
// (context + sync.WaitGroup), running every workload for the three in one
// process, interleaved over several rounds, and printing medians.
//
// Run it from this directory:
//
//	go run . -rounds 5          # full size: N = 100,000
//	go run . -quick             # smoke test: small sizes, 2 rounds
//	go run . -async -rounds 5   # arbor adds with AddAsync instead of Add
//	go run . -million -rounds 3 -svg ../docs/bench-scaling.svg
//	                            # adds 1,000,000 children; writes the plot
//	go run . -replot round.log -svg ../docs/bench-scaling.svg
//	                            # redraws the plot from a saved -v log (stderr)
//
// With the figures it prints the load average and the round trip of a cache
// line between CPU 0 and CPU 1 (probe.go), at the start and at the end.
//
// See ../BENCHMARKS.md for what each workload does and what the numbers mean.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	n        int   // children for spawn, stop, memory, and the large churn
	resident int   // residents for the churn workload
	small    int   // residents for the small end of the scaling workload
	sizes    []int // populations of the scaling sweep (spawn, stop, memory, churn at each)
	callers  []int // concurrent callers of the throughput workload
	churnOps int   // Add+Delete pairs per churn measurement
	restarts int   // restarts per restart measurement
	rounds   int
	million  bool   // the sweep includes 1,000,000 children
	async    bool   // arbor adds children with AddAsync instead of Add
	svg      string // where to write the scaling plot; empty: nowhere
	verbose  bool
}

// metric names, in table order. The population workloads are recorded per
// population: key(mSpawn, 100000) is "spawn@100000".
const (
	mSpawn         = "spawn"
	mStop          = "stop"
	mChurn         = "churn"
	mRestart       = "restart"
	mMem           = "memory"
	mMemHeap       = "memory-heap"
	mMemStack      = "memory-stack"
	mPar           = "pairs/s"      // throughput, key(mPar, callers)
	mParFree       = "pairs/s-free" // reference: bare pairs under independent contexts, key(mParFree, callers)
	mCores         = "cores"        // CPU time / wall time of the throughput workload, key(mCores, callers)
	mMemOwn        = "memory-own"
	mSpawnOwn      = "spawn-own"
	mStopOwn       = "stop-own"
	mRestartOwn    = "restart-own-cancel"
	mSpawnGCs      = "spawn-gc-cycles" // collections the spawn of N set off
	mSpawnGCCPU    = "spawn-gc-cpu"    // CPU time of those complete by its end, ns per child
	mSpawnGCsOwn   = "spawn-gc-cycles-own"
	mSpawnGCCPUOwn = "spawn-gc-cpu-own"
	mSpawnAlloc    = "spawn-alloc" // heap bytes allocated during the spawn, per child
	mSpawnAllocOwn = "spawn-alloc-own"
	mSpawnLive     = "spawn-live-heap" // live heap when the spawn began, bytes
	mSpawnNoGC     = "spawn-gc-off"    // spawn per child with the collector off during it
	unitNs         = "ns"
	unitBytes      = "B"
	unitOps        = "/s"
	million        = 1_000_000
)

func key(metric string, n int) string { return fmt.Sprintf("%s@%d", metric, n) }

// results[metric][contender] holds one value per round.
type results map[string]map[string][]float64

func (r results) add(metric, who string, v float64) {
	if r[metric] == nil {
		r[metric] = map[string][]float64{}
	}
	r[metric][who] = append(r[metric][who], v)
}

func main() {
	cfg := parseFlags()
	mk := []func() contender{
		func() contender { return &arborC{async: cfg.async} },
		func() contender { return &sutureC{} },
		func() contender { return &bareC{} },
	}
	fmt.Printf("# arbor vs suture vs bare goroutines\n\n")
	fmt.Printf("go %s %s/%s, GOMAXPROCS=%d, NumCPU=%d, %s\n", strings.TrimPrefix(runtime.Version(), "go"),
		runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), cpuModel())
	fmt.Printf("GODEBUG=%s, load average at start: %s\n", os.Getenv("GODEBUG"), loadAvg())
	fmt.Printf("at start, %s\n", probeLine(pingPongs))
	fmt.Printf("N=%d, churn: %d pairs at %d resident, sweep: %v, callers: %v, restarts=%d, rounds=%d\n\n",
		cfg.n, cfg.churnOps, cfg.resident, cfg.sizes, cfg.callers, cfg.restarts, cfg.rounds)

	// Warm up: fill the runtime's free goroutine list, so that goroutine
	// descriptors are reused in every measured round, for everyone alike.
	warm := cfg
	warm.churnOps, warm.restarts = cfg.churnOps/10, cfg.restarts/10
	for _, f := range mk {
		c := f()
		big(c, cfg.sizes[len(cfg.sizes)-1], warm.churnOps, results{})
		c.restart(warm.restarts)
	}

	res := results{}
	start := time.Now()
	for round := range cfg.rounds {
		order := make([]func() contender, len(mk))
		for i := range mk {
			order[i] = mk[(i+round)%len(mk)]
		}
		if cfg.verbose {
			trip := "not measured"
			if d, ok := roundTrip(0, 1, pingPongs); ok {
				trip = d.String()
			}
			fmt.Fprintf(os.Stderr, "round %d (load %s, cross-processor round trip %s)\n", round+1, loadAvg(), trip)
		}
		runWorkloads(order, cfg, res)
	}
	elapsed := time.Since(start)
	printTable(res, cfg)
	printSweep(res, cfg)
	printThroughput(res, cfg)
	fmt.Printf("\n(%d rounds in %.1fs; load average at the end: %s)\n", cfg.rounds, elapsed.Seconds(), loadAvg())
	fmt.Printf("at the end, %s\n", probeLine(pingPongs))
	if cfg.svg != "" {
		must(os.WriteFile(cfg.svg, []byte(scalingPlot(res, cfg.sizes)), 0o644))
		fmt.Printf("plot written to %s\n", cfg.svg)
	}
}

func parseFlags() config {
	var cfg config
	quick := flag.Bool("quick", false, "small sizes and 2 rounds, for a smoke test")
	flag.IntVar(&cfg.n, "n", 100_000, "children for spawn, stop, memory and the large end of scaling")
	flag.IntVar(&cfg.resident, "resident", 10_000, "resident children for churn and the throughput workload")
	flag.IntVar(&cfg.small, "small", 1_000, "resident children for the small end of scaling")
	flag.IntVar(&cfg.churnOps, "churn-ops", 20_000, "Add+Delete pairs per churn and throughput measurement")
	flag.IntVar(&cfg.restarts, "restarts", 50_000, "restarts per restart measurement")
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds; contenders are interleaved within each round")
	flag.BoolVar(&cfg.million, "million", false, "add 1,000,000 children to the sweep (heavy: ~3 GB, minutes)")
	flag.BoolVar(&cfg.async, "async", false, "arbor adds children with AddAsync (returns without waiting for the tree) instead of Add")
	flag.StringVar(&cfg.svg, "svg", "", "write the scaling plot (SVG) to this file")
	replot := flag.String("replot", "", "with -svg: draw the plot from this saved -v log (stderr) instead of measuring")
	flag.BoolVar(&cfg.verbose, "v", false, "print every measurement")
	godebug := flag.String("godebug", "adaptivestackstart=0",
		"GODEBUG settings the program re-executes itself with (empty: run as is); see BENCHMARKS.md")
	flag.Parse()
	if *replot != "" {
		f, err := os.Open(*replot)
		must(err)
		res, sizes, err := parseRounds(f)
		must(err)
		must(os.WriteFile(cfg.svg, []byte(scalingPlot(res, sizes)), 0o644))
		os.Exit(0)
	}
	if *godebug != "" && os.Getenv("ARBOR_BENCH_REEXEC") == "" {
		reexec(*godebug)
	}
	if *quick {
		cfg = config{n: 5_000, resident: 1_000, small: 100, churnOps: 2_000, restarts: 5_000, rounds: 2,
			svg: cfg.svg, verbose: cfg.verbose, async: cfg.async}
	}
	cfg.callers = []int{1, 2, 8}
	cfg.sizes = []int{cfg.small, cfg.resident, cfg.n}
	if cfg.million {
		cfg.sizes = append(cfg.sizes, million)
	}
	slices.Sort(cfg.sizes)
	cfg.sizes = slices.Compact(cfg.sizes)
	return cfg
}

// runWorkloads runs every workload once per contender, contenders in the
// given order, workload by workload.
func runWorkloads(order []func() contender, cfg config, res results) {
	cs := make([]contender, len(order))
	for i, f := range order {
		cs[i] = f()
	}
	for _, n := range cfg.sizes {
		for _, c := range cs {
			big(c, n, cfg.churnOps, res)
		}
	}
	for _, n := range cfg.sizes {
		if n >= cfg.n {
			ownCancel(n).record(res, n, refContext)
			ownChannel(n).record(res, n, refChannel)
		}
	}
	for _, c := range cs {
		res.add(key(mSpawnNoGC, cfg.n), c.name(), spawnNoGC(c, cfg.n))
	}
	for _, k := range cfg.callers {
		for _, c := range cs {
			rate, cores := throughput(c, cfg.resident, cfg.churnOps, k)
			res.add(key(mPar, k), c.name(), rate)
			res.add(key(mCores, k), c.name(), cores)
		}
		res.add(key(mParFree, k), "bare", freeThroughput(cfg.churnOps, k))
	}
	for _, c := range cs {
		gc()
		t := time.Now()
		c.restart(cfg.restarts)
		res.add(mRestart, c.name(), perOp(time.Since(t), cfg.restarts))
	}
	gc()
	t := time.Now()
	bareRestart(cfg.restarts, true)
	res.add(mRestartOwn, "bare", perOp(time.Since(t), cfg.restarts))
	if cfg.verbose {
		for _, c := range cs {
			fmt.Fprintf(os.Stderr, "  %-7s", c.name())
			for _, n := range cfg.sizes {
				for _, m := range []string{mSpawn, mStop, mMem, mChurn} {
					v := res[key(m, n)][c.name()]
					fmt.Fprintf(os.Stderr, " %s=%.0f", key(m, n), v[len(v)-1])
				}
			}
			for _, k := range cfg.callers {
				v := res[key(mPar, k)][c.name()]
				fmt.Fprintf(os.Stderr, " %s=%.0f", key(mPar, k), v[len(v)-1])
			}
			v := res[mRestart][c.name()]
			fmt.Fprintf(os.Stderr, " restart=%.0f\n", v[len(v)-1])
		}
	}
}

// big measures one population of n children: spawn them, measure memory,
// churn at n resident, stop them all.
func big(c contender, n, churnOps int, res results) {
	name := c.name()
	h0, s0 := inUse()
	c.open()
	res.add(key(mSpawnLive, n), name, liveHeap())
	g0 := readGC()
	t := time.Now()
	c.spawn(n)
	res.add(key(mSpawn, n), name, perOp(time.Since(t), n))
	g := readGC().since(g0)
	h1, s1 := inUse()
	res.add(key(mSpawnGCs, n), name, readGC().since(g0).auto) // inUse finishes a cycle the spawn began
	res.add(key(mSpawnGCCPU, n), name, g.cpu/float64(n))
	res.add(key(mSpawnAlloc, n), name, g.alloc/float64(n))
	dh, ds := float64(int64(h1)-int64(h0)), float64(int64(s1)-int64(s0))
	res.add(key(mMem, n), name, (dh+ds)/float64(n))
	res.add(key(mMemHeap, n), name, dh/float64(n))
	res.add(key(mMemStack, n), name, ds/float64(n))

	gc()
	t = time.Now()
	c.churn(churnOps)
	res.add(key(mChurn, n), name, perOp(time.Since(t), churnOps))

	gc()
	t = time.Now()
	c.close()
	res.add(key(mStop, n), name, perOp(time.Since(t), n))
}

// spawnNoGC is the spawn of n children with the collector off while they
// are spawned: what the spawn itself costs, without the collection that may
// or may not fall inside it (that depends on the live heap when it begins,
// mostly the descriptors of goroutines that have ended, which the runtime
// keeps; see BENCHMARKS.md).
func spawnNoGC(c contender, n int) float64 {
	gc()
	c.open()
	old := debug.SetGCPercent(-1)
	t := time.Now()
	c.spawn(n)
	d := perOp(time.Since(t), n)
	debug.SetGCPercent(old)
	c.close()
	return d
}

// liveHeap is the heap the last collection found live, in bytes.
func liveHeap() float64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64())
}

// throughput measures Add+Delete pairs per second from callers concurrent
// goroutines, with resident children running, and how many cores the
// process kept busy meanwhile (CPU time over wall time).
func throughput(c contender, resident, ops, callers int) (rate, cores float64) {
	c.open()
	c.spawn(resident)
	gc()
	cpu0 := cpuTime()
	t := time.Now()
	c.churnPar(ops, callers)
	d := time.Since(t)
	cpu := cpuTime() - cpu0
	c.close()
	return float64(ops) / d.Seconds(), cpu.Seconds() / d.Seconds()
}

// freeThroughput is the reference for the throughput workload: bare pairs
// (a goroutine under its own context.WithCancel, cancelled and waited for)
// whose contexts share no parent, so that concurrent callers share nothing
// but the runtime. It shows how far the machine's scheduler lets several
// hand-off chains run in parallel; the bare contender's pairs share one
// parent context, whose mutex and children map serialise them.
func freeThroughput(ops, callers int) float64 {
	gc()
	t := time.Now()
	parallel(ops, callers, func() { churnUnder(context.Background()) })
	return float64(ops) / time.Since(t).Seconds()
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	must(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The two references for the spawn, stop and memory figures: bare
// goroutines each of which can be stopped alone, as a supervised child can.
// Neither is a contender. They are recorded under these names.
const (
	refContext = "bare"     // each waits on its own context.WithCancel (children of one shared context)
	refChannel = "own-chan" // each waits on its own channel, made by the spawner and closed one by one: the floor
)

// ownCancel spawns n bare goroutines that each wait on their own
// context.WithCancel (children of one shared context), keeping the n cancel
// functions, then stops them all by cancelling the shared context: what
// running goroutines cost when each can be stopped alone with the standard
// library.
func ownCancel(n int) reference {
	return ownStop(n, func(started, done *sync.WaitGroup) (func(), any) {
		parent, cancelAll := context.WithCancel(context.Background())
		cancels := make([]context.CancelFunc, n)
		for i := range cancels {
			ctx, cancel := context.WithCancel(parent)
			cancels[i] = cancel
			go func() {
				started.Done()
				<-ctx.Done()
				done.Done()
			}()
		}
		return cancelAll, cancels
	})
}

// ownChannel spawns n bare goroutines that each wait on a channel of its
// own, made by the spawner, and stops them by closing the channels one by
// one: the least any design can spend on a goroutine that can be stopped
// alone (a channel of its own, a slot that finds it), so the floor of
// arbor's spawn, stop and memory.
func ownChannel(n int) reference {
	return ownStop(n, func(started, done *sync.WaitGroup) (func(), any) {
		chans := make([]chan struct{}, n)
		for i := range chans {
			ch := make(chan struct{})
			chans[i] = ch
			go func() {
				started.Done()
				<-ch
				done.Done()
			}()
		}
		return func() {
			for _, ch := range chans {
				close(ch)
			}
		}, chans
	})
}

// ownStop measures a reference: spawn starts n goroutines that each call
// started.Done, wait to be stopped and call done.Done, and returns what
// stops them all and what must stay alive until then.
func ownStop(n int, spawn func(started, done *sync.WaitGroup) (stopAll func(), keep any)) (r reference) {
	h0, s0 := inUse()
	g0 := readGC()
	t := time.Now()
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	stopAll, keep := spawn(&started, &done)
	started.Wait()
	r.spawn = perOp(time.Since(t), n)
	r.gc = readGC().since(g0)
	h1, s1 := inUse()
	r.gc.auto = readGC().since(g0).auto
	gc()
	t = time.Now()
	stopAll()
	done.Wait()
	r.stop = perOp(time.Since(t), n)
	runtime.KeepAlive(keep)
	r.mem = float64(int64(h1+s1)-int64(h0+s0)) / float64(n)
	return r
}

// reference is what ownStop measures: ns per spawn and per stop, bytes
// per goroutine, and the collections that ran during the spawn.
type reference struct {
	spawn, stop, mem float64
	gc               gcWork
}

// record adds the reference's figures at population n to res, under who.
func (r reference) record(res results, n int, who string) {
	res.add(key(mSpawnOwn, n), who, r.spawn)
	res.add(key(mStopOwn, n), who, r.stop)
	res.add(key(mMemOwn, n), who, r.mem)
	res.add(key(mSpawnGCsOwn, n), who, r.gc.auto)
	res.add(key(mSpawnGCCPUOwn, n), who, r.gc.cpu/float64(n))
	res.add(key(mSpawnAllocOwn, n), who, r.gc.alloc/float64(n))
}

// gcWork counts garbage collections: the cycles the runtime started by
// itself (not runtime.GC), and the CPU time (ns) it estimates completed
// cycles took, assists and background marking included (runtime/metrics;
// both counted as a cycle ends: a cycle still running is counted once
// runtime.GC has waited for it); and the heap bytes allocated, which bring
// the next collection closer.
type gcWork struct{ auto, cpu, alloc float64 }

var gcSamples = []metrics.Sample{
	{Name: "/gc/cycles/automatic:gc-cycles"},
	{Name: "/cpu/classes/gc/total:cpu-seconds"},
	{Name: "/gc/heap/allocs:bytes"},
}

// readGC reads the collections done and the bytes allocated so far.
func readGC() gcWork {
	metrics.Read(gcSamples)
	return gcWork{
		auto:  float64(gcSamples[0].Value.Uint64()),
		cpu:   gcSamples[1].Value.Float64() * 1e9,
		alloc: float64(gcSamples[2].Value.Uint64()),
	}
}

// since is the work done since g0.
func (g gcWork) since(g0 gcWork) gcWork {
	return gcWork{g.auto - g0.auto, g.cpu - g0.cpu, g.alloc - g0.alloc}
}

// loadAvg is the first three fields of /proc/loadavg: the machine is shared,
// so every run records how busy it was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// reexec runs this program again with extra GODEBUG settings: runtime
// settings such as adaptivestackstart are read at startup only.
func reexec(settings string) {
	exe, err := os.Executable()
	must(err)
	env := os.Environ()
	gd := settings
	if old := os.Getenv("GODEBUG"); old != "" {
		gd = old + "," + settings
	}
	env = append(env, "GODEBUG="+gd, "ARBOR_BENCH_REEXEC=1")
	must(syscall.Exec(exe, os.Args, env))
}

func perOp(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) }

func gc() {
	runtime.GC()
	runtime.GC()
}

// inUse returns heap and stack memory in use after a full collection.
func inUse() (heap, stack uint64) {
	gc()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "cpu unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "cpu unknown"
}
