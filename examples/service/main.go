// Command service is a small supervised service: an HTTP server, a pool of
// workers, and a flaky dependency restarted with backoff, all under one
// supervision tree that logs its events through slog and shuts down cleanly
// on SIGINT or SIGTERM.
//
//	go run ./examples/service            # until Ctrl-C
//	go run ./examples/service -for 5s    # for five seconds
//
// While it runs, `curl localhost:8080/` shows the tree's children.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/arbor-go/supervisor"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "HTTP listen address")
	dur := flag.Duration("for", 0, "stop after this long (0: run until SIGINT/SIGTERM)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(ctx, logger, *addr, nil); err != nil {
		logger.Error("service stopped", "err", err)
		os.Exit(1)
	}
	logger.Info("service stopped cleanly")
}

// run builds the tree and runs it until ctx is cancelled. listening, if not
// nil, receives the HTTP server's address once it accepts connections.
func run(ctx context.Context, logger *slog.Logger, addr string, listening chan<- string) error {
	// A pool of identical workers: SimpleOneForOne, filled once it runs.
	pool, err := supervisor.New(
		supervisor.WithName("workers"),
		supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithLogger(logger),
	)
	if err != nil {
		return err
	}
	runPool := func(ctx context.Context) error {
		errc := pool.Start(ctx)
		for i := 0; i < 4; i++ {
			if _, err := pool.Add(supervisor.Spec{Name: fmt.Sprintf("worker-%d", i), Run: worker}); err != nil {
				return err
			}
		}
		supervisor.Ready(ctx) // the pool is full
		return <-errc
	}

	var root *supervisor.Tree
	root, err = supervisor.New(
		supervisor.WithName("service"),
		supervisor.WithStrategy(supervisor.RestForOne), // the HTTP server depends on the pool
		supervisor.WithIntensity(10, time.Minute),
		supervisor.WithBackoff(100*time.Millisecond, 5*time.Second),
		supervisor.WithLogger(logger),
		supervisor.WithChildren(
			supervisor.Spec{Name: "workers", Run: runPool, WaitReady: true, Shutdown: supervisor.Infinity},
			supervisor.Spec{Name: "http", WaitReady: true, Shutdown: 10 * time.Second, Run: func(ctx context.Context) error {
				return serveHTTP(ctx, addr, root, listening)
			}},
			// Last, so that under RestForOne its failures restart only itself.
			supervisor.Spec{Name: "flaky-dependency", Run: flakyDependency, Restart: supervisor.Transient},
		),
	)
	if err != nil {
		return err
	}
	return root.Run(ctx)
}

// worker pretends to process jobs until cancelled.
func worker(ctx context.Context) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C: // one job done
		}
	}
}

// flakyDependency is a connection that drops now and then; the tree restarts
// it with exponential backoff.
func flakyDependency(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(time.Duration(500+rand.IntN(1500)) * time.Millisecond):
		return errors.New("connection reset by peer")
	}
}

// serveHTTP serves the tree's state as text and becomes ready once it
// listens. It shuts the server down gracefully when cancelled.
func serveHTTP(ctx context.Context, addr string, root *supervisor.Tree, listening chan<- string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range root.Children() {
			fmt.Fprintf(w, "%-18s %-10v restarts=%d err=%v\n", c.Name, c.State, c.Restarts, c.Err)
		}
	})}
	supervisor.Ready(ctx)
	if listening != nil {
		listening <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(shutdownCtx)
		<-errc
		return err
	}
}
