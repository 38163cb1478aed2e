//go:build linux

package proc_test

import (
	"context"
	"net"
	"os/exec"
	"testing"
	"time"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/proc"
)

// benchConc is the number of concurrent clients of BenchmarkThroughput.
const benchConc = 8

// BenchmarkThroughput compares requests/s through a pool of one HTTP
// worker (socket activation, busy/idle notify messages) with the same
// worker program listening by itself, without arbor; pool-1-quiet is the
// pool with a worker that sends no state messages, pool-2 has two workers.
func BenchmarkThroughput(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(httpWorker, "-listen", addr)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		for i := 0; ; i++ {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if i > 500 {
				b.Fatal("bare worker not listening")
			}
			time.Sleep(10 * time.Millisecond)
		}
		throughput(b, "http://"+addr+"/")
	})
	for _, tc := range []struct {
		name string
		size int
		args []string
	}{{"pool-1", 1, nil}, {"pool-1-quiet", 1, []string{"-quiet"}}, {"pool-2", 2, nil}} {
		size := tc.size
		b.Run(tc.name, func(b *testing.B) {
			s, err := proc.Listen("http", "tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			pool, err := proc.NewPool(proc.PoolConfig{Worker: worker(tc.args...), Size: size, Sockets: []*proc.Socket{s}})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- pool.Run(ctx) }()
			defer func() { cancel(); <-done }()
			for readyWorkers(pool.Workers()) < size {
				time.Sleep(5 * time.Millisecond)
			}
			throughput(b, "http://"+s.Addr().String()+"/")
		})
	}
}

func throughput(b *testing.B, url string) {
	b.ResetTimer()
	res := load(url, b.N, benchConc, true, nil)
	b.StopTimer()
	if res.failed.Load() > 0 {
		b.Fatal(res)
	}
	b.ReportMetric(float64(b.N)/res.elapsed.Seconds(), "req/s")
}

// BenchmarkRestart compares the cost of running a process to completion
// (fork, exec, wait) bare with os/exec, with proc.Process.Run, and as the
// automatic restart of a tree's permanent child; and the time a pool takes
// to replace a SIGKILLed worker until the replacement is ready.
func BenchmarkRestart(b *testing.B) {
	b.Run("exec", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proc", func(b *testing.B) {
		p := proc.Command("/bin/true")
		for b.Loop() {
			if err := p.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tree", func(b *testing.B) {
		starts := make(chan struct{}, 1024)
		spec := proc.Command("/bin/true").Spec("true")
		tree, err := supervisor.New(supervisor.WithChildren(spec), supervisor.WithIntensity(1000, 10*time.Millisecond),
			supervisor.WithHook(func(ev supervisor.Event) {
				if ev.Kind == supervisor.ChildStarted {
					select {
					case starts <- struct{}{}:
					default:
					}
				}
			}))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.ResetTimer()
		go func() { done <- tree.Run(ctx) }()
		for range b.N {
			<-starts
		}
		b.StopTimer()
		cancel()
		<-done
	})
	b.Run("exec-worker", func(b *testing.B) {
		// The same HTTP worker, bare: start it, wait until it accepts a
		// connection, kill it, reap it.
		for b.Loop() {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			cmd := exec.Command(httpWorker, "-listen", addr)
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			for {
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	b.Run("pool-worker", func(b *testing.B) {
		s, err := proc.Listen("http", "tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		pool, err := proc.NewPool(proc.PoolConfig{Worker: worker(), Size: 1, Sockets: []*proc.Socket{s}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- pool.Run(ctx) }()
		defer func() { cancel(); <-done }()
		pid := readyPID(pool, 0)
		for b.Loop() {
			killPid(pid)
			pid = readyPID(pool, pid)
		}
	})
}

// readyPID waits for a ready worker whose pid is not old and returns it.
func readyPID(pool *proc.Pool, old int) int {
	for {
		for _, w := range pool.Workers() {
			if w.PID != old && w.PID != 0 && (w.State == proc.WorkerIdle || w.State == proc.WorkerBusy) {
				return w.PID
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
}
