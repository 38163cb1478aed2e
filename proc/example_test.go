//go:build linux

package proc_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/arbor-go/supervisor/proc"
)

// A socket of the supervisor passed to a process by socket activation.
func ExampleListen() {
	s, err := proc.Listen("web", "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	p := proc.Command("sh", "-c", `echo "fds=$LISTEN_FDS names=$LISTEN_FDNAMES mine=$((LISTEN_PID == $$))"`)
	p.Sockets = []*proc.Socket{s}
	p.Stdout = os.Stdout
	if err := p.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output: fds=1 names=web mine=1
}

// A static pool of two workers, grown by one.
func ExampleNewPool() {
	pool, err := proc.NewPool(proc.PoolConfig{Worker: proc.Command("sleep", "1000"), Size: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	waitIdle := func(n int) {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			idle := 0
			for _, w := range pool.Workers() {
				if w.State == proc.WorkerIdle {
					idle++
				}
			}
			if idle == n {
				return
			}
		}
	}
	waitIdle(2)
	fmt.Println(len(pool.Workers()), "workers")
	size, _ := pool.Scale(+1)
	waitIdle(3)
	fmt.Println(size, "workers:", len(pool.Workers()))
	cancel()
	fmt.Println(<-done)
	// Output:
	// 2 workers
	// 3 workers: 3
	// <nil>
}
