package main

import (
	"fmt"
	"math"
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
	rows := []row{
		{mSpawn, fmt.Sprintf("spawn, per child (N=%d)", cfg.n), unitNs, []target{
			{"≤ 1.1× bare", func(a, s, b float64) bool { return a <= 1.1*b }},
			{"< suture", func(a, s, b float64) bool { return a < s }},
		}},
		{mStop, fmt.Sprintf("stop, per child (N=%d)", cfg.n), unitNs, []target{
			{"≤ 1.5× bare", func(a, s, b float64) bool { return a <= 1.5*b }},
		}},
		{mChurn, fmt.Sprintf("churn Add+Delete, per pair (%d resident)", cfg.resident), unitNs, []target{
			{"≤ 2× bare", func(a, s, b float64) bool { return a <= 2*b }},
			{"≤ 0.3× suture", func(a, s, b float64) bool { return a <= 0.3*s }},
		}},
		{mRestart, "restart, per restart (one_for_one)", unitNs, []target{
			{"≤ 2× bare", func(a, s, b float64) bool { return a <= 2*b }},
			{"≤ 0.6× suture", func(a, s, b float64) bool { return a <= 0.6*s }},
		}},
		{mMem, fmt.Sprintf("memory, heap+stack per child (N=%d)", cfg.n), unitBytes, []target{
			{"≤ bare + 512 B", func(a, s, b float64) bool { return a <= b+512 }},
		}},
		{mMemHeap, "  of which heap", unitBytes, nil},
		{mMemStack, "  of which stack", unitBytes, nil},
		{mChurnLo, fmt.Sprintf("churn at %d resident", cfg.small), unitNs, nil},
		{mChurnHi, fmt.Sprintf("churn at %d resident", cfg.n), unitNs, nil},
	}
	med := func(m, who string) float64 { return median(res[m][who]) }

	fmt.Printf("| workload | arbor | suture | bare | arbor/suture | arbor/bare | target | result |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rows {
		a, s, b := med(r.metric, "arbor"), med(r.metric, "suture"), med(r.metric, "bare")
		tt, verdict := "", ""
		for i, t := range r.targets {
			if i > 0 {
				tt += ", "
				verdict += ", "
			}
			tt += t.text
			if t.ok(a, s, b) {
				verdict += "pass"
			} else {
				verdict += "**FAIL**"
			}
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.label,
			num(a, r.unit), num(s, r.unit), num(b, r.unit), ratio(a, s), ratio(a, b), tt, verdict)
	}
	// Scaling: churn at the large population over churn at the small one.
	sc := func(who string) float64 { return med(mChurnHi, who) / med(mChurnLo, who) }
	a := sc("arbor")
	verdict := "pass"
	if !(a <= 1.3) {
		verdict = "**FAIL**"
	}
	fmt.Printf("| scaling: churn %d / churn %d resident | %.2f | %.2f | %.2f | | | arbor ≤ 1.3 | %s |\n",
		cfg.n, cfg.small, a, sc("suture"), sc("bare"), verdict)

	fmt.Printf("\nspread (min–max over rounds), arbor / suture / bare:\n\n")
	for _, r := range rows {
		fmt.Printf("- %s:", r.metric)
		for i, who := range []string{"arbor", "suture", "bare"} {
			v := res[r.metric][who]
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, x := range v {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
			sep := " /"
			if i == 0 {
				sep = ""
			}
			fmt.Printf("%s %s–%s", sep, num(lo, r.unit), num(hi, r.unit))
		}
		fmt.Println()
	}
}

func num(v float64, unit string) string {
	if unit == unitBytes {
		return fmt.Sprintf("%.0f B", v)
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
