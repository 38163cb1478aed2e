// Command bench compares the cost of supervising goroutines with arbor
// (github.com/arbor-go/supervisor), with suture v4, and with bare goroutines
// (context + sync.WaitGroup), running every workload for the three in one
// process, interleaved over several rounds, and printing medians.
//
// Run it from this directory:
//
//	go run . -rounds 5          # full size: N = 100,000
//	go run . -quick             # smoke test: small sizes, 2 rounds
//
// See ../BENCHMARKS.md for what each workload does and what the numbers mean.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

type config struct {
	n        int // children for spawn, stop, memory, and the large churn
	resident int // residents for the churn workload
	small    int // residents for the small end of the scaling workload
	churnOps int // Add+Delete pairs per churn measurement
	restarts int // restarts per restart measurement
	rounds   int
	verbose  bool
}

// metric names, in table order.
const (
	mSpawn    = "spawn"
	mStop     = "stop"
	mChurn    = "churn"
	mRestart  = "restart"
	mMem      = "memory"
	mMemHeap  = "memory-heap"
	mMemStack = "memory-stack"
	mChurnLo  = "churn-small"
	mChurnHi  = "churn-large"
	mScaling  = "scaling"
	unitNs    = "ns"
	unitBytes = "B"
)

// results[metric][contender] holds one value per round.
type results map[string]map[string][]float64

func (r results) add(metric, who string, v float64) {
	if r[metric] == nil {
		r[metric] = map[string][]float64{}
	}
	r[metric][who] = append(r[metric][who], v)
}

func main() {
	var cfg config
	quick := flag.Bool("quick", false, "small sizes and 2 rounds, for a smoke test")
	flag.IntVar(&cfg.n, "n", 100_000, "children for spawn, stop, memory and the large end of scaling")
	flag.IntVar(&cfg.resident, "resident", 10_000, "resident children for churn")
	flag.IntVar(&cfg.small, "small", 1_000, "resident children for the small end of scaling")
	flag.IntVar(&cfg.churnOps, "churn-ops", 20_000, "Add+Delete pairs per churn measurement")
	flag.IntVar(&cfg.restarts, "restarts", 50_000, "restarts per restart measurement")
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds; contenders are interleaved within each round")
	flag.BoolVar(&cfg.verbose, "v", false, "print every measurement")
	godebug := flag.String("godebug", "adaptivestackstart=0",
		"GODEBUG settings the program re-executes itself with (empty: run as is); see BENCHMARKS.md")
	flag.Parse()
	if *godebug != "" && os.Getenv("ARBOR_BENCH_REEXEC") == "" {
		reexec(*godebug)
	}
	if *quick {
		cfg = config{n: 5_000, resident: 1_000, small: 100, churnOps: 2_000, restarts: 5_000, rounds: 2, verbose: cfg.verbose}
	}

	mk := []func() contender{
		func() contender { return &arborC{} },
		func() contender { return &sutureC{} },
		func() contender { return &bareC{} },
	}
	fmt.Printf("# arbor vs suture vs bare goroutines\n\n")
	fmt.Printf("go %s %s/%s, GOMAXPROCS=%d, NumCPU=%d, %s\n", strings.TrimPrefix(runtime.Version(), "go"),
		runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), cpuModel())
	fmt.Printf("GODEBUG=%s\n", os.Getenv("GODEBUG"))
	fmt.Printf("N=%d, churn: %d pairs at %d resident, scaling: %d vs %d resident, restarts=%d, rounds=%d\n\n",
		cfg.n, cfg.churnOps, cfg.resident, cfg.small, cfg.n, cfg.restarts, cfg.rounds)

	// Warm up: fill the runtime's free goroutine list, so that goroutine
	// descriptors are reused in every measured round, for everyone alike.
	warm := cfg
	warm.churnOps, warm.restarts = cfg.churnOps/10, cfg.restarts/10
	for _, f := range mk {
		runRound(f(), warm, results{})
	}

	res := results{}
	start := time.Now()
	for round := range cfg.rounds {
		order := make([]func() contender, len(mk))
		for i := range mk {
			order[i] = mk[(i+round)%len(mk)]
		}
		if cfg.verbose {
			fmt.Fprintf(os.Stderr, "round %d\n", round+1)
		}
		runWorkloads(order, cfg, res)
	}
	elapsed := time.Since(start)
	printTable(res, cfg)
	fmt.Printf("\n(%d rounds in %.1fs)\n", cfg.rounds, elapsed.Seconds())
}

// runWorkloads runs every workload once per contender, contenders in the
// given order, workload by workload.
func runWorkloads(order []func() contender, cfg config, res results) {
	cs := make([]contender, len(order))
	for i, f := range order {
		cs[i] = f()
	}
	for _, c := range cs {
		big(c, cfg, res)
	}
	for _, c := range cs {
		res.add(mChurn, c.name(), churnAt(c, cfg.resident, cfg.churnOps))
	}
	for _, c := range cs {
		res.add(mChurnLo, c.name(), churnAt(c, cfg.small, cfg.churnOps))
	}
	for _, c := range cs {
		gc()
		t := time.Now()
		c.restart(cfg.restarts)
		res.add(mRestart, c.name(), perOp(time.Since(t), cfg.restarts))
	}
	if cfg.verbose {
		for _, c := range cs {
			fmt.Fprintf(os.Stderr, "  %-7s", c.name())
			for _, m := range []string{mSpawn, mStop, mMem, mMemHeap, mMemStack, mChurn, mChurnLo, mChurnHi, mRestart} {
				v := res[m][c.name()]
				fmt.Fprintf(os.Stderr, " %s=%.0f", m, v[len(v)-1])
			}
			fmt.Fprintln(os.Stderr)
		}
	}
}

// runRound is runWorkloads for one contender, results discarded.
func runRound(c contender, cfg config, res results) {
	big(c, cfg, res)
	churnAt(c, cfg.resident, cfg.churnOps)
	c.restart(cfg.restarts)
}

// big: spawn N, measure memory, churn at N resident, stop N.
func big(c contender, cfg config, res results) {
	name := c.name()
	h0, s0 := inUse()
	c.open()
	t := time.Now()
	c.spawn(cfg.n)
	res.add(mSpawn, name, perOp(time.Since(t), cfg.n))
	h1, s1 := inUse()
	dh, ds := float64(int64(h1)-int64(h0)), float64(int64(s1)-int64(s0))
	res.add(mMem, name, (dh+ds)/float64(cfg.n))
	res.add(mMemHeap, name, dh/float64(cfg.n))
	res.add(mMemStack, name, ds/float64(cfg.n))

	gc()
	t = time.Now()
	c.churn(cfg.churnOps)
	res.add(mChurnHi, name, perOp(time.Since(t), cfg.churnOps))

	gc()
	t = time.Now()
	c.close()
	res.add(mStop, name, perOp(time.Since(t), cfg.n))
}

// churnAt measures Add+Delete pairs with resident children running.
func churnAt(c contender, resident, ops int) float64 {
	c.open()
	c.spawn(resident)
	gc()
	t := time.Now()
	c.churn(ops)
	d := time.Since(t)
	c.close()
	return perOp(d, ops)
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
