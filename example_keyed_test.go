// example_keyed_test.go: runnable examples of keyed children following a
// desired-state table.

package supervisor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-go/supervisor"
)

// One consumer per tenant: the table says which tenants exist and with what
// parameters; the Keyed tree starts, stops and restarts consumers to match.
func ExampleKeyed() {
	table, _ := supervisor.NewMemTable(map[string]string{"acme": "rate=10"})
	started := make(chan string, 10)
	consumer := func(tenant, params string) supervisor.Spec {
		return supervisor.Spec{Run: func(ctx context.Context) error {
			started <- tenant + " " + params
			<-ctx.Done()
			return nil
		}}
	}
	k, _ := supervisor.NewKeyed(table, consumer, supervisor.KeyedTree(supervisor.WithName("consumers")))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- k.Run(ctx) }()
	fmt.Println(<-started)

	_ = table.Set("globex", "rate=5")
	fmt.Println(<-started)
	_ = table.Set("acme", "rate=20") // the acme consumer restarts with its new value
	fmt.Println(<-started)
	table.Delete("globex")
	for k.Tree().Count().Active != 1 {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("running:", k.Tree().Children()[0].Name)
	cancel()
	fmt.Println(<-done)
	// Output:
	// acme rate=10
	// globex rate=5
	// acme rate=20
	// running: acme
	// <nil>
}
