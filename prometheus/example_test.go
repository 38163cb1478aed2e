package prometheus_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/arbor-go/supervisor"
	arborprom "github.com/arbor-go/supervisor/prometheus"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Example wires the metrics into a tree with a worker pool and prints the
// tree gauges of one scrape.
func Example() {
	m := arborprom.New()
	pool, _ := supervisor.New(supervisor.WithName("workers"), supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithHook(m.PoolHook(""))) // every worker is labelled child="workers"
	root, _ := supervisor.New(supervisor.WithName("app"), supervisor.WithHook(m.Hook()),
		supervisor.WithChildren(pool.Spec()))
	m.Watch(root)
	reg := prom.NewRegistry()
	reg.MustRegister(m)

	ctx, cancel := context.WithCancel(context.Background())
	done := root.Start(ctx)
	for range 3 {
		_, _ = pool.Add(supervisor.Spec{Run: func(ctx context.Context) error { <-ctx.Done(); return nil }})
	}

	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() != "arbor_tree_up" && f.GetName() != "arbor_children" {
			continue
		}
		var b strings.Builder
		_, _ = expfmt.MetricFamilyToText(&b, f)
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.Contains(line, `state="running"`) || strings.HasPrefix(line, "arbor_tree_up{") {
				fmt.Println(line)
			}
		}
	}
	cancel()
	<-done
	// Output:
	// arbor_children{state="running",tree="app"} 1
	// arbor_children{state="running",tree="workers"} 3
	// arbor_tree_up{tree="app"} 1
	// arbor_tree_up{tree="workers"} 1
}
