package supervisor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

// harness makes children whose lifetimes a test drives by hand, and records
// what they do in order: "start a", "stop a" (cancelled), "exit a" (returned
// by itself). Use it inside a synctest bubble.
type harness struct {
	t     *testing.T
	mu    sync.Mutex
	log   []string
	exits map[string]chan error
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, exits: map[string]chan error{}}
}

func (h *harness) record(s string) {
	h.mu.Lock()
	h.log = append(h.log, s)
	h.mu.Unlock()
}

// take returns what was recorded since the last take.
func (h *harness) take() []string {
	synctest.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.log
	h.log = nil
	return out
}

func (h *harness) exitCh(name string) chan error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.exits[name]
	if !ok {
		ch = make(chan error)
		h.exits[name] = ch
	}
	return ch
}

// run is a child body that runs until cancelled or told to exit. It records
// its start and then calls Ready, so that, with WaitReady, the order of the
// records is the tree's start order (without WaitReady, the tree orders the
// starts of goroutines, not their first side effects).
func (h *harness) run(name string) func(context.Context) error {
	ch := h.exitCh(name)
	return func(ctx context.Context) error {
		h.record("start " + name)
		Ready(ctx)
		select {
		case <-ctx.Done():
			h.record("stop " + name)
			return ctx.Err()
		case err := <-ch:
			h.record("exit " + name)
			return err
		}
	}
}

// slowStop is a WaitReady child that, once cancelled, returns only when
// release is closed, recording its start and stop. It is ready once its start
// is recorded, so that the record of the child started after it comes after.
func (h *harness) slowStop(name string, release <-chan struct{}) Spec {
	return Spec{Name: name, WaitReady: true, Run: func(ctx context.Context) error {
		h.record("start " + name)
		Ready(ctx)
		<-ctx.Done()
		<-release
		h.record("stop " + name)
		return nil
	}}
}

// spec is a WaitReady child running h.run.
func (h *harness) spec(name string, r Restart) Spec {
	return Spec{Name: name, Restart: r, Run: h.run(name), WaitReady: true}
}

// exit makes the running child return err and lets the tree react.
func (h *harness) exit(name string, err error) {
	h.exitCh(name) <- err
	synctest.Wait()
}

// running is a tree running in the background of a synctest bubble.
type running struct {
	tree   *Tree
	cancel context.CancelFunc
	errc   chan error
}

func start(t *testing.T, tr *Tree) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{tree: tr, cancel: cancel, errc: make(chan error, 1)}
	go func() { r.errc <- tr.Run(ctx) }()
	synctest.Wait()
	return r
}

// stop checks the tree's invariants, cancels it and returns Run's error.
func (r *running) stop() error {
	synctest.Wait()
	if err := r.tree.checkInvariants(); err != nil {
		panic(err)
	}
	r.cancel()
	return <-r.errc
}

// done reports Run's error if Run has returned.
func (r *running) done() (error, bool) {
	synctest.Wait()
	select {
	case err := <-r.errc:
		return err, true
	default:
		return nil, false
	}
}

func mustNew(t *testing.T, opts ...Option) *Tree {
	t.Helper()
	tr, err := New(opts...)
	require.NoError(t, err)
	return tr
}

func states(tr *Tree) map[string]ChildState {
	m := map[string]ChildState{}
	for _, c := range tr.Children() {
		m[c.Name] = c.State
	}
	return m
}

func names(infos []ChildInfo) []string {
	var out []string
	for _, c := range infos {
		out = append(out, c.Name)
	}
	return out
}

func threeChildren(h *harness, r Restart) Option {
	return WithChildren(h.spec("a", r), h.spec("b", r), h.spec("c", r))
}

// startTimes records when each run of a child began.
type startTimes struct {
	times []time.Duration
	t0    time.Time
}

func (s *startTimes) failing(err error) func(context.Context) error {
	return func(ctx context.Context) error {
		s.times = append(s.times, time.Since(s.t0))
		return err
	}
}

// gate is a WaitReady child that becomes ready when the test says so.
type gate struct {
	h     *harness
	name  string
	ready chan struct{}
	fail  chan error
}

func newGate(h *harness, name string) *gate {
	return &gate{h: h, name: name, ready: make(chan struct{}), fail: make(chan error)}
}

func (g *gate) spec() Spec {
	return Spec{Name: g.name, WaitReady: true, Run: func(ctx context.Context) error {
		g.h.record("start " + g.name)
		select {
		case <-g.ready:
			// Recorded first: once Ready returns, the tree may start the
			// next child, whose record would otherwise race with this one.
			g.h.record("ready " + g.name)
			Ready(ctx)
		case err := <-g.fail:
			g.h.record("fail " + g.name)
			return err
		case <-ctx.Done():
			g.h.record("stop " + g.name)
			return ctx.Err()
		}
		<-ctx.Done()
		g.h.record("stop " + g.name)
		return nil
	}}
}
