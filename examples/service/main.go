// Command service is a small supervised service: an HTTP server, a database
// subtree, a pool of workers, and a flaky dependency restarted with backoff,
// all under one supervision tree that logs its events through slog, speaks
// systemd's notify protocol, and shuts down cleanly on SIGINT or SIGTERM.
//
//	go run ./examples/service            # until Ctrl-C
//	go run ./examples/service -for 5s    # for five seconds
//
// While it runs, its HTTP address serves the operations surface:
//
//	http://localhost:8080/debug/arbor/   the status page (?format=json for JSON, ?all=1 for every pool child)
//	http://localhost:8080/metrics        Prometheus metrics
//	http://localhost:8080/livez          liveness  (?verbose lists the checks)
//	http://localhost:8080/readyz         readiness (?verbose lists the checks)
//
// It is a module of its own (it needs the Prometheus module, which the root
// module must not require); the repository's go.work makes `go run
// ./examples/service` work from the repository root.
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
	arborprom "github.com/arbor-go/supervisor/prometheus"
	"github.com/arbor-go/supervisor/status"
	"github.com/arbor-go/supervisor/systemd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	metrics := arborprom.New()
	notifier, err := systemd.New(systemd.WithLogger(logger)) // a no-op outside systemd
	if err != nil {
		return err
	}
	hooks := []supervisor.Option{supervisor.WithLogger(logger), supervisor.WithHook(metrics.Hook()), supervisor.WithHook(notifier.Hook)}

	// A database connection and its cache: restarted together.
	db, err := supervisor.New(append(hooks, supervisor.WithName("db"), supervisor.WithStrategy(supervisor.OneForAll),
		supervisor.WithChildren(
			supervisor.Spec{Name: "conn", Run: idle, WaitReady: true},
			supervisor.Spec{Name: "cache", Run: idle},
		))...)
	if err != nil {
		return err
	}
	pool, err := newPool(logger, metrics)
	if err != nil {
		return err
	}

	var root *supervisor.Tree
	root, err = supervisor.New(append(hooks,
		supervisor.WithName("service"),
		supervisor.WithStrategy(supervisor.RestForOne), // the HTTP server depends on the db and the pool
		supervisor.WithIntensity(10, time.Minute),
		supervisor.WithBackoff(100*time.Millisecond, 5*time.Second),
		supervisor.WithChildren(
			db.Spec(),
			pool,
			supervisor.Spec{Name: "http", WaitReady: true, Shutdown: 10 * time.Second, Run: func(ctx context.Context) error {
				return serveHTTP(ctx, addr, handler(root, metrics), listening)
			}},
			// Last, so that under RestForOne its failures restart only itself.
			supervisor.Spec{Name: "flaky-dependency", Run: flakyDependency, Restart: supervisor.Transient},
		))...)
	if err != nil {
		return err
	}
	metrics.Watch(root)
	return notifier.Run(ctx, root) // root.Run, plus READY=1, STATUS=, WATCHDOG=1, STOPPING=1 under systemd
}

// newPool returns the child that runs a pool of identical workers: a
// SimpleOneForOne tree, filled each time it starts. It is the pool's own
// Tree.Spec (so the status page and the metrics see the subtree) with a Run
// that starts the tree and then adds the workers.
func newPool(logger *slog.Logger, metrics *arborprom.Metrics) (supervisor.Spec, error) {
	pool, err := supervisor.New(
		supervisor.WithName("workers"),
		supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithLogger(logger),
		supervisor.WithHook(metrics.PoolHook("")), // child label "workers", never worker-N
	)
	if err != nil {
		return supervisor.Spec{}, err
	}
	spec := pool.Spec()
	spec.Run = func(ctx context.Context) error {
		errc := pool.Start(ctx) // the pool reports itself ready to its parent here
		for i := 0; i < 4; i++ {
			if _, err := pool.Add(supervisor.Spec{Name: fmt.Sprintf("worker-%d", i), Run: worker}); err != nil {
				return err
			}
		}
		return <-errc
	}
	return spec, nil
}

// handler serves the operations surface of root.
func handler(root *supervisor.Tree, metrics *arborprom.Metrics) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	status.Mount(mux, root, status.WithRequired("service/db", "service/workers"))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/{$}", http.RedirectHandler("/debug/arbor/", http.StatusFound))
	return mux
}

// idle runs until cancelled, ready at once.
func idle(ctx context.Context) error {
	supervisor.Ready(ctx)
	<-ctx.Done()
	return nil
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

// serveHTTP serves h and becomes ready once it listens. It shuts the server
// down gracefully when cancelled.
func serveHTTP(ctx context.Context, addr string, h http.Handler, listening chan<- string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
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
