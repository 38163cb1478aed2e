// example_test.go: runnable examples of the etcd module, against the tests'
// embedded server.

package etcd

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/arbor-go/supervisor"
)

// A subtree that must run on one replica only: here, one of two replicas
// of the same process. The leader's child gets a fencing token.
func ExampleSingleton() {
	cli, _ := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), Logger: nopLogger()})
	defer cli.Close()
	leading := make(chan string, 2)
	start := func(replica string) (*Singleton, context.CancelFunc, <-chan error) {
		// WaitReady: the tree's start waits until the replica leads or
		// stands by.
		s, _ := NewSingleton(cli, "scheduler", supervisor.Spec{WaitReady: true, Run: func(ctx context.Context) error {
			supervisor.Ready(ctx)
			leading <- fmt.Sprintf("%s leads, token > 0: %v", replica, Token(ctx) > 0)
			<-ctx.Done()
			return nil
		}}, WithTTL(2*time.Second), WithReplicaID(replica), WithPrefix("/example-singleton/"))
		tree, _ := supervisor.New(supervisor.WithChildren(s.Spec()))
		ctx, cancel := context.WithCancel(context.Background())
		return s, cancel, tree.Start(ctx)
	}
	a, stopA, doneA := start("a")
	fmt.Println(<-leading)
	b, stopB, doneB := start("b")
	fmt.Println("b is", b.Role())
	stopA() // a resigns: b takes over at once
	<-doneA
	fmt.Println(<-leading)
	fmt.Println("a is", a.Role())
	stopB()
	<-doneB
	// Output:
	// a leads, token > 0: true
	// b is standby
	// b leads, token > 0: true
	// a is stopped
}

// Keyed children spread over replicas: the same keyed code as with a
// supervisor.MemTable, with a ShardedTable instead.
func ExampleShardedTable() {
	cli, _ := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), Logger: nopLogger()})
	defer cli.Close()
	table, _ := NewShardedTable(cli, "tenants", WithTTL(2*time.Second), WithPrefix("/example-sharded/"))
	started := make(chan string, 10)
	k, _ := supervisor.NewKeyed(table, func(tenant, params string) supervisor.Spec {
		return supervisor.Spec{Run: func(ctx context.Context) error {
			started <- tenant + " " + params
			<-ctx.Done()
			return nil
		}}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- k.Run(ctx) }()
	_ = table.Put(ctx, "acme", "rate=10")
	fmt.Println(<-started)
	cancel()
	fmt.Println(<-done)
	// Output:
	// acme rate=10
	// <nil>
}
