//go:build linux

package proc_test

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"testing"
	"time"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/proc"
)

// benchConc is the number of concurrent clients of BenchmarkThroughput.
const benchConc = 8

// startBare starts the HTTP worker listening by itself, without arbor.
func startBare(b *testing.B) (url string, stop func()) {
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
	return "http://" + addr + "/", func() { cmd.Process.Kill(); cmd.Wait() }
}

// startPool starts a pool of size HTTP workers with extra arguments.
func startPool(b *testing.B, size int, args ...string) (url string, stop func()) {
	s, err := proc.Listen("http", "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	pool, err := proc.NewPool(proc.PoolConfig{Worker: worker(args...), Size: size, Sockets: []*proc.Socket{s}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	for readyWorkers(pool.Workers()) < size {
		time.Sleep(5 * time.Millisecond)
	}
	return "http://" + s.Addr().String() + "/", func() { cancel(); <-done; s.Close() }
}

// BenchmarkThroughput measures requests/s (8 keep-alive clients) through
// a pool of one HTTP worker (socket activation, busy/idle notify messages)
// and through the same worker program listening by itself, without arbor;
// pool-1-quiet is the pool with a worker that sends no state messages,
// pool-2 has two workers. See BenchmarkThroughputRatio for the ratio.
func BenchmarkThroughput(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		url, stop := startBare(b)
		defer stop()
		throughput(b, url)
	})
	for _, tc := range []struct {
		name string
		size int
		args []string
	}{{"pool-1", 1, nil}, {"pool-1-quiet", 1, []string{"-quiet"}}, {"pool-2", 2, nil}} {
		b.Run(tc.name, func(b *testing.B) {
			url, stop := startPool(b, tc.size, tc.args...)
			defer stop()
			throughput(b, url)
		})
	}
}

// BenchmarkThroughputRatio runs the bare worker, the pool and the quiet
// pool in interleaved rounds of 5,000 requests each (so that a busy
// machine weighs on all alike) and reports the median requests/s of each
// and the ratios pool/bare. Run it with -benchtime 1x: b.N is not used.
func BenchmarkThroughputRatio(b *testing.B) {
	const rounds, perRound = 7, 5000
	bare, stopBare := startBare(b)
	defer stopBare()
	pool, stopPool := startPool(b, 1)
	defer stopPool()
	quiet, stopQuiet := startPool(b, 1, "-quiet")
	defer stopQuiet()
	urls := []string{bare, pool, quiet}
	rates := make([][]float64, len(urls))
	for range b.N {
		for round := range rounds {
			for k := range urls {
				i := (k + round) % len(urls) // rotate the order
				res := load(urls[i], perRound, benchConc, true, nil)
				if res.failed.Load() > 0 {
					b.Fatal(res)
				}
				rates[i] = append(rates[i], perRound/res.elapsed.Seconds())
			}
		}
	}
	med := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	mb, mp, mq := med(rates[0]), med(rates[1]), med(rates[2])
	b.ReportMetric(mb, "bare-req/s")
	b.ReportMetric(mp, "pool-req/s")
	b.ReportMetric(mq, "quiet-pool-req/s")
	b.ReportMetric(mp/mb, "pool/bare")
	b.ReportMetric(mq/mb, "quiet/bare")
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
	b.Run("tree", benchTreeRestart)
	b.Run("exec-worker", func(b *testing.B) {
		// The same HTTP worker, bare: start it, wait until it accepts a
		// connection, kill it, reap it.
		for b.Loop() {
			bareWorkerCycle(b)
		}
	})
	b.Run("pool-worker", benchPoolRestart)
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

// BenchmarkRestartRatio runs, in interleaved rounds (so that a busy
// machine weighs on all alike), bare fork/exec/wait of /bin/true against
// proc.Process.Run of it, and the bare HTTP worker's start-to-serving
// against a pool's SIGKILL-to-ready replacement of the same worker; it
// reports the medians (ms per process) and the ratios. Run it with
// -benchtime 1x: b.N is not used.
func BenchmarkRestartRatio(b *testing.B) {
	const rounds, perRound, workerRuns = 7, 100, 20
	pool, pid := runOneWorkerPool(b)
	p := proc.Command("/bin/true")
	timed := func(n int, f func()) float64 {
		start := time.Now()
		for range n {
			f()
		}
		return float64(time.Since(start).Microseconds()) / 1000 / float64(n)
	}
	var execMs, procMs, bareWorkerMs, poolWorkerMs []float64
	for range b.N {
		for range rounds {
			execMs = append(execMs, timed(perRound, func() { _ = exec.Command("/bin/true").Run() }))
			procMs = append(procMs, timed(perRound, func() { _ = p.Run(context.Background()) }))
			bareWorkerMs = append(bareWorkerMs, timed(workerRuns, func() { bareWorkerCycle(b) }))
			poolWorkerMs = append(poolWorkerMs, timed(workerRuns, func() { killPid(pid); pid = readyPID(pool, pid) }))
		}
	}
	med := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	e, pr, bw, pw := med(execMs), med(procMs), med(bareWorkerMs), med(poolWorkerMs)
	b.ReportMetric(e, "exec-ms")
	b.ReportMetric(pr, "proc-ms")
	b.ReportMetric(pr/e, "proc/exec")
	b.ReportMetric(bw, "bare-worker-ms")
	b.ReportMetric(pw, "pool-restart-ms")
	b.ReportMetric(pw/bw, "pool/bare-worker")
}

// bareWorkerCycle starts the HTTP worker bare, waits until it accepts a
// connection, kills it and reaps it.
func bareWorkerCycle(b *testing.B) {
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

// benchTreeRestart measures the automatic restart of a tree's permanent
// child running /bin/true.
func benchTreeRestart(b *testing.B) {
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
}

// runOneWorkerPool runs a pool of one HTTP worker on a loopback socket
// until the benchmark ends, and returns it with its ready worker's pid.
func runOneWorkerPool(b *testing.B) (*proc.Pool, int) {
	s, err := proc.Listen("http", "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	pool, err := proc.NewPool(proc.PoolConfig{Worker: worker(), Size: 1, Sockets: []*proc.Socket{s}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return pool, readyPID(pool, 0)
}

// benchPoolRestart measures a pool's replacement of a SIGKILLed worker,
// until the replacement is ready.
func benchPoolRestart(b *testing.B) {
	pool, pid := runOneWorkerPool(b)
	for b.Loop() {
		killPid(pid)
		pid = readyPID(pool, pid)
	}
}
