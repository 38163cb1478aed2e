// keyed_reconcile.go: the reconciler of a Keyed tree. One goroutine owns
// the per-key state; it reacts to table updates, finished operations, exits
// reported by the tree's hook and retry timers, each touching only the keys
// concerned. Operations on the tree (Delete, Add) run in goroutines, at most
// one per key at a time, so a slow child start never holds up other keys.

package supervisor

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// keyState is what the reconciler knows of one key.
type keyState struct {
	want   string    // desired value, when wanted
	have   string    // value the child in the tree was made from, when has
	wanted bool      // the table wants the key
	has    bool      // a child of the key is in the tree, as far as known
	busy   bool      // an operation on the key is in flight
	bad    bool      // the key was rejected as invalid
	fails  int       // consecutive failures (backoff streak)
	retry  time.Time // zero, or when the key may be tried again
	since  time.Time // when the current child was added
	exit   bool      // an exit was reported while busy: check once done
}

// opResult is what an operation on one key did.
type opResult struct {
	key    string
	value  string
	put    bool  // the operation was to (re)add the child
	added  bool  // the child was added
	err    error // why adding failed
	delErr error // why removing the old child failed (it is gone all the same)
}

type reconciler struct {
	k         *Keyed
	ctx       context.Context
	keys      map[string]*keyState
	updates   chan Update
	watchErr  chan error
	done      chan opResult
	sem       chan struct{}
	wg        sync.WaitGroup
	due       retryHeap
	timer     *time.Timer
	rewatch   <-chan time.Time // when to watch the table again, after a failure
	wfails    int              // consecutive table failures
	ready     bool             // the table's contents were reported once
	treeEnded bool             // treeErr holds the tree's Run result
	treeErr   error
}

func newReconciler(k *Keyed, ctx context.Context) *reconciler {
	r := &reconciler{k: k, ctx: ctx, keys: map[string]*keyState{}, updates: make(chan Update),
		watchErr: make(chan error), done: make(chan opResult), sem: make(chan struct{}, k.cfg.concurrent),
		timer: time.NewTimer(time.Hour)}
	r.timer.Stop()
	return r
}

// loop runs until ctx ends or the tree returns; it returns an error only
// when the table failed before its first report.
func (r *reconciler) loop(treeDone <-chan error) error {
	defer r.timer.Stop()
	r.watch()
	var resync <-chan time.Time
	if r.k.cfg.resync > 0 {
		t := time.NewTicker(r.k.cfg.resync)
		defer t.Stop()
		resync = t.C
	}
	for {
		select {
		case <-r.ctx.Done():
			return nil
		case err := <-treeDone:
			r.treeEnded, r.treeErr = true, err
			return nil
		case u := <-r.updates:
			r.apply(u)
		case err := <-r.watchErr:
			if err := r.watchFailed(err); err != nil {
				return err
			}
		case <-r.rewatch:
			r.rewatch = nil
			r.watch()
		case res := <-r.done:
			r.finish(res)
		case <-r.timer.C:
			r.fire()
		case <-r.k.exits.ch():
			r.exited()
		case <-resync:
			r.resync()
		}
	}
}

// watch runs the table's Watch in a goroutine that forwards its updates.
func (r *reconciler) watch() {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := r.k.table.Watch(r.ctx, func(u Update) {
			select {
			case r.updates <- u:
			case <-r.ctx.Done():
			}
		})
		if r.ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("watch returned before its context ended")
		}
		select {
		case r.watchErr <- err:
		case <-r.ctx.Done():
		}
	}()
}

func (r *reconciler) watchFailed(err error) error {
	kerr := &KeyError{Tree: r.k.Name(), Err: err}
	if !r.ready {
		return kerr
	}
	r.wfails++
	d := r.backoff(r.wfails)
	r.k.emit(KeyEvent{Kind: TableFailed, Err: kerr, Delay: d})
	r.rewatch = time.After(d)
	return nil
}

// apply applies one table update to the keys it names (a Reset also to the
// keys it leaves out).
func (r *reconciler) apply(u Update) {
	r.wfails = 0
	if u.Reset {
		seen := make(map[string]bool, len(u.Changes))
		for _, c := range u.Changes {
			seen[c.Key] = true
		}
		for key, st := range r.keys {
			if st.wanted && !seen[key] {
				st.wanted = false
				r.reconcile(key, st)
			}
		}
	}
	for _, c := range u.Changes {
		if c.Deleted && u.Reset {
			continue
		}
		st := r.keys[c.Key]
		if st == nil {
			if c.Deleted {
				continue
			}
			st = &keyState{}
			r.keys[c.Key] = st
		}
		switch {
		case c.Deleted:
			st.wanted = false
		case !st.wanted || st.want != c.Value:
			st.want, st.wanted, st.fails, st.retry = c.Value, true, 0, time.Time{}
		}
		r.reconcile(c.Key, st)
	}
	if !r.ready {
		r.ready = true
		Ready(r.ctx)
	}
}

// reconcile starts whatever operation brings key closer to the table.
func (r *reconciler) reconcile(key string, st *keyState) {
	switch {
	case st.busy:
	case st.wanted && st.has && st.have == st.want:
	case st.wanted:
		if err := ValidKey(key); err != nil {
			if !st.bad {
				st.bad = true
				kerr := &KeyError{Tree: r.k.Name(), Key: key, Err: err}
				r.k.setErr(key, kerr)
				r.k.emit(KeyEvent{Kind: KeyRejected, Key: key, Err: kerr})
			}
			return
		}
		if !st.retry.IsZero() && time.Now().Before(st.retry) {
			return
		}
		st.retry = time.Time{}
		r.launch(key, st, true)
	case st.has:
		r.launch(key, st, false)
	default:
		delete(r.keys, key)
		r.k.setErr(key, nil)
	}
}

// launch runs one operation on key in a goroutine.
func (r *reconciler) launch(key string, st *keyState, put bool) {
	st.busy = true
	value, had := st.want, st.has
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		select {
		case r.sem <- struct{}{}:
		case <-r.ctx.Done():
			return
		}
		res := r.k.operate(key, value, put, had)
		<-r.sem
		select {
		case r.done <- res:
		case <-r.ctx.Done():
		}
	}()
}

// operate removes key's child if it had one and, if put, adds a new one.
func (k *Keyed) operate(key, value string, put, had bool) opResult {
	res := opResult{key: key, value: value, put: put}
	if had {
		if err := k.tree.Delete(key); err != nil && !errors.Is(err, ErrUnknownChild) {
			res.delErr = err
		}
	}
	if !put {
		return res
	}
	spec, err := k.build(key, value)
	if err == nil {
		_, err = k.tree.Add(spec)
		if errors.Is(err, ErrDuplicateChild) {
			_ = k.tree.Delete(key)
			_, err = k.tree.Add(spec)
		}
	}
	res.added, res.err = err == nil, err
	return res
}

// finish records what an operation did and reconciles the key again, in
// case the table changed meanwhile.
func (r *reconciler) finish(res opResult) {
	st := r.keys[res.key]
	st.busy = false
	replaced, exit := st.has, st.exit
	st.exit = false
	st.has = res.added
	if res.delErr != nil {
		r.k.emit(KeyEvent{Kind: KeyFailed, Key: res.key, Err: &KeyError{Tree: r.k.Name(), Key: res.key, Err: res.delErr}})
	}
	switch {
	case res.added:
		st.have, st.since = res.value, time.Now()
		r.k.setErr(res.key, nil)
		kind := KeyAdded
		if replaced {
			kind = KeyChanged
		}
		r.k.emit(KeyEvent{Kind: kind, Key: res.key})
		if exit && r.missing(res.key) {
			r.gone(res.key, st)
			return
		}
	case res.put && r.ctx.Err() == nil:
		kerr := &KeyError{Tree: r.k.Name(), Key: res.key, Err: res.err}
		r.k.setErr(res.key, kerr)
		d := r.later(res.key, st)
		r.k.emit(KeyEvent{Kind: KeyFailed, Key: res.key, Err: kerr, Delay: d})
	case !res.put:
		r.k.emit(KeyEvent{Kind: KeyRemoved, Key: res.key})
	}
	r.reconcile(res.key, st)
}

// exited handles the keys whose child exited without a restart following:
// if the child is indeed gone and the key still desired, it is added again
// after a backoff.
func (r *reconciler) exited() {
	for _, key := range r.k.exits.take() {
		st := r.keys[key]
		if st != nil && st.busy {
			st.exit = true
		}
		if st == nil || st.busy || !st.has {
			continue
		}
		if r.missing(key) {
			r.gone(key, st)
		}
	}
}

// missing reports whether the tree has no child named key.
func (r *reconciler) missing(key string) bool {
	_, err := r.k.tree.Child(key)
	return errors.Is(err, ErrUnknownChild)
}

// gone records that key's child left the tree by itself.
func (r *reconciler) gone(key string, st *keyState) {
	st.has = false
	if st.wanted {
		if time.Since(st.since) >= r.k.cfg.retryMax {
			st.fails = 0
		}
		d := r.later(key, st)
		r.k.emit(KeyEvent{Kind: KeyExited, Key: key, Delay: d})
	}
	r.reconcile(key, st)
}

// later schedules the next try of key after the backoff of its streak.
func (r *reconciler) later(key string, st *keyState) time.Duration {
	st.fails++
	d := r.backoff(st.fails)
	st.retry = time.Now().Add(d)
	heap.Push(&r.due, retryAt{at: st.retry, key: key})
	r.timer.Reset(time.Until(r.due[0].at))
	return d
}

func (r *reconciler) backoff(n int) time.Duration {
	d := r.k.cfg.retryInit
	for i := 1; i < n && d < r.k.cfg.retryMax; i++ {
		d *= 2
	}
	return min(d, r.k.cfg.retryMax)
}

// fire retries the keys whose backoff is over.
func (r *reconciler) fire() {
	now := time.Now()
	for len(r.due) > 0 && !r.due[0].at.After(now) {
		e := heap.Pop(&r.due).(retryAt)
		if st := r.keys[e.key]; st != nil && st.retry.Equal(e.at) {
			st.retry = time.Time{}
			r.reconcile(e.key, st)
		}
	}
	if len(r.due) > 0 {
		r.timer.Reset(time.Until(r.due[0].at))
	}
}

// resync compares every key with the tree's children: the safety net for
// exits whose events were dropped and for children nobody asked for.
func (r *reconciler) resync() {
	present := map[string]bool{}
	for _, c := range r.k.tree.Children() {
		present[c.Name] = true
	}
	for key, st := range r.keys {
		if !st.busy && st.has && !present[key] {
			r.gone(key, st)
		}
	}
	for name := range present {
		if r.keys[name] == nil {
			st := &keyState{has: true}
			r.keys[name] = st
			r.reconcile(name, st)
		}
	}
}

// retryAt is one scheduled retry; retryHeap orders them by time.
type retryAt struct {
	at  time.Time
	key string
}

type retryHeap []retryAt

// Len, Less, Swap, Push and Pop implement heap.Interface.
func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(retryAt)) }
func (h *retryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
