//go:build linux

// Command prefork is an HTTP pre-forking server done with arbor: a pool of
// worker processes that all accept from one listening socket owned by the
// supervisor, as with gunicorn or php-fpm. The workers are this same
// program, started with ARBOR_PREFORK_WORKER=1; they receive the socket by
// systemd socket activation and report busy/idle and their request count
// over the notify socket.
//
//	go run ./examples/prefork -workers 4
//	curl http://127.0.0.1:8080/            # which worker answered
//	curl http://127.0.0.1:8081/status      # the scoreboard, as JSON
//	kill -HUP <supervisor pid>             # rolling reload, no failed request
//	kill -TTIN <supervisor pid>            # one worker more (TTOU: one fewer)
//
// The status server is a goroutine child of the same tree, serving on a
// socket of the tree as well: its restarts never refuse a connection.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/proc"
)

// workerEnv marks a worker process.
const workerEnv = "ARBOR_PREFORK_WORKER"

// config holds the supervisor's flags.
type config struct {
	addr, status string
	workers      int
	grace        time.Duration
	maxRequests  int
}

func main() {
	if os.Getenv(workerEnv) == "1" {
		if err := serveWorker(); err != nil {
			fmt.Fprintln(os.Stderr, "prefork worker:", err)
			os.Exit(1)
		}
		return
	}
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address of the HTTP server (the workers' shared socket)")
	flag.StringVar(&cfg.status, "status", "127.0.0.1:8081", "address of the status server")
	flag.IntVar(&cfg.workers, "workers", 4, "number of worker processes")
	flag.DurationVar(&cfg.grace, "grace", 10*time.Second, "how long a stopping worker may finish its requests")
	flag.IntVar(&cfg.maxRequests, "max-requests", 0, "recycle a worker after this many requests (+10% jitter); 0: never")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, cfg, logger, func(httpAddr, statusAddr string) {
		logger.Info("serving", "http", httpAddr, "status", statusAddr, "pid", os.Getpid())
	})
	if err != nil {
		logger.Error("prefork", "err", err)
		os.Exit(1)
	}
}

// run runs the supervisor until ctx is done; started is called with the
// two addresses once every worker is ready.
func run(ctx context.Context, cfg config, logger *slog.Logger, started func(httpAddr, statusAddr string)) error {
	web, err := proc.Listen("http", "tcp", cfg.addr)
	if err != nil {
		return err
	}
	defer web.Close()
	status, err := proc.Listen("status", "tcp", cfg.status)
	if err != nil {
		return err
	}
	defer status.Close()
	pool, err := newPool(cfg, web, logger)
	if err != nil {
		return err
	}
	tree, err := supervisor.New(
		supervisor.WithName("prefork"),
		supervisor.WithLogger(logger),
		supervisor.WithChildren(pool.Spec("workers"), statusSpec(status, pool)),
	)
	if err != nil {
		return err
	}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTTIN, syscall.SIGTTOU)
	defer signal.Stop(signals)
	errc := tree.Start(ctx)
	select {
	case err := <-errc:
		return err
	default:
	}
	started(web.Addr().String(), status.Addr().String())
	for {
		select {
		case err := <-errc:
			return err
		case sig := <-signals:
			onSignal(ctx, sig, pool, logger)
		}
	}
}

func newPool(cfg config, web *proc.Socket, logger *slog.Logger) (*proc.Pool, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	w := proc.Command(exe)
	w.Env = append(os.Environ(), workerEnv+"=1")
	w.Ready = proc.ReadyOnNotify()
	w.StartTimeout = 10 * time.Second
	w.Grace = cfg.grace
	w.Logger = logger
	pc := proc.PoolConfig{Name: "web", Worker: w, Size: cfg.workers, Sockets: []*proc.Socket{web}, Logger: logger}
	if cfg.maxRequests > 0 {
		pc.Recycle = &proc.Recycle{Requests: cfg.maxRequests, RequestsJitter: cfg.maxRequests / 10}
	}
	return proc.NewPool(pc)
}

// onSignal handles SIGHUP (rolling reload), SIGTTIN and SIGTTOU (one
// worker more or fewer).
func onSignal(ctx context.Context, sig os.Signal, pool *proc.Pool, logger *slog.Logger) {
	switch sig {
	case syscall.SIGHUP:
		logger.Info("rolling reload")
		go func() {
			if err := pool.Reload(ctx); err != nil && !errors.Is(err, context.Canceled) {
				logger.Error("reload", "err", err)
			} else {
				logger.Info("reload done")
			}
		}()
	case syscall.SIGTTIN, syscall.SIGTTOU:
		delta := 1
		if sig == syscall.SIGTTOU {
			delta = -1
		}
		n, err := pool.Scale(delta)
		logger.Info("scaled", "workers", n, "err", err)
	}
}

// statusPage is what GET /status returns.
type statusPage struct {
	Size    int               `json:"size"`
	Stats   proc.PoolStats    `json:"stats"`
	Workers []proc.WorkerInfo `json:"workers"`
}

// statusSpec is the status server: a goroutine child serving on a socket
// of the tree. GET /status shows the scoreboard; POST /reload rolls the
// workers; POST /scale?delta=N changes their number.
func statusSpec(s *proc.Socket, pool *proc.Pool) supervisor.Spec {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(statusPage{Size: pool.Size(), Stats: pool.Stats(), Workers: pool.Workers()})
	})
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		if err := pool.Reload(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "reloaded")
	})
	mux.HandleFunc("POST /scale", func(w http.ResponseWriter, r *http.Request) {
		var delta int
		if _, err := fmt.Sscan(r.URL.Query().Get("delta"), &delta); err != nil {
			http.Error(w, "delta: "+err.Error(), http.StatusBadRequest)
			return
		}
		n, err := pool.Scale(delta)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, n)
	})
	return supervisor.Spec{Name: "status", Run: func(ctx context.Context) error {
		ln, err := s.Listener(ctx)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		stop := context.AfterFunc(ctx, func() { srv.Close() })
		defer stop()
		if err := srv.Serve(ln); ctx.Err() == nil {
			return err
		}
		return nil
	}}
}
