// Command cluster shows a singleton subtree and keyed workers spread over
// replicas with etcd.
//
// With no flags it starts a single-node etcd inside the process and three
// replicas, each with its own client: every replica runs a tree holding a
// Singleton "scheduler" (a subtree) and a keyed subtree over a ShardedTable
// of 12 workers. After a few seconds it kills the replica running the
// scheduler (its client is closed: no keep-alive, no goodbye), and prints
// who runs what before and after, and how long the takeover took.
//
//	go run ./examples/cluster                 (from the etcd module's directory)
//
// With -endpoints, each run of the program is one replica of a real etcd
// cluster; start several, stop some, and watch the work move:
//
//	go run ./examples/cluster -endpoints 127.0.0.1:2379 -id a
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/etcd"
)

const workers = 12

func main() {
	endpoints := flag.String("endpoints", "", "comma-separated etcd endpoints: run one replica of a real cluster")
	id := flag.String("id", "", "this replica's ID (with -endpoints; default host-pid-random)")
	ttl := flag.Duration("ttl", 2*time.Second, "lease TTL (whole seconds)")
	killAfter := flag.Duration("kill-after", 3*time.Second, "demo: when to kill the scheduler's replica")
	flag.Parse()
	var err error
	if *endpoints == "" {
		err = demo(*ttl, *killAfter)
	} else {
		err = replica(strings.Split(*endpoints, ","), *id, *ttl)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// board records who runs what, for printing.
type board struct {
	mu     sync.Mutex
	runner map[string]string // work -> replica
}

func (b *board) set(work, replica string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if replica == "" {
		delete(b.runner, work)
	} else {
		b.runner[work] = replica
	}
}

// snapshot returns work -> replica.
func (b *board) snapshot() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.runner)
}

// print prints, per replica, the work it runs.
func (b *board) print(title string) {
	per := map[string][]string{}
	for work, r := range b.snapshot() {
		per[r] = append(per[r], work)
	}
	fmt.Println(title)
	for _, r := range slices.Sorted(maps.Keys(per)) {
		slices.Sort(per[r])
		fmt.Printf("  %-10s %s\n", r, strings.Join(per[r], " "))
	}
}

// work returns a Run that shows on the board while it runs.
func (b *board) work(name, replica string) func(context.Context) error {
	return func(ctx context.Context) error {
		b.set(name, replica)
		<-ctx.Done()
		b.set(name, "")
		return nil
	}
}

// newReplica builds replica id's tree: the Singleton "scheduler" (a subtree
// with one worker) and the keyed workers over the ShardedTable "workers".
func newReplica(cli *clientv3.Client, id string, ttl time.Duration, b *board) (*supervisor.Tree, *etcd.ShardedTable, error) {
	opts := []etcd.Option{etcd.WithTTL(ttl), etcd.WithReplicaID(id)}
	sched, err := supervisor.New(supervisor.WithName("scheduler"),
		supervisor.WithChildren(supervisor.Spec{Name: "tick", Run: b.work("scheduler", id)}))
	if err != nil {
		return nil, nil, err
	}
	single, err := etcd.NewSingleton(cli, "scheduler", sched.Spec(), opts...)
	if err != nil {
		return nil, nil, err
	}
	table, err := etcd.NewShardedTable(cli, "workers", opts...)
	if err != nil {
		return nil, nil, err
	}
	keyed, err := supervisor.NewKeyed(table, func(key, _ string) supervisor.Spec {
		return supervisor.Spec{Run: b.work(key, id)}
	}, supervisor.KeyedTree(supervisor.WithName("workers")))
	if err != nil {
		return nil, nil, err
	}
	tree, err := supervisor.New(supervisor.WithName(id), supervisor.WithChildren(single.Spec(), keyed.Spec()),
		supervisor.WithBackoff(100*time.Millisecond, 2*time.Second))
	return tree, table, err
}

func newClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
}

// seed puts the workers into the table (idempotent).
func seed(ctx context.Context, table *etcd.ShardedTable) error {
	for i := range workers {
		if err := table.Put(ctx, fmt.Sprintf("worker-%02d", i), "v1"); err != nil {
			return err
		}
	}
	return nil
}

// settled waits until the scheduler and every worker run, none on the
// replica not; it returns false after a minute.
func (b *board) settled(not string) bool {
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		s := b.snapshot()
		ok := len(s) == workers+1
		for _, r := range s {
			ok = ok && r != not
		}
		if ok {
			return true
		}
	}
	return false
}
