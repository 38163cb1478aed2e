//go:build unix

// This file holds Pool: a pre-forking pool of identical worker processes
// (static or dynamic size, recycling, babysitting, rolling reload), its
// public API and the loop that keeps it at its size.

package proc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	supervisor "github.com/arbor-go/supervisor"
)

// ErrPoolNotRunning is returned by Pool methods that act on workers while
// the pool's Run is not executing.
var ErrPoolNotRunning = errors.New("proc: pool not running")

// Pool runs N identical worker processes that share the pool's listening
// sockets, in the manner of gunicorn, unicorn or php-fpm: see PoolConfig
// for its settings. Run it as a child of a tree (Spec) or on its own (Run).
//
// Workers report their state by the systemd notify protocol on the socket
// named by NOTIFY_SOCKET (every worker gets one): READY=1 when ready (with
// Worker.Ready = ReadyOnNotify()), and the pool's own messages
// ARBOR_STATE=busy, ARBOR_STATE=idle and ARBOR_REQUESTS=N (requests served
// so far). Workers that never send them still work in a static pool; a
// dynamic pool then sees them as idle, and request recycling and
// babysitting do not apply to them. Malformed lines are ignored and
// counted (WorkerInfo.Malformed, PoolStats.Malformed).
type Pool struct {
	cfg  PoolConfig
	log  *slog.Logger
	rand *rand.Rand

	mu       sync.Mutex
	running  context.Context // Run's context; nil when not running
	cur      current         // the current worker spec
	size     int             // static pools: the target size
	workers  map[int]*worker
	nextID   int
	pace     pacing
	st       PoolStats
	bound    []*Socket // bound by Run from PoolConfig.Listen
	kick     chan struct{}
	reloadMu sync.Mutex // one Reload or Replace at a time
	wg       sync.WaitGroup
}

// current is a pool's worker spec; Replace changes it.
type current struct {
	spec *Process
	gen  int // generation of spec, from 1
}

// pacing holds when a pool may next start or shrink.
type pacing struct {
	nextStart  time.Time // no start before (after failures)
	lastShrink time.Time
}

// PoolStats counts what happened in a pool since NewPool.
type PoolStats struct {
	Started   int `json:"started"`   // workers started
	Crashed   int `json:"crashed"`   // workers that exited unasked
	Recycled  int `json:"recycled"`  // workers replaced for their requests or age
	Babysat   int `json:"babysat"`   // workers stopped for being busy too long
	Malformed int `json:"malformed"` // notify lines ignored
	fails     int
	lastErr   error
}

// NewPool checks cfg and returns a pool; the error matches ErrInvalidPool.
// The pool keeps a copy of cfg (and of *cfg.Worker).
func NewPool(cfg PoolConfig) (*Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	spec := *cfg.Worker
	p := &Pool{
		cfg:     cfg,
		cur:     current{spec: &spec, gen: 1},
		size:    cfg.Size,
		workers: map[int]*worker{},
		kick:    make(chan struct{}, 1),
		rand:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	if cfg.FailLimit == 0 {
		p.cfg.FailLimit = defaultFailLimit
	}
	if cfg.Logger != nil {
		p.log = cfg.Logger.With("pool", cfg.name())
	} else {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Spec returns a supervisor.Spec that runs the pool under the given child
// name: WaitReady (the pool is ready once its initial workers are), and a
// Shutdown that leaves room for the workers' Grace.
func (p *Pool) Spec(name string) supervisor.Spec {
	return supervisor.Spec{Name: name, Run: p.Run, WaitReady: true, Shutdown: p.cfg.Worker.shutdown()}
}

// Run starts the workers and keeps the pool at its size until ctx is done;
// then it stops every worker (at once, each with StopSignal and Grace) and
// returns nil once all are gone. It calls supervisor.Ready(ctx) once the
// initial workers are all ready. It returns an error when FailLimit
// workers in a row failed, or when the pool is already running.
func (p *Pool) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.running != nil {
		p.mu.Unlock()
		return fmt.Errorf("proc: pool %s: already running", p.cfg.name())
	}
	if err := ctx.Err(); err != nil {
		p.mu.Unlock()
		return err
	}
	bound, err := p.bind()
	if err != nil {
		p.mu.Unlock()
		return err
	}
	p.bound = bound
	p.running = ctx
	supervisor.ReportDetail(ctx, func() any { return p.Workers() }) // the scoreboard, in the tree's snapshot
	p.st.fails, p.pace.nextStart = 0, time.Time{}
	initial := p.size
	if d := p.cfg.Dynamic; d != nil {
		initial = d.Start
	}
	for range initial {
		p.startWorker(ctx, nil)
	}
	p.mu.Unlock()
	err = p.loop(ctx, initial)
	p.mu.Lock()
	for _, w := range p.workers {
		if w.info.State != WorkerStopping {
			w.stop()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	p.running = nil
	for _, s := range p.bound {
		s.Close()
	}
	p.bound = nil
	p.mu.Unlock()
	return err
}

// bind opens the sockets of PoolConfig.Listen.
func (p *Pool) bind() ([]*Socket, error) {
	var out []*Socket
	for _, e := range p.cfg.Listen {
		s, err := Listen(e.Name, e.network(), e.Address)
		if err != nil {
			for _, b := range out {
				b.Close()
			}
			return nil, fmt.Errorf("proc: pool %s: %w", p.cfg.name(), err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Sockets returns the sockets the workers receive, in fd order:
// PoolConfig.Sockets, then those bound from PoolConfig.Listen while Run
// executes.
func (p *Pool) Sockets() []*Socket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(slices.Clip(p.cfg.Sockets), p.bound...)
}

// loop keeps the pool at its size until ctx is done or too many workers
// failed.
func (p *Pool) loop(ctx context.Context, initial int) error {
	tick := time.NewTicker(p.tick())
	defer tick.Stop()
	announced := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
		case <-tick.C:
		}
		p.mu.Lock()
		err := p.reconcile(ctx)
		if !announced && p.readyCount() >= initial {
			announced = true
			supervisor.Ready(ctx)
		}
		p.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// tick is how often the loop looks at the pool without being kicked.
func (p *Pool) tick() time.Duration {
	d := 100 * time.Millisecond
	if p.cfg.BusyLimit > 0 {
		d = min(d, max(p.cfg.BusyLimit/4, 5*time.Millisecond))
	}
	if dy := p.cfg.Dynamic; dy != nil && dy.Interval > 0 {
		d = min(d, dy.Interval)
	}
	return d
}

func (p *Pool) kickLocked() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// readyCount counts the counted workers that are ready. Call with mu held.
func (p *Pool) readyCount() int {
	n := 0
	for _, w := range p.workers {
		if w.counted() && w.isReady() {
			n++
		}
	}
	return n
}

// reconcile babysits, recycles and sizes the pool. Call with mu held.
func (p *Pool) reconcile(ctx context.Context) error {
	if p.st.fails >= p.cfg.FailLimit {
		return fmt.Errorf("proc: pool %s: %d workers in a row failed; last: %w", p.cfg.name(), p.st.fails, p.st.lastErr)
	}
	now := time.Now()
	// A recycled worker that is still stopping counts as the surge too:
	// recycling adds at most one process to the pool at a time.
	surging := 0
	for _, w := range p.workers {
		if w.replaces != nil || w.info.State == WorkerStopping {
			surging++
		}
	}
	for _, w := range p.sorted() {
		if !w.counted() {
			continue
		}
		if p.cfg.BusyLimit > 0 && w.info.State == WorkerBusy && now.Sub(w.info.BusySince) > p.cfg.BusyLimit {
			p.log.Warn("worker busy too long, stopping it", "worker", w.info.ID, "pid", w.info.PID, "busy_since", w.info.BusySince)
			p.st.Babysat++
			w.stop()
			continue
		}
		if surging == 0 && w.replacedBy == nil && w.isReady() && p.due(w, now) && !now.Before(p.pace.nextStart) {
			p.log.Info("recycling worker", "worker", w.info.ID, "pid", w.info.PID, "requests", w.info.Requests)
			p.st.Recycled++
			p.startWorker(ctx, w)
			surging++
		}
	}
	if p.cfg.Dynamic != nil {
		p.sizeDynamic(ctx, now)
	} else {
		p.sizeStatic(ctx, now)
	}
	return nil
}

// due reports whether w has reached a recycling limit.
func (p *Pool) due(w *worker, now time.Time) bool {
	return (w.maxReqs > 0 && w.info.Requests >= w.maxReqs) || (w.maxAge > 0 && now.Sub(w.info.Started) >= w.maxAge)
}

// sorted returns the workers by id (oldest first).
func (p *Pool) sorted() []*worker {
	ws := make([]*worker, 0, len(p.workers))
	for _, w := range p.workers {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(a, b *worker) int { return a.info.ID - b.info.ID })
	return ws
}

func (p *Pool) sizeStatic(ctx context.Context, now time.Time) {
	var counted []*worker
	for _, w := range p.sorted() {
		if w.counted() {
			counted = append(counted, w)
		}
	}
	for n := len(counted); n < p.size && !now.Before(p.pace.nextStart); n++ {
		p.startWorker(ctx, nil)
	}
	// Scale down: stop the newest workers first.
	for i := len(counted) - 1; i >= 0 && len(counted) > p.size; i-- {
		counted[i].stop()
		counted = counted[:i]
	}
}

// sizeDynamic starts workers at once while fewer than MinSpare are idle or
// starting, and stops one per Interval while more than MaxSpare have been
// idle for a whole Interval (so that a worker between two requests does
// not count as spare).
func (p *Pool) sizeDynamic(ctx context.Context, now time.Time) {
	d := p.cfg.Dynamic
	interval := d.Interval
	if interval == 0 {
		interval = defaultInterval
	}
	live, idle, spare := 0, 0, 0
	var victim *worker
	for _, w := range p.sorted() {
		if !w.counted() {
			continue
		}
		live++
		if w.info.State == WorkerStarting || w.info.State == WorkerIdle {
			idle++
		}
		if w.info.State == WorkerIdle && now.Sub(w.info.IdleSince) >= interval {
			spare++
			victim = w // the newest long-idle worker
		}
	}
	for ; idle < d.MinSpare && live < d.MaxWorkers && !now.Before(p.pace.nextStart); idle, live = idle+1, live+1 {
		p.startWorker(ctx, nil)
	}
	if spare > d.MaxSpare && now.Sub(p.pace.lastShrink) >= interval {
		p.pace.lastShrink = now
		p.log.Debug("too many idle workers, stopping one", "worker", victim.info.ID, "idle", spare)
		victim.stop()
	}
}

// Workers returns the scoreboard: one line per worker, by id.
func (p *Pool) Workers() []WorkerInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	out := make([]WorkerInfo, 0, len(p.workers))
	for _, w := range p.sorted() {
		info := w.info
		info.Age = now.Sub(info.Started)
		out = append(out, info)
	}
	return out
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// Size returns the target size of a static pool (0 for a dynamic pool).
func (p *Pool) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Dynamic != nil {
		return 0
	}
	return p.size
}

// Scale changes a static pool's size by delta (the counterpart of
// gunicorn's TTIN and TTOU signals) and returns the new size; the pool
// starts or stops workers at once (the newest first). The size stays at
// least 1. Dynamic pools size themselves: Scale returns an error.
func (p *Pool) Scale(delta int) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Dynamic != nil {
		return 0, fmt.Errorf("proc: pool %s: Scale on a dynamic pool", p.cfg.name())
	}
	p.size = max(1, p.size+delta)
	p.kickLocked()
	return p.size, nil
}
