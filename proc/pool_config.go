//go:build unix

// This file holds a pool's settings (PoolConfig, Dynamic, Recycle) and
// their validation.

package proc

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrInvalidPool is matched (errors.Is) by the error NewPool returns for
// settings that make no sense; the message says which.
var ErrInvalidPool = errors.New("proc: invalid pool")

// PoolConfig describes a pool of identical worker processes.
type PoolConfig struct {
	// Name names the pool in log records and errors; empty means "pool".
	Name string
	// Worker is the worker process. Each worker runs a copy of it taken
	// when the worker starts, with the pool's Sockets. Its Sockets must be
	// empty. Ready, StartTimeout, StopSignal and Grace apply to each worker.
	Worker *Process
	// Sockets are passed to every worker by socket activation (fds from 3,
	// see Process.Sockets). The pool does not close them: they outlive the
	// pool's runs, so even a restart of the pool refuses no connection.
	Sockets []*Socket
	// Listen are addresses Run binds before it starts any worker, passed to
	// the workers after Sockets; an address that cannot be bound fails Run,
	// with the address in the error. They are closed when Run returns: a
	// pool restarted by its tree rebinds them, and refuses connections in
	// between. Sockets that must outlive the pool belong in Sockets.
	Listen []Endpoint
	// Size is the number of workers of a static pool (Dynamic nil); it must
	// be positive then. Scale changes it at run time.
	Size int
	// Dynamic, when not nil, sizes the pool by its idle workers instead.
	Dynamic *Dynamic
	// Recycle, when not nil, replaces workers after a number of requests
	// or an age.
	Recycle *Recycle
	// BusyLimit, when positive, stops a worker that has reported itself
	// busy for longer (StopSignal, Grace, SIGKILL) and starts another.
	BusyLimit time.Duration
	// FailLimit is how many workers in a row may fail (exit before they
	// are ready, or within MinUptime of their start) before Run gives up
	// and returns an error; 0 means 10. A failed worker is replaced at
	// once; after two or more failures in a row the replacement waits
	// 100ms, doubling up to 5s. A worker that becomes ready resets the
	// count.
	FailLimit int
	// Logger receives the pool's records; nil discards them. Workers log
	// through Worker.Logger.
	Logger *slog.Logger
}

// Endpoint is an address a pool binds when it starts (PoolConfig.Listen).
type Endpoint struct {
	Name    string // its name in LISTEN_FDNAMES, as for Listen
	Network string // "tcp", "tcp4", "tcp6" or "unix"; empty means "tcp"
	Address string
}

func (e Endpoint) network() string {
	if e.Network == "" {
		return "tcp"
	}
	return e.Network
}

// Dynamic sizes a pool by its idle workers, in the manner of php-fpm's
// "dynamic" mode and Apache's prefork: the pool starts Start workers; when
// fewer than MinSpare workers are idle (or starting), it starts more at
// once, up to MaxWorkers; when more than MaxSpare have been idle for at
// least Interval, it stops one of them (the newest) per Interval. A worker
// is idle when it is ready and has not reported itself busy since it last
// reported idle (see Pool for the messages).
type Dynamic struct {
	Start      int           // workers started by Run; at least 1
	MinSpare   int           // at least 1
	MaxSpare   int           // at least MinSpare
	MaxWorkers int           // at least Start and MinSpare
	Interval   time.Duration // between two shrinking steps; 0 means 1s
}

// Recycle replaces a worker once it has served Requests requests (as it
// reports them) or lived for Age, whichever comes first; zero disables
// either, not both. Each worker's limits get a random extra of up to
// RequestsJitter requests and AgeJitter, so that workers started together
// do not recycle together. Recycling is rolling: the replacement starts
// and becomes ready before the old worker is stopped (StopSignal, Grace),
// one worker at a time.
type Recycle struct {
	Requests       int
	RequestsJitter int
	Age            time.Duration
	AgeJitter      time.Duration
}

const (
	defaultFailLimit = 10
	defaultInterval  = time.Second
	minUptime        = time.Second // a worker that exits sooner has failed
	firstRetry       = 100 * time.Millisecond
	maxRetry         = 5 * time.Second
)

func (c *PoolConfig) name() string {
	if c.Name == "" {
		return "pool"
	}
	return c.Name
}

// validate checks the settings; it does not modify c.
func (c *PoolConfig) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidPool, c.name(), fmt.Sprintf(format, args...))
	}
	if c.Worker == nil {
		return bad("Worker is nil")
	}
	if len(c.Worker.Sockets) > 0 {
		return bad("Worker.Sockets must be empty: give the pool's sockets in PoolConfig.Sockets")
	}
	if err := c.Worker.Validate(); err != nil {
		return bad("worker: %v", err)
	}
	for i, s := range c.Sockets {
		if s == nil {
			return bad("Sockets[%d] is nil", i)
		}
	}
	for _, e := range c.Listen {
		if err := checkFDName(e.Name); err != nil {
			return bad("Listen %s %s: %v", e.network(), e.Address, err)
		}
	}
	switch {
	case c.Dynamic == nil && c.Size <= 0:
		return bad("Size %d: a static pool needs at least one worker", c.Size)
	case c.Dynamic != nil && c.Size != 0:
		return bad("Size %d with Dynamic: a pool is static or dynamic", c.Size)
	case c.BusyLimit < 0:
		return bad("BusyLimit %v is negative", c.BusyLimit)
	case c.FailLimit < 0:
		return bad("FailLimit %d is negative", c.FailLimit)
	}
	if d := c.Dynamic; d != nil {
		if err := d.validate(); err != nil {
			return bad("%v", err)
		}
	}
	if r := c.Recycle; r != nil {
		if err := r.validate(); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

func (d *Dynamic) validate() error {
	switch {
	case d.Start < 1:
		return fmt.Errorf("Dynamic.Start %d is less than 1", d.Start)
	case d.MinSpare < 1:
		return fmt.Errorf("Dynamic.MinSpare %d is less than 1", d.MinSpare)
	case d.MaxSpare < d.MinSpare:
		return fmt.Errorf("Dynamic.MaxSpare %d is less than MinSpare %d", d.MaxSpare, d.MinSpare)
	case d.MaxWorkers < d.Start || d.MaxWorkers < d.MinSpare:
		return fmt.Errorf("Dynamic.MaxWorkers %d is less than Start %d or MinSpare %d", d.MaxWorkers, d.Start, d.MinSpare)
	case d.Interval < 0:
		return fmt.Errorf("Dynamic.Interval %v is negative", d.Interval)
	}
	return nil
}

func (r *Recycle) validate() error {
	switch {
	case r.Requests < 0 || r.RequestsJitter < 0 || r.Age < 0 || r.AgeJitter < 0:
		return fmt.Errorf("Recycle has a negative limit or jitter: %+v", *r)
	case r.Requests == 0 && r.Age == 0:
		return errors.New("Recycle needs Requests or Age (or leave Recycle nil)")
	case r.Requests == 0 && r.RequestsJitter > 0, r.Age == 0 && r.AgeJitter > 0:
		return errors.New("Recycle has a jitter without its limit")
	}
	return nil
}
