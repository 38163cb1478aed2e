//go:build unix

// Command procpool is a pre-forking daemon done with arbor: a
// SimpleOneForOne tree of N identical worker processes. Workers are sh
// scripts that do "jobs", crash now and then, and drain on SIGTERM. The tree
// restarts crashed workers with backoff; on SIGINT, SIGTERM or after
// -duration, it stops all of them gracefully (SIGTERM to each worker's
// process group, SIGKILL after -grace).
//
//	go run ./examples/procpool -workers 4 -duration 3s
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"sync/atomic"
	"syscall"
	"time"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/proc"
)

// workerScript simulates a worker: it announces itself (the readiness line),
// finishes a job every 200ms, crashes with exit status 3 now and then, and
// drains and exits 0 on SIGTERM.
const workerScript = `
trap 'echo "draining"; exit 0' TERM
echo "worker up"
i=0
while :; do
	sleep 0.2 & wait $!
	i=$((i+1))
	echo "job $i done"
	if [ $(( ($$ + i) % 9 )) -eq 0 ]; then
		echo "simulated crash" >&2
		exit 3
	fi
done
`

func main() {
	var cfg config
	flag.IntVar(&cfg.workers, "workers", 4, "number of worker processes")
	duration := flag.Duration("duration", 3*time.Second, "how long to run (0: until SIGINT/SIGTERM)")
	flag.DurationVar(&cfg.grace, "grace", time.Second, "how long a worker may drain before SIGKILL")
	flag.BoolVar(&cfg.verbose, "v", false, "log every output line and lifecycle record")
	flag.Parse()

	level := slog.LevelInfo
	if cfg.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	st, err := run(ctx, cfg, logger)
	logger.Info("pool stopped", "starts", st.starts, "crashes", st.crashes, "err", err)
	if err != nil {
		os.Exit(1)
	}
}

type config struct {
	workers int
	grace   time.Duration
	verbose bool // log output lines
}

type stats struct {
	starts, crashes int64
}

// run runs the pool until ctx is done.
func run(ctx context.Context, cfg config, logger *slog.Logger) (stats, error) {
	var crashes, starts atomic.Int64
	running := make(chan struct{})
	tree, err := supervisor.New(
		supervisor.WithName("procpool"),
		supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithIntensity(3*cfg.workers, 5*time.Second),
		supervisor.WithBackoff(100*time.Millisecond, 2*time.Second),
		supervisor.WithLogger(logger),
		supervisor.WithHook(func(ev supervisor.Event) {
			switch ev.Kind {
			case supervisor.TreeReady:
				close(running)
			case supervisor.ChildStarted:
				starts.Add(1)
			case supervisor.ChildExited:
				if ev.Err != nil && !ev.Shutdown {
					crashes.Add(1)
				}
			}
		}),
	)
	if err != nil {
		return stats{}, err
	}

	done := make(chan error, 1)
	go func() { done <- tree.Run(ctx) }()
	select {
	case <-running:
	case err := <-done:
		return stats{}, err
	}

	// Each output line is a record with child, pid and stream attributes;
	// without -v only warnings and errors get through.
	outLogger := logger
	if !cfg.verbose {
		outLogger = slog.New(levelFilter{logger.Handler(), slog.LevelWarn})
	}
	for i := range cfg.workers {
		w := proc.Command("sh", "-c", workerScript)
		w.Grace = cfg.grace
		w.Logger = outLogger
		w.Ready = proc.ReadyOnOutput(regexp.MustCompile(`^worker up$`))
		w.StartTimeout = 5 * time.Second
		name, err := tree.Add(w.Spec(fmt.Sprintf("worker-%d", i+1)))
		if err != nil {
			logger.Error("cannot add a worker", "err", err)
			break
		}
		logger.Info("worker added", "child", name)
	}

	err = <-done
	return stats{starts: starts.Load(), crashes: crashes.Load()}, err
}

// levelFilter raises the minimum level of a handler.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(as), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name), f.min}
}
