//go:build unix

// This file holds one worker of a pool: its goroutine, its scoreboard
// entry, and the notify messages through which it reports its state.

package proc

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// WorkerState is a pool worker's state on the scoreboard.
type WorkerState uint8

// The states of a worker.
const (
	WorkerStarting WorkerState = iota // started, not ready yet
	WorkerIdle                        // ready, and not busy
	WorkerBusy                        // reported ARBOR_STATE=busy
	WorkerStopping                    // being stopped (recycled, babysat, scaled down, replaced)
)

var stateNames = [...]string{"starting", "idle", "busy", "stopping"}

// String returns "starting", "idle", "busy" or "stopping".
func (s WorkerState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "WorkerState(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state as its name (for JSON status pages).
func (s WorkerState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state's name, as MarshalText writes it.
func (s *WorkerState) UnmarshalText(b []byte) error {
	for i, name := range stateNames {
		if string(b) == name {
			*s = WorkerState(i)
			return nil
		}
	}
	return fmt.Errorf("proc: unknown worker state %q", b)
}

// WorkerInfo is a worker's line on the scoreboard.
type WorkerInfo struct {
	ID         int           `json:"id"`  // the pool's number for the worker, from 1
	PID        int           `json:"pid"` // 0 until the process has started
	State      WorkerState   `json:"state"`
	Requests   uint64        `json:"requests"` // as last reported (ARBOR_REQUESTS)
	Generation int           `json:"generation"`
	Started    time.Time     `json:"started"`
	Age        time.Duration `json:"age_ns"`
	BusySince  time.Time     `json:"busy_since,omitzero"` // zero unless busy
	IdleSince  time.Time     `json:"idle_since,omitzero"` // zero unless idle
	Malformed  int           `json:"malformed"`           // notify lines ignored
}

// worker is one worker of a pool. Its fields are guarded by the pool's mu,
// except the immutable ones (id, spec, gen, cancel, done).
type worker struct {
	info       WorkerInfo
	spec       *Process
	cancel     context.CancelFunc
	done       chan struct{} // closed when its Run returned and it left the pool
	readyCh    chan struct{} // closed when ready
	replaces   *worker       // the worker this one replaces once ready (surge)
	replacedBy *worker       // the surge worker replacing this one
	maxReqs    uint64        // recycle after this many requests; 0: never
	maxAge     time.Duration // recycle after this age; 0: never
	err        error         // Run's error, set before done closes
}

// counted reports whether the worker counts toward the pool's size.
func (w *worker) counted() bool {
	return w.info.State != WorkerStopping && w.replaces == nil
}

func (w *worker) isReady() bool {
	select {
	case <-w.readyCh:
		return true
	default:
		return false
	}
}

// stop cancels the worker's Run: StopSignal, then SIGKILL after Grace.
// Call with the pool's mu held.
func (w *worker) stop() {
	w.info.State = WorkerStopping
	w.info.BusySince, w.info.IdleSince = time.Time{}, time.Time{}
	w.cancel()
}

// hooks returns the callbacks through which w's Run reports to the pool.
func (p *Pool) hooks(w *worker) *hooks {
	return &hooks{
		started: func(pid int) {
			p.mu.Lock()
			w.info.PID = pid
			p.mu.Unlock()
		},
		ready:     func() { p.workerReady(w) },
		notify:    func(key, val string) bool { return p.workerNotify(w, key, val) },
		malformed: func() { p.mu.Lock(); w.info.Malformed++; p.st.Malformed++; p.mu.Unlock() },
	}
}

// workerNotify applies a pool message from w. The messages, in the systemd
// notify protocol's KEY=value form (several per datagram, one per line):
//
//	ARBOR_STATE=busy   the worker is handling work
//	ARBOR_STATE=idle   the worker waits for work
//	ARBOR_REQUESTS=N   the worker has served N requests in all (absolute,
//	                   so that a lost datagram loses nothing)
//
// Any other value of these keys is malformed; other keys are ignored.
func (p *Pool) workerNotify(w *worker, key, val string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch key {
	case "ARBOR_STATE":
		if w.info.State == WorkerStopping || w.info.State == WorkerStarting {
			return val == "busy" || val == "idle"
		}
		switch val {
		case "busy":
			if w.info.State != WorkerBusy {
				w.info.State, w.info.BusySince, w.info.IdleSince = WorkerBusy, time.Now(), time.Time{}
			}
		case "idle":
			if w.info.State != WorkerIdle {
				w.info.State, w.info.BusySince, w.info.IdleSince = WorkerIdle, time.Time{}, time.Now()
			}
		default:
			return false
		}
		if p.cfg.Dynamic != nil { // static pools look at states on their tick
			p.kickLocked()
		}
	case "ARBOR_REQUESTS":
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return false
		}
		w.info.Requests = n
		if w.maxReqs > 0 && n >= w.maxReqs {
			p.kickLocked()
		}
	}
	return true
}

// workerReady records w's readiness; a surge worker then takes over from
// the worker it replaces, which is stopped.
func (p *Pool) workerReady(w *worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(w.readyCh)
	p.st.fails = 0
	if w.info.State == WorkerStarting {
		w.info.State, w.info.IdleSince = WorkerIdle, time.Now()
	}
	if old := w.replaces; old != nil {
		w.replaces = nil
		old.replacedBy = nil
		if old.info.State != WorkerStopping {
			old.stop()
		}
	}
	p.kickLocked()
}

// startWorker starts a worker running spec; replaces, if not nil, is the
// worker it takes over from once ready. Call with mu held.
func (p *Pool) startWorker(ctx context.Context, replaces *worker) *worker {
	p.nextID++
	spec := *p.cur.spec
	spec.Sockets = append(slices.Clip(p.cfg.Sockets), p.bound...)
	if spec.Name == "" {
		spec.Name = p.cfg.name() + "-" + strconv.Itoa(p.nextID)
	}
	// The worker's context carries none of the tree's values: the worker's
	// readiness, pid and heartbeats are the pool's business, not the
	// tree's.
	wctx, cancel := context.WithCancel(context.Background())
	stopWith := context.AfterFunc(ctx, cancel)
	w := &worker{
		info:     WorkerInfo{ID: p.nextID, Generation: p.cur.gen, Started: time.Now()},
		spec:     &spec,
		cancel:   func() { stopWith(); cancel() },
		done:     make(chan struct{}),
		readyCh:  make(chan struct{}),
		replaces: replaces,
	}
	if replaces != nil {
		replaces.replacedBy = w
	}
	p.limits(w)
	p.workers[w.info.ID] = w
	p.st.Started++
	p.wg.Go(func() {
		err := spec.run(wctx, p.hooks(w))
		p.workerExited(w, err)
	})
	return w
}

// limits draws w's recycling limits with their jitter.
func (p *Pool) limits(w *worker) {
	r := p.cfg.Recycle
	if r == nil {
		return
	}
	if r.Requests > 0 {
		w.maxReqs = uint64(r.Requests + p.rand.IntN(r.RequestsJitter+1))
	}
	if r.Age > 0 {
		w.maxAge = r.Age + time.Duration(p.rand.Int64N(int64(r.AgeJitter)+1))
	}
}

// workerExited removes w from the pool once its Run returned.
func (p *Pool) workerExited(w *worker, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.workers, w.info.ID)
	w.cancel() // releases its hold on the pool's context
	w.err = err
	if w.info.State != WorkerStopping && (p.running == nil || p.running.Err() == nil) {
		failed := !w.isReady() || time.Since(w.info.Started) < minUptime
		if failed {
			p.st.fails++
			p.st.lastErr = err
			p.pace.nextStart = time.Now().Add(retryDelay(p.st.fails))
		}
		p.st.Crashed++
		p.log.Warn("worker exited", "worker", w.info.ID, "pid", w.info.PID, "err", err, "failed_start", failed)
	}
	if old := w.replaces; old != nil { // a surge worker that never got ready
		old.replacedBy = nil
	}
	if nw := w.replacedBy; nw != nil { // replaced worker gone first: the surge counts now
		nw.replaces = nil
	}
	close(w.done)
	p.kickLocked()
}

// retryDelay is the wait before starting a worker after fails failures in
// a row: none after the first, then 100ms doubling up to 5s.
func retryDelay(fails int) time.Duration {
	if fails <= 1 {
		return 0
	}
	d := firstRetry
	for i := 2; i < fails && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}
