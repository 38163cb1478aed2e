// keyed.go: keyed children that follow a desired-state table. A Keyed tree
// is a SimpleOneForOne tree whose children are kept equal to a Table by a
// reconciler: a key added starts its child, a key removed stops it, a value
// changed restarts it with the new value, and a child that exits for good
// while its key is still desired is added again after a backoff. Its
// options, events and per-key errors live here; the reconciler itself is in
// keyed_reconcile.go.

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"sync"
	"time"
)

// ErrFactory is matched by the error reported for a key whose factory
// panicked.
var ErrFactory = errors.New("factory failed")

// KeyError is the error reported for one key of a Keyed tree: its key is
// invalid (ErrInvalidKey), its factory panicked (ErrFactory, with a
// *PanicError) or made a Spec the tree refused (ErrInvalidSpec, ...), or
// the table could not be watched (Key empty). It matches Err with errors.Is
// and errors.As.
type KeyError struct {
	Tree string // name of the Keyed tree
	Key  string // empty for a table error
	Err  error
}

// Error implements error.
func (e *KeyError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("supervisor: keyed tree %q: table: %v", e.Tree, e.Err)
	}
	return fmt.Sprintf("supervisor: keyed tree %q: key %q: %v", e.Tree, e.Key, e.Err)
}

// Unwrap returns the underlying error.
func (e *KeyError) Unwrap() error { return e.Err }

// KeyEventKind says what a KeyEvent reports.
type KeyEventKind uint8

const (
	// KeyAdded: the key's child was added to the tree (first time, or again
	// after a failure or an exit for good).
	KeyAdded KeyEventKind = iota
	// KeyChanged: the key's value changed; its child was replaced.
	KeyChanged
	// KeyRemoved: the key is no longer desired; its child was stopped.
	KeyRemoved
	// KeyExited: the key's child exited for good while the key is desired;
	// it is added again after Delay.
	KeyExited
	// KeyFailed: the factory or Add failed for the key (Err says why); it is
	// tried again after Delay.
	KeyFailed
	// KeyRejected: the key is invalid; it is not run until it is removed.
	KeyRejected
	// TableFailed: the table's Watch failed; it is watched again after Delay.
	TableFailed
)

var keyEventNames = [...]string{"key added", "key changed", "key removed", "key exited", "key failed",
	"key rejected", "table failed"}

// String returns the kind's name in lower case.
func (k KeyEventKind) String() string {
	if int(k) < len(keyEventNames) {
		return keyEventNames[k]
	}
	return fmt.Sprintf("KeyEventKind(%d)", k)
}

// KeyEvent is one happening of a Keyed tree's reconciler.
type KeyEvent struct {
	Kind  KeyEventKind
	Time  time.Time
	Tree  string
	Key   string
	Err   error
	Delay time.Duration // KeyExited, KeyFailed, TableFailed: the wait before the next try
}

// KeyedOption configures a Keyed tree.
type KeyedOption func(*keyedConfig)

type keyedConfig struct {
	treeOpts   []Option
	resync     time.Duration
	retryInit  time.Duration
	retryMax   time.Duration
	hooks      []func(KeyEvent)
	log        *slog.Logger
	concurrent int
	errs       []error
}

// KeyedTree passes options to the underlying tree (name, intensity,
// backoff, logger, hooks...). Its strategy is always SimpleOneForOne.
func KeyedTree(opts ...Option) KeyedOption {
	return func(c *keyedConfig) { c.treeOpts = append(c.treeOpts, opts...) }
}

// KeyedResync sets how often the reconciler compares every desired key with
// the tree's children, as a safety net behind the event-driven path
// (default 30s; 0 disables it).
func KeyedResync(every time.Duration) KeyedOption {
	return func(c *keyedConfig) {
		if every < 0 {
			c.errs = append(c.errs, fmt.Errorf("KeyedResync: negative period %v", every))
		}
		c.resync = every
	}
}

// KeyedRetry sets the backoff before a key is tried again after its child
// exited for good or its factory or Add failed, and before the table is
// watched again after a failure: initial·2^(n-1), capped at max (defaults
// 100ms and 30s). A child that ran for max starts its streak afresh.
func KeyedRetry(initial, max time.Duration) KeyedOption {
	return func(c *keyedConfig) {
		if initial <= 0 || max < initial {
			c.errs = append(c.errs, fmt.Errorf("KeyedRetry: need 0 < initial <= max, got %v, %v", initial, max))
		}
		c.retryInit, c.retryMax = initial, max
	}
}

// KeyedHook calls f with every KeyEvent, from the reconciler's goroutine:
// f must return quickly. Several hooks add up.
func KeyedHook(f func(KeyEvent)) KeyedOption {
	return func(c *keyedConfig) { c.hooks = append(c.hooks, f) }
}

// KeyedLogger logs the reconciler's events (default: discard).
func KeyedLogger(l *slog.Logger) KeyedOption {
	return func(c *keyedConfig) { c.log = l }
}

// KeyedConcurrency bounds how many keys are being added, replaced or removed
// at once (default 64).
func KeyedConcurrency(n int) KeyedOption {
	return func(c *keyedConfig) {
		if n < 1 {
			c.errs = append(c.errs, fmt.Errorf("KeyedConcurrency: %d < 1", n))
		}
		c.concurrent = n
	}
}

// Keyed is a SimpleOneForOne tree whose children follow a Table: one child
// per desired key, made by a factory from the key and its value. Reconciling
// costs O(changes): the table is watched, and exits for good are learnt from
// the tree's events; a periodic full comparison is only a safety net.
//
// The child of a key is named after the key (the factory's Spec.Name is
// overwritten). Automatic restarts of a Permanent or Transient child are the
// tree's, bounded by its intensity and backoff: when the tree gives up, Run
// returns its error. A child that exits for good (Temporary, or a Transient
// that returned nil) while its key is still desired is added again after
// the KeyedRetry backoff.
type Keyed struct {
	tree    *Tree
	table   Table
	guard   GuardedTable // table, when it guards its children
	factory func(key, value string) Spec
	cfg     keyedConfig
	exits   exitQueue

	mu      sync.Mutex
	running bool
	errs    map[string]error // keys whose last attempt failed
}

// NewKeyed returns a Keyed tree following table, with factory making the
// Spec of each key's child. The factory is called from the reconciler and
// from Run's goroutines, never concurrently for one key.
func NewKeyed(table Table, factory func(key, value string) Spec, opts ...KeyedOption) (*Keyed, error) {
	k := &Keyed{table: table, factory: factory, errs: map[string]error{}}
	k.cfg = keyedConfig{resync: 30 * time.Second, retryInit: 100 * time.Millisecond,
		retryMax: 30 * time.Second, concurrent: 64}
	for _, o := range opts {
		o(&k.cfg)
	}
	if table == nil || factory == nil {
		k.cfg.errs = append(k.cfg.errs, errors.New("NewKeyed: table and factory are required"))
	}
	if len(k.cfg.errs) > 0 {
		return nil, fmt.Errorf("supervisor: %w: %w", ErrInvalidOption, errors.Join(k.cfg.errs...))
	}
	if k.cfg.log == nil {
		k.cfg.log = slog.New(slog.DiscardHandler)
	}
	k.guard, _ = table.(GuardedTable)
	topts := append(append([]Option(nil), k.cfg.treeOpts...),
		WithStrategy(SimpleOneForOne), WithHook(k.exits.observe))
	t, err := New(topts...)
	if err != nil {
		return nil, err
	}
	k.tree = t
	return k, nil
}

// Tree returns the underlying SimpleOneForOne tree (for Children, Count,
// Snapshot, Restart). Do not Add or Delete its children by hand: the
// reconciler would undo it.
func (k *Keyed) Tree() *Tree { return k.tree }

// Name returns the tree's name.
func (k *Keyed) Name() string { return k.tree.Name() }

// Spec returns the Spec that runs k as a child of another tree: named after
// the tree, Shutdown Infinity, WaitReady (ready once the table's contents
// were first reported and their children dispatched); the parent sees it as
// a subtree.
func (k *Keyed) Spec() Spec {
	s := k.tree.Spec()
	s.Run = k.Run
	return s
}

// Errors returns the keys whose last attempt failed (invalid key, factory
// panic, Spec refused, child start failed), with their *KeyError. A key
// leaves the map when it runs again or is removed from the table.
func (k *Keyed) Errors() map[string]error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.errs)
}

// detail describes the keys whose child could not be made or started, by
// key, for snapshots; nil when there are none.
func (k *Keyed) detail() any {
	errs := k.Errors()
	if len(errs) == 0 {
		return nil
	}
	out := make(map[string]string, len(errs))
	for key, err := range errs {
		out[key] = err.Error()
	}
	return map[string]any{"key_errors": out}
}

func (k *Keyed) setErr(key string, err error) {
	k.mu.Lock()
	if err == nil {
		delete(k.errs, key)
	} else {
		k.errs[key] = err
	}
	k.mu.Unlock()
}

// Run runs the tree and keeps its children equal to the table until ctx
// ends (it then returns nil after stopping every child) or the tree gives
// up (it returns the tree's error). If the table fails before it first
// reported its contents, Run returns that error.
func (k *Keyed) Run(ctx context.Context) error {
	k.mu.Lock()
	if k.running {
		k.mu.Unlock()
		return fmt.Errorf("supervisor: keyed tree %q: %w", k.Name(), ErrAlreadyRunning)
	}
	k.running = true
	k.mu.Unlock()
	ReportDetail(ctx, k.detail) // the keys that failed, in its parent's snapshot
	defer func() {
		k.mu.Lock()
		k.running = false
		k.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	treeDone := k.tree.Start(ctx)
	r := newReconciler(k, ctx)
	err := r.loop(treeDone)
	cancel()
	r.wg.Wait()
	if !r.treeEnded {
		r.treeErr = <-treeDone
	}
	if err == nil {
		err = r.treeErr
	}
	return err
}

// build calls the factory for key, recovering a panic, and guards the Spec
// when the table asks for it.
func (k *Keyed) build(key, value string) (spec Spec, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %w", ErrFactory, &PanicError{Tree: k.Name(), Child: key, Value: v, Stack: debug.Stack()})
		}
	}()
	spec = k.factory(key, value)
	spec.Name = key
	if k.guard != nil && spec.Run != nil {
		spec = k.guard.Guard(key, spec)
		spec.Name = key
	}
	return spec, nil
}

// emit delivers a KeyEvent to the hooks and the logger.
func (k *Keyed) emit(e KeyEvent) {
	e.Time = time.Now()
	e.Tree = k.Name()
	for _, h := range k.cfg.hooks {
		h(e)
	}
	lvl := slog.LevelInfo
	if e.Err != nil {
		lvl = slog.LevelWarn
	}
	k.cfg.log.Log(context.Background(), lvl, "keyed: "+e.Kind.String(), "tree", e.Tree, "key", e.Key,
		"error", e.Err, "delay", e.Delay)
}

// exitQueue collects, from the tree's hook, the keys whose child exited by
// itself without a restart following, for the reconciler to look at.
type exitQueue struct {
	mu     sync.Mutex
	keys   []string
	signal chan struct{} // buffered(1): something was queued
	once   sync.Once
}

func (q *exitQueue) ch() chan struct{} {
	q.once.Do(func() { q.signal = make(chan struct{}, 1) })
	return q.signal
}

func (q *exitQueue) observe(e Event) {
	if e.Kind != ChildExited || e.WillRestart || e.Shutdown {
		return
	}
	q.mu.Lock()
	q.keys = append(q.keys, e.Child)
	q.mu.Unlock()
	select {
	case q.ch() <- struct{}{}:
	default:
	}
}

func (q *exitQueue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.keys
	q.keys = nil
	return out
}
