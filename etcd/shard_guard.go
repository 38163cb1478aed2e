// shard_guard.go: the guard around each keyed child of a ShardedTable.
// The guard runs the child only while this replica holds the key's owner
// key under its current lease: it claims the owner key (a transaction that
// creates it only if absent, bound to the lease), runs the child with the
// fence in its context and a context that ends with the lease's local
// deadline, and deletes the owner key only after the child returned.

package etcd

import (
	"context"
	"strconv"
	"time"

	"github.com/arbor-go/supervisor"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Guard implements supervisor.GuardedTable. The guarded Spec does not wait
// for Ready (a claim may wait up to a TTL for the previous owner's lease)
// and has no Watchdog (it sends no heartbeats while standing by).
func (t *ShardedTable) Guard(key string, spec supervisor.Spec) supervisor.Spec {
	run := spec.Run
	spec.WaitReady = false
	spec.Watchdog = 0
	spec.Run = func(ctx context.Context) error { return t.guarded(ctx, key, run) }
	return spec
}

// guarded claims key, runs run, releases key; it stands by again when the
// lease is lost, returns run's error when run returns by itself, and nil
// when ctx ends.
func (t *ShardedTable) guarded(ctx context.Context, key string, run func(context.Context) error) error {
	t.mu.Lock()
	t.guards[key]++
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		if t.guards[key]--; t.guards[key] == 0 {
			delete(t.guards, key)
		}
		t.mu.Unlock()
	}()
	for {
		sess := t.session(ctx)
		if sess == nil {
			return nil
		}
		token, ok := t.claim(ctx, sess, key)
		if !ok || !sess.enter() {
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		rctx, cancel := sess.bind(ctx)
		err := run(withFence(rctx, Fence{Key: t.ownerKey(key), Token: token}))
		cancel()
		t.release(sess, key, token)
		sess.leave()
		switch {
		case ctx.Err() != nil:
			return nil
		case !sess.valid():
			t.cfg.log.Info("etcd: sharded table: lease lost; key stands by", "table", t.name, "key", key)
		default:
			return err
		}
	}
}

// session waits for a valid session; nil when ctx ends.
func (t *ShardedTable) session(ctx context.Context) *session {
	for {
		t.mu.Lock()
		s, ch := t.sess, t.sessCh
		t.mu.Unlock()
		if s != nil && s.valid() {
			return s
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// claim creates key's owner key under sess's lease once the key is
// assigned here and has no other owner, and returns its create revision;
// false when ctx or the session ends first.
func (t *ShardedTable) claim(ctx context.Context, sess *session, key string) (token int64, ok bool) {
	cctx, cancel := sess.bind(ctx)
	defer cancel()
	okey := t.ownerKey(key)
	pending := "" // the value of a claim that may have been applied, unwanted
	defer func() {
		if !ok && pending != "" {
			t.unclaim(sess, okey, pending)
		}
	}()
	for attempt := 0; cctx.Err() == nil; {
		t.mu.Lock()
		wake, mine := t.v.waiter(key), t.v.assigned(key)
		h, held := t.v.owners[key]
		t.mu.Unlock()
		if !mine || (held && h.lease != int64(sess.lease)) {
			t.wait(cctx, wake)
			continue
		}
		txn, val := sess.cli.Txn(cctx), t.claimValue()
		if held { // a stale claim of this lease, whose child returned: drop it first
			txn = txn.If(clientv3.Compare(clientv3.CreateRevision(okey), "=", h.rev)).Then(clientv3.OpDelete(okey))
		} else {
			txn = txn.If(clientv3.Compare(clientv3.CreateRevision(okey), "=", 0)).
				Then(clientv3.OpPut(okey, val, clientv3.WithLease(sess.lease)))
		}
		t.claims <- struct{}{}
		resp, err := txn.Commit()
		<-t.claims
		if !held && (err != nil || cctx.Err() != nil) {
			pending = val
		}
		switch {
		case err != nil:
			sleep(cctx, pause(attempt))
			attempt++
		case resp.Succeeded && !held && cctx.Err() == nil:
			return resp.Header.Revision, true
		case resp.Succeeded && !held: // claimed, but no longer wanted: unclaim
			return 0, false
		case resp.Succeeded:
			t.wait(cctx, wake)
		default: // the view was behind: wait for its next change
			t.wait(cctx, wake)
		}
	}
	return 0, false
}

// claimValue is the value of one claim attempt: the replica's ID and a
// number of its own, so that an attempt whose outcome is unknown can be
// undone precisely.
func (t *ShardedTable) claimValue() string {
	return t.cfg.id + " " + strconv.FormatUint(t.attempts.Add(1), 10)
}

// unclaim deletes okey if it holds val: a claim whose context ended while
// its transaction was in flight may have been applied, and no child runs
// under it. It retries while the session is valid: a claim left behind
// would keep the key from running anywhere until the lease ends.
func (t *ShardedTable) unclaim(sess *session, okey, val string) {
	t.persist(sess, "unclaim", okey, clientv3.Compare(clientv3.Value(okey), "=", val))
}

// persist deletes okey if cmp holds, trying at least once and then again
// while the session is valid.
func (t *ShardedTable) persist(sess *session, what, okey string, cmp clientv3.Cmp) {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), t.cfg.revokeTimeout)
		_, err := sess.cli.Txn(ctx).If(cmp).Then(clientv3.OpDelete(okey)).Commit()
		cancel()
		if err == nil {
			return
		}
		t.cfg.log.Debug("etcd: sharded table: "+what+" failed", "key", okey, "error", err)
		if !sess.valid() || !sleep(sess.ctx, pause(attempt)) {
			return // the lease's end deletes it
		}
	}
}

// wait waits for wake, or a TTL (in case an event was missed), or ctx.
func (t *ShardedTable) wait(ctx context.Context, wake <-chan struct{}) {
	tm := time.NewTimer(t.cfg.ttl)
	defer tm.Stop()
	select {
	case <-wake:
	case <-tm.C:
	case <-ctx.Done():
	}
}

// release deletes key's owner key if it is still the one claimed with
// token, retrying while the session is valid; otherwise the lease's end
// deletes it.
func (t *ShardedTable) release(sess *session, key string, token int64) {
	okey := t.ownerKey(key)
	t.persist(sess, "release", okey, clientv3.Compare(clientv3.CreateRevision(okey), "=", token))
}
