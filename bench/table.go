// table.go: the result tables (markdown): the targets of issue 13 with the
// verdicts, the sweep over populations, the concurrent-callers throughput.

package main

import (
	"fmt"
	"math"
	"strings"
)

// target is a pass/fail bar on the medians.
type target struct {
	text string
	ok   func(a, s, b float64) bool
}

type row struct {
	metric, label, unit string
	targets             []target
}

func printTable(res results, cfg config) {
	n := cfg.n
	rows := []row{
		{key(mSpawn, n), fmt.Sprintf("spawn, per child (N=%d)", n), unitNs, []target{
			{"≤ 1.5× bare", func(a, s, b float64) bool { return a <= 1.5*b }},
			{"< suture", func(a, s, b float64) bool { return a < s }},
		}},
		{key(mStop, n), fmt.Sprintf("stop, per child (N=%d)", n), unitNs, []target{
			{"≤ 1.2× bare", func(a, s, b float64) bool { return a <= 1.2*b }},
		}},
		{key(mChurn, cfg.resident), fmt.Sprintf("churn Add+Delete, per pair (%d resident)", cfg.resident), unitNs, []target{
			{"≤ 2.5× bare", func(a, s, b float64) bool { return a <= 2.5*b }},
			{"≤ 0.35× suture", func(a, s, b float64) bool { return a <= 0.35*s }},
		}},
		{mRestart, "restart, per restart (one_for_one)", unitNs, []target{
			{"≤ 1.5× bare", func(a, s, b float64) bool { return a <= 1.5*b }},
		}},
		{key(mMem, n), fmt.Sprintf("memory, heap+stack per child (N=%d)", n), unitBytes, []target{
			{"≤ bare + 256 B", func(a, s, b float64) bool { return a <= b+256 }},
		}},
		{key(mMemHeap, n), "  of which heap", unitBytes, nil},
		{key(mMemStack, n), "  of which stack", unitBytes, nil},
		{key(mChurn, cfg.small), fmt.Sprintf("churn at %d resident", cfg.small), unitNs, nil},
		{key(mChurn, n), fmt.Sprintf("churn at %d resident", n), unitNs, nil},
	}
	if cfg.million {
		within := []target{{"≤ 1.1× N=" + fmt.Sprint(n), nil}}
		rows = append(rows,
			row{key(mSpawn, million), "spawn, per child (N=1000000)", unitNs, within},
			row{key(mStop, million), "stop, per child (N=1000000)", unitNs, within},
			row{key(mMem, million), "memory, heap+stack per child (N=1000000)", unitBytes, within},
			row{key(mChurn, million), "churn at 1000000 resident", unitNs, nil})
	}
	med := func(m, who string) float64 { return median(res[m][who]) }

	fmt.Printf("| workload | arbor | suture | bare | arbor/suture | arbor/bare | target | result |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rows {
		a, s, b := med(r.metric, "arbor"), med(r.metric, "suture"), med(r.metric, "bare")
		tt, verdict := verdicts(r, res, n, a, s, b)
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.label,
			num(a, r.unit), num(s, r.unit), num(b, r.unit), ratio(a, s), ratio(a, b), tt, verdict)
	}
	// Scaling: churn at the large population over churn at the small one.
	sc := func(who string) float64 { return med(key(mChurn, n), who) / med(key(mChurn, cfg.small), who) }
	fmt.Printf("| scaling: churn %d / churn %d resident | %.2f | %.2f | %.2f | | | arbor ≤ 1.1 | %s |\n",
		n, cfg.small, sc("arbor"), sc("suture"), sc("bare"), pass(sc("arbor") <= 1.1))

	for _, n := range cfg.sizes {
		printReference(res, n)
	}
	if r := med(mRestartOwn, "bare"); r > 0 {
		fmt.Printf("\nreference, not a contender: the bare restart loop with each incarnation under its own "+
			"context.WithCancel: %s per restart = %s× bare (arbor: %s× that)\n",
			num(r, unitNs), ratio(r, med(mRestart, "bare")), ratio(med(mRestart, "arbor"), r))
	}

	printSpread(res, rows)
}

// printReference prints, at population n if measured, the figures of the
// two references (bare goroutines each stoppable alone: with the standard
// library's contexts, and with a channel each, the floor) against bare
// goroutines and arbor.
func printReference(res results, n int) {
	med := func(m, who string) float64 { return median(res[m][who]) }
	a, b := med(key(mMem, n), "arbor"), med(key(mMem, n), "bare")
	sb, stb := med(key(mSpawn, n), "bare"), med(key(mStop, n), "bare")
	sa, sta := med(key(mSpawn, n), "arbor"), med(key(mStop, n), "arbor")
	for _, ref := range []struct{ who, what string }{
		{refContext, "its own context.WithCancel"},
		{refChannel, "its own channel, closed one by one (the floor)"},
	} {
		own := med(key(mMemOwn, n), ref.who)
		if own <= 0 {
			continue
		}
		sp, st := med(key(mSpawnOwn, n), ref.who), med(key(mStopOwn, n), ref.who)
		fmt.Printf("\nreference, not a contender: bare goroutines each waiting on %s "+
			"(each can be stopped alone, as a supervised child; N=%d): spawn %s per goroutine = %s× bare (arbor: %s× that); "+
			"stop %s = %s× bare (arbor: %s× that); memory %s = bare + %s (arbor holds that + %s)\n",
			ref.what, n, num(sp, unitNs), ratio(sp, sb), ratio(sa, sp), num(st, unitNs), ratio(st, stb), ratio(sta, st),
			num(own, unitBytes), num(own-b, unitBytes), num(a-own, unitBytes))
	}
	if _, ok := res[key(mSpawnGCs, n)]; ok {
		who := []string{"arbor", "suture", "bare"}
		cycles, cpu, alloc := make([]string, 0, 4), make([]string, 0, 4), make([]string, 0, 4)
		for _, w := range who {
			cycles = append(cycles, fmt.Sprintf("%.1f", med(key(mSpawnGCs, n), w)))
			cpu = append(cpu, num(med(key(mSpawnGCCPU, n), w), unitNs))
			alloc = append(alloc, num(med(key(mSpawnAlloc, n), w), unitBytes))
		}
		for _, ref := range []struct{ who, what string }{{refContext, "bare with own contexts"}, {refChannel, "with own channels"}} {
			if _, ok := res[key(mSpawnGCsOwn, n)][ref.who]; ok {
				who = append(who, ref.what)
				cycles = append(cycles, fmt.Sprintf("%.1f", med(key(mSpawnGCsOwn, n), ref.who)))
				cpu = append(cpu, num(med(key(mSpawnGCCPUOwn, n), ref.who), unitNs))
				alloc = append(alloc, num(med(key(mSpawnAllocOwn, n), ref.who), unitBytes))
			}
		}
		live := make([]string, 0, 3)
		for _, w := range who[:3] {
			live = append(live, fmt.Sprintf("%.0f MB", med(key(mSpawnLive, n), w)/(1<<20)))
		}
		fmt.Printf("\ncollections the spawn of N=%d set off, %s: %s; CPU time per child of those complete by its end: %s; "+
			"heap allocated per child: %s; live heap when the spawn began, arbor / suture / bare: %s\n",
			n, strings.Join(who, " / "), strings.Join(cycles, " / "), strings.Join(cpu, " / "), strings.Join(alloc, " / "),
			strings.Join(live, " / "))
	}
	if _, ok := res[key(mSpawnNoGC, n)]; ok {
		a, su, b := med(key(mSpawnNoGC, n), "arbor"), med(key(mSpawnNoGC, n), "suture"), med(key(mSpawnNoGC, n), "bare")
		fmt.Printf("\nspawn of N=%d with the collector off during the spawn, per child, arbor / suture / bare: %s / %s / %s; "+
			"arbor/bare %s, arbor/suture %s\n", n, num(a, unitNs), num(su, unitNs), num(b, unitNs), ratio(a, b), ratio(a, su))
	}
}

// printSpread prints the lowest and highest value of every row over the
// rounds.
func printSpread(res results, rows []row) {
	fmt.Printf("\nspread (min–max over rounds), arbor / suture / bare:\n\n")
	for _, r := range rows {
		fmt.Printf("- %s:", r.metric)
		for i, who := range []string{"arbor", "suture", "bare"} {
			lo, hi := spread(res[r.metric][who])
			sep := " /"
			if i == 0 {
				sep = ""
			}
			fmt.Printf("%s %s–%s", sep, num(lo, r.unit), num(hi, r.unit))
		}
		fmt.Println()
	}
}

// verdicts returns a row's targets and whether arbor meets each. A target
// without a test compares arbor's figure at 1,000,000 with its figure at
// N: within 10%.
func verdicts(r row, res results, n int, a, s, b float64) (targets, verdict string) {
	for i, t := range r.targets {
		if i > 0 {
			targets += ", "
			verdict += ", "
		}
		targets += t.text
		if t.ok == nil {
			base := median(res[strings.Replace(r.metric, fmt.Sprint("@", million), fmt.Sprint("@", n), 1)]["arbor"])
			verdict += fmt.Sprintf("%.2f× N=%d: %s", a/base, n, pass(a <= 1.1*base))
			continue
		}
		verdict += pass(t.ok(a, s, b))
	}
	return targets, verdict
}

// printSweep prints cost per operation against the population, with the
// same-run ratios.
func printSweep(res results, cfg config) {
	med := func(m, who string) float64 { return median(res[m][who]) }
	fmt.Printf("\n### Cost per operation against resident children\n\n")
	fmt.Printf("| children | spawn arbor | suture | bare | arbor/bare | arbor/suture | churn arbor | suture | bare | arbor/bare | arbor/suture |\n")
	fmt.Printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range cfg.sizes {
		fmt.Printf("| %d", n)
		for _, m := range []string{mSpawn, mChurn} {
			a, s, b := med(key(m, n), "arbor"), med(key(m, n), "suture"), med(key(m, n), "bare")
			fmt.Printf(" | %s | %s | %s | %s | %s", num(a, unitNs), num(s, unitNs), num(b, unitNs), ratio(a, b), ratio(a, s))
		}
		fmt.Printf(" |\n")
	}
	lo, hi := cfg.sizes[0], cfg.sizes[len(cfg.sizes)-1]
	fmt.Printf("\nchurn at %d / churn at %d resident: arbor %.2f, suture %.2f, bare %.2f\n", hi, lo,
		med(key(mChurn, hi), "arbor")/med(key(mChurn, lo), "arbor"),
		med(key(mChurn, hi), "suture")/med(key(mChurn, lo), "suture"),
		med(key(mChurn, hi), "bare")/med(key(mChurn, lo), "bare"))
}

// printThroughput prints Add+Delete pairs per second against the number of
// concurrent callers, and each contender's speed-up over one caller.
func printThroughput(res results, cfg config) {
	med := func(m, who string) float64 { return median(res[m][who]) }
	fmt.Printf("\n### Add+Delete throughput, concurrent callers (%d resident, one tree)\n\n", cfg.resident)
	fmt.Printf("| callers | arbor | suture | bare | arbor/suture | arbor/bare | arbor vs 1 caller | suture vs 1 | bare vs 1 | cores busy: arbor / suture / bare |\n")
	fmt.Printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	one := key(mPar, cfg.callers[0])
	for _, k := range cfg.callers {
		a, s, b := med(key(mPar, k), "arbor"), med(key(mPar, k), "suture"), med(key(mPar, k), "bare")
		fmt.Printf("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %.2f / %.2f / %.2f |\n", k, num(a, unitOps), num(s, unitOps), num(b, unitOps),
			ratio(a, s), ratio(a, b), ratio(a, med(one, "arbor")), ratio(s, med(one, "suture")), ratio(b, med(one, "bare")),
			med(key(mCores, k), "arbor"), med(key(mCores, k), "suture"), med(key(mCores, k), "bare"))
	}
	free := make([]string, len(cfg.callers))
	for i, k := range cfg.callers {
		f := med(key(mParFree, k), "bare")
		free[i] = fmt.Sprintf("%d: %s (%s× the first)", k, num(f, unitOps), ratio(f, med(key(mParFree, cfg.callers[0]), "bare")))
	}
	fmt.Printf("\nreference, not a contender: bare pairs whose contexts share no parent (nothing shared but the runtime), by callers: %s\n", strings.Join(free, "; "))
	a1, a2, a8 := med(key(mPar, 1), "arbor"), med(key(mPar, 2), "arbor"), med(key(mPar, 8), "arbor")
	fmt.Printf("\narbor: 2 callers / 1 caller = %.2f (target ≥ 1.6: %s); 8 callers / 2 callers = %.2f (target ≥ 1: %s)\n",
		a2/a1, pass(a2 >= 1.6*a1), a8/a2, pass(a8 >= a2))
	fmt.Printf("\nspread (min–max over rounds), arbor / suture / bare:\n\n")
	for _, k := range cfg.callers {
		fmt.Printf("- %d callers:", k)
		for i, who := range []string{"arbor", "suture", "bare"} {
			lo, hi := spread(res[key(mPar, k)][who])
			sep := " /"
			if i == 0 {
				sep = ""
			}
			fmt.Printf("%s %s–%s", sep, num(lo, unitOps), num(hi, unitOps))
		}
		fmt.Println()
	}
}

func spread(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func pass(ok bool) string {
	if ok {
		return "pass"
	}
	return "**FAIL**"
}

func num(v float64, unit string) string {
	switch unit {
	case unitBytes:
		return fmt.Sprintf("%.0f B", v)
	case unitOps:
		return fmt.Sprintf("%.0f k/s", v/1e3)
	}
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1f µs", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	default:
		return fmt.Sprintf("%.0f ns", v)
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}
