// shard.go: ShardedTable, a supervisor.GuardedTable that spreads the keys
// of a desired-state table kept in etcd over the live replicas. Layout
// under <prefix>keyed/<name>/:
//
//	desired/<key>  the table: the value is the child's parameters
//	members/<id>   one per live replica, bound to its lease
//	owners/<key>   the replica running key, bound to its lease, created
//	               in a transaction only if absent
//
// Each replica reports to its Keyed tree only the keys that rendezvous
// hashing over the live members assigns to it; the guard around each child
// claims the owner key before running it and deletes it only after the
// child returned. This file holds the type, its public API and Watch; the
// in-memory view is in shard_view.go, the guard in shard_guard.go.

package etcd

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/supervisor"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ShardedTable is a desired-state table in etcd whose keys each run on one
// live replica. Give it to supervisor.NewKeyed in place of a MemTable: the
// keyed code stays the same. Each child finds its ownership's fence in its
// context (FenceFrom, FencedTxn).
type ShardedTable struct {
	cli  *clientv3.Client
	name string
	root string
	cfg  config

	mu       sync.Mutex
	sess     *session       // the session of the current Watch, nil between
	sessCh   chan struct{}  // closed and replaced when sess changes
	v        view           // what the current Watch knows of the table
	running  bool           // Watch is running
	claims   chan struct{}  // bounds the claim transactions in flight
	attempts atomic.Uint64  // numbers claim attempts (see claimValue)
	guards   map[string]int // guards alive per key (see sweep)
}

// maxClaims bounds the claim transactions a replica has in flight, so that
// a mass take-over does not starve its own keep-alives.
const maxClaims = 16

// NewShardedTable returns the table named name (a valid supervisor key)
// under the prefix (WithPrefix), for this replica (WithReplicaID).
func NewShardedTable(cli *clientv3.Client, name string, opts ...Option) (*ShardedTable, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := supervisor.ValidKey(name); err != nil {
		return nil, fmt.Errorf("etcd: sharded table: %w", err)
	}
	if cli == nil {
		return nil, fmt.Errorf("etcd: sharded table %q: %w: nil client", name, ErrInvalidOption)
	}
	t := &ShardedTable{cli: cli, name: name, root: cfg.prefix + "keyed/" + name + "/", cfg: cfg,
		sessCh: make(chan struct{}), claims: make(chan struct{}, maxClaims), guards: map[string]int{}}
	t.v.init(cfg.id)
	return t, nil
}

// ID returns this replica's ID.
func (t *ShardedTable) ID() string { return t.cfg.id }

func (t *ShardedTable) desiredKey(key string) string { return t.root + "desired/" + key }
func (t *ShardedTable) memberKey(id string) string   { return t.root + "members/" + id }
func (t *ShardedTable) ownerKey(key string) string   { return t.root + "owners/" + key }

// Put makes key desired with value, for whichever replica owns it. An
// invalid key is refused with an error matching supervisor.ErrInvalidKey.
func (t *ShardedTable) Put(ctx context.Context, key, value string) error {
	if err := supervisor.ValidKey(key); err != nil {
		return fmt.Errorf("etcd: sharded table %q: %w", t.name, err)
	}
	if _, err := t.cli.Put(ctx, t.desiredKey(key), value); err != nil {
		return fmt.Errorf("etcd: sharded table %q: put %q at %v: %w", t.name, key, t.cli.Endpoints(), err)
	}
	return nil
}

// Delete makes key no longer desired; its child stops wherever it runs.
func (t *ShardedTable) Delete(ctx context.Context, key string) error {
	if _, err := t.cli.Delete(ctx, t.desiredKey(key)); err != nil {
		return fmt.Errorf("etcd: sharded table %q: delete %q at %v: %w", t.name, key, t.cli.Endpoints(), err)
	}
	return nil
}

// Members returns the live replicas as last seen by this one, sorted.
func (t *ShardedTable) Members() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.v.members...)
}

// Owned returns how many keys this replica is assigned now.
func (t *ShardedTable) Owned() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.v.mine)
}

// Watch implements supervisor.Table. It takes a lease (failing within the
// start timeout, with an error matching ErrUnreachable, if etcd cannot be
// reached), registers this replica as a member, and reports the desired
// keys assigned to it: a Reset, then changes as the table and the
// membership change, and a Reset again after a watch failure or at each
// resync. It returns nil when ctx ends and an error matching
// ErrLeaseExpired when the lease is lost: the Keyed tree then watches
// again, under a new lease, while the guards stand by.
func (t *ShardedTable) Watch(ctx context.Context, send func(supervisor.Update)) error {
	t.mu.Lock()
	if t.running {
		t.mu.Unlock()
		return fmt.Errorf("etcd: sharded table %q: Watch already running", t.name)
	}
	t.running = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.running = false
		t.mu.Unlock()
	}()
	sess, err := newSession(ctx, t.cli, &t.cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("etcd: sharded table %q: %w", t.name, err)
	}
	defer sess.close()
	sctx, cancel := sess.bind(ctx)
	defer cancel()
	if _, err := t.cli.Put(sctx, t.memberKey(t.cfg.id), "", clientv3.WithLease(sess.lease)); err != nil {
		return t.ended(ctx, sess, fmt.Errorf("etcd: sharded table %q: register at %v: %w", t.name, t.cli.Endpoints(), err))
	}
	t.setSession(sess)
	defer t.setSession(nil)
	for attempt := 0; sctx.Err() == nil; {
		rev, err := t.load(sctx, send)
		if err == nil {
			attempt = 0
			err = t.follow(sctx, rev+1, send)
		}
		if err != nil && sctx.Err() == nil {
			t.cfg.log.Debug("etcd: sharded table: watch failed; reloading", "table", t.name, "error", err)
			sleep(sctx, pause(attempt))
			attempt++
		}
	}
	return t.ended(ctx, sess, context.Cause(sctx))
}

// ended is Watch's result: nil when ctx ended, else why the session ended.
func (t *ShardedTable) ended(ctx context.Context, sess *session, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if !sess.valid() {
		return fmt.Errorf("etcd: sharded table %q: replica %s: %w", t.name, t.cfg.id, context.Cause(sess.ctx))
	}
	return err
}

// setSession publishes the session the guards claim under.
func (t *ShardedTable) setSession(s *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sess = s
	close(t.sessCh)
	t.sessCh = make(chan struct{})
	if s == nil {
		t.v.wakeAll()
	}
}

// load reads the whole table, the members and the owners at one revision,
// and reports a Reset of the keys assigned here.
func (t *ShardedTable) load(ctx context.Context, send func(supervisor.Update)) (int64, error) {
	resp, err := t.cli.Txn(ctx).Then(
		clientv3.OpGet(t.root+"desired/", clientv3.WithPrefix()),
		clientv3.OpGet(t.root+"members/", clientv3.WithPrefix()),
		clientv3.OpGet(t.root+"owners/", clientv3.WithPrefix())).Commit()
	if err != nil {
		return 0, err
	}
	t.mu.Lock()
	u := t.v.reset(t.root, resp)
	stale := t.strays(maps.Keys(t.v.owners))
	t.mu.Unlock()
	t.sweep(ctx, stale)
	send(u)
	return resp.Header.Revision, nil
}

// follow watches the table's prefix from rev, reporting changes, until the
// watch fails, the resync period passes (nil), or ctx ends.
func (t *ShardedTable) follow(ctx context.Context, rev int64, send func(supervisor.Update)) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := t.cli.Watch(wctx, t.root, clientv3.WithPrefix(), clientv3.WithRev(rev))
	var resync <-chan time.Time
	if t.cfg.resync > 0 {
		tm := time.NewTimer(t.cfg.resync)
		defer tm.Stop()
		resync = tm.C
	}
	for {
		select {
		case wr, ok := <-wch:
			if !ok {
				return errors.New("watch closed")
			}
			if err := wr.Err(); err != nil {
				return err
			}
			t.mu.Lock()
			cs := t.v.apply(t.root, wr.Events)
			stale := t.strays(t.ownerPuts(wr.Events))
			t.mu.Unlock()
			t.sweep(ctx, stale)
			if len(cs) > 0 {
				send(supervisor.Update{Changes: cs})
			}
		case <-resync:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// ownerPuts returns the keys whose owner key an event batch created.
func (t *ShardedTable) ownerPuts(events []*clientv3.Event) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, ev := range events {
			k := string(ev.Kv.Key)
			if ev.Type == mvccpb.PUT && strings.HasPrefix(k, t.root+"owners/") &&
				!yield(k[len(t.root+"owners/"):]) {
				return
			}
		}
	}
}

// strays returns the owner keys (key -> create revision) held under this
// replica's current lease for keys that no guard of this replica is
// handling: a claim applied by the server after its guard gave it up (the
// guard's undo can reach the server first). t.mu is held.
func (t *ShardedTable) strays(keys iter.Seq[string]) map[string]int64 {
	var out map[string]int64
	if t.sess == nil {
		return nil
	}
	for key := range keys {
		h, ok := t.v.owners[key]
		if ok && h.lease == int64(t.sess.lease) && t.guards[key] == 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[key] = h.rev
		}
	}
	return out
}

// sweep deletes stray owner keys, each only if it is still the same claim.
func (t *ShardedTable) sweep(ctx context.Context, stale map[string]int64) {
	for key, rev := range stale {
		okey := t.ownerKey(key)
		_, err := t.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(okey), "=", rev)).
			Then(clientv3.OpDelete(okey)).Commit()
		t.cfg.log.Info("etcd: sharded table: stray claim swept", "table", t.name, "key", key, "error", err)
	}
}
