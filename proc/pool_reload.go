//go:build unix

// This file holds the rolling reload of a pool and the replacement of its
// worker spec.

package proc

import (
	"context"
	"fmt"
)

// Reload replaces every worker, one at a time: it starts the replacement,
// waits until it is ready, then stops the old worker (StopSignal, Grace)
// and waits for it to exit before the next. The number of ready workers
// therefore never drops below the pool's size on account of the reload.
// Workers started meanwhile (by sizing) already run the current spec.
// Reload returns an error when a replacement fails before it is ready (the
// old worker then keeps running and the reload stops there), when ctx is
// done, or when the pool is not running.
func (p *Pool) Reload(ctx context.Context) error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	p.mu.Lock()
	if p.running == nil {
		p.mu.Unlock()
		return ErrPoolNotRunning
	}
	gen := p.cur.gen
	var old []*worker
	for _, w := range p.sorted() {
		if w.counted() && w.info.Generation <= gen {
			old = append(old, w)
		}
	}
	p.mu.Unlock()
	for _, w := range old {
		if err := p.replace(ctx, w, gen); err != nil {
			return err
		}
	}
	return nil
}

// replace replaces one worker during a reload.
func (p *Pool) replace(ctx context.Context, old *worker, gen int) error {
	p.mu.Lock()
	if p.running == nil {
		p.mu.Unlock()
		return ErrPoolNotRunning
	}
	if !old.counted() || old.replacedBy != nil && old.replacedBy.info.Generation >= gen {
		p.mu.Unlock() // gone, stopping, or already being replaced by the current spec
		return nil
	}
	if nw := old.replacedBy; nw != nil { // an older surge (recycling): let it go
		nw.replaces = nil
		nw.stop()
	}
	nw := p.startWorker(p.running, old)
	p.mu.Unlock()
	select {
	case <-nw.readyCh:
	case <-nw.done:
		return fmt.Errorf("proc: pool %s: reload: replacement of worker %d failed: %w", p.cfg.name(), old.info.ID, nw.err)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-old.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Replace makes spec the pool's worker spec (a new binary, new arguments)
// and rolls it out as Reload does. spec is checked first (as NewPool
// checks PoolConfig.Worker); the pool keeps a copy. Workers started from
// then on run the new spec, even if the roll-out fails.
func (p *Pool) Replace(ctx context.Context, spec *Process) error {
	cfg := p.cfg
	cfg.Worker = spec
	if err := cfg.validate(); err != nil {
		return err
	}
	s := *spec
	p.mu.Lock()
	p.cur.spec = &s
	p.cur.gen++
	p.mu.Unlock()
	return p.Reload(ctx)
}
