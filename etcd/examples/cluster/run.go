// run.go: the two modes of the cluster example: the in-process demo and
// one replica of a real cluster.

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/arbor-go/supervisor/etcd/internal/embedded"
)

// running is one replica of the demo.
type running struct {
	id   string
	cli  *clientv3.Client
	stop context.CancelFunc
	done <-chan error
}

// demo runs an embedded etcd and three replicas, kills the scheduler's.
func demo(ttl, killAfter time.Duration) error {
	dir, err := os.MkdirTemp("", "arbor-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(dir)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Println("embedded etcd at", srv.Endpoints())
	b := &board{runner: map[string]string{}}
	var rs []*running
	defer func() {
		for _, r := range rs {
			r.stop()
			<-r.done
			_ = r.cli.Close()
		}
	}()
	for _, id := range []string{"replica-a", "replica-b", "replica-c"} {
		r, err := startDemoReplica(srv.Endpoints(), id, ttl, b, len(rs) == 0)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	if !b.settled("") {
		return errors.New("the work did not start within a minute")
	}
	time.Sleep(killAfter)
	b.print("before:")
	victim := b.snapshot()["scheduler"]
	t0 := time.Now()
	for _, r := range rs {
		if r.id == victim {
			_ = r.cli.Close() // the replica dies: no keep-alive, no goodbye
		}
	}
	fmt.Printf("killed %s (it ran the scheduler); lease TTL %v\n", victim, ttl)
	if !b.settled(victim) {
		return errors.New("no takeover within a minute")
	}
	fmt.Printf("takeover took %v\n", time.Since(t0).Round(time.Millisecond))
	b.print("after:")
	return nil
}

func startDemoReplica(endpoints []string, id string, ttl time.Duration, b *board, first bool) (*running, error) {
	cli, err := newClient(endpoints)
	if err != nil {
		return nil, err
	}
	tree, table, err := newReplica(cli, id, ttl, b)
	if err != nil {
		return nil, err
	}
	if first {
		if err := seed(context.Background(), table); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &running{id: id, cli: cli, stop: cancel, done: tree.Start(ctx)}, nil
}

// replica runs one replica of a real cluster until SIGINT or SIGTERM,
// printing what runs here whenever it changes.
func replica(endpoints []string, id string, ttl time.Duration) error {
	cli, err := newClient(endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	b := &board{runner: map[string]string{}}
	tree, table, err := newReplica(cli, id, ttl, b)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = seed(sctx, table)
	cancel()
	if err != nil {
		return err
	}
	fmt.Println("replica", table.ID(), "of", endpoints, "- Ctrl-C to stop")
	done := tree.Start(ctx)
	last := ""
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(500 * time.Millisecond):
		}
		if s := fmt.Sprint(b.snapshot()); s != last {
			last = s
			b.print(time.Now().Format("15:04:05") + " runs here:")
		}
	}
}
