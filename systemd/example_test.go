package systemd_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/systemd"
)

// Example runs a tree as a systemd service. Outside systemd (no
// NOTIFY_SOCKET) the notifier only runs the tree.
func Example() {
	n, err := systemd.New(systemd.WithSocket("")) // as if NOTIFY_SOCKET were unset
	if err != nil {
		fmt.Println(err)
		return
	}
	tree, _ := supervisor.New(supervisor.WithName("app"), supervisor.WithHook(n.Hook),
		supervisor.WithChildren(supervisor.Spec{Name: "worker", Run: func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		}}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	fmt.Println("notifying:", n.Enabled())
	fmt.Println("run:", n.Run(ctx, tree))
	// Output:
	// notifying: false
	// run: <nil>
}
