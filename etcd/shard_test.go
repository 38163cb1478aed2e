// shard_test.go: tests of shard.go, shard_view.go and shard_guard.go
// against the embedded server, with three replicas in this process (each
// with its own client): keys spread and follow the table, a dead replica's
// keys are taken over after its lease, a clean stop hands over at once, a
// joining replica takes about a third of the keys, and bad input.

package etcd

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/arbor-go/supervisor"
)

// kreplica is one replica running a Keyed tree over a ShardedTable.
type kreplica struct {
	id     string
	cli    *clientv3.Client
	table  *ShardedTable
	keyed  *supervisor.Keyed
	single *Singleton
	pause  pauser
	cancel context.CancelFunc
	done   chan error
}

// values records the value each key's last run started with.
type values struct {
	mu sync.Mutex
	m  map[string]string
}

func (v *values) set(k, val string) {
	v.mu.Lock()
	if v.m == nil {
		v.m = map[string]string{}
	}
	v.m[k] = val
	v.mu.Unlock()
}

func (v *values) get(k string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[k]
}

// startKeyedReplica starts replica id of the table "t" under prefix.
func startKeyedReplica(t testing.TB, prefix, id string, log *runLog, vals *values, opts ...Option) *kreplica {
	t.Helper()
	r := &kreplica{id: id, cli: newClient(t), done: make(chan error, 1)}
	opts = append([]Option{WithTTL(2 * time.Second), WithMargin(testMargin), WithReplicaID(id), WithPrefix(prefix), r.pause.option(),
		WithResync(10 * time.Second)}, opts...)
	table, err := NewShardedTable(r.cli, "t", opts...)
	require.NoError(t, err)
	r.table = table
	factory := func(key, value string) supervisor.Spec {
		return supervisor.Spec{Run: func(ctx context.Context) error {
			end := log.begin(key, id, Token(ctx))
			defer end()
			if vals != nil {
				vals.set(key, value)
			}
			<-ctx.Done()
			return nil
		}}
	}
	r.keyed, err = supervisor.NewKeyed(table, factory, supervisor.KeyedRetry(50*time.Millisecond, time.Second),
		supervisor.KeyedTree(supervisor.WithName("keyed"), supervisor.WithIntensity(1000, time.Second)))
	require.NoError(t, err)
	// The parent restarts the keyed tree if its start fails (a lease lost
	// while starting on a loaded machine), as a service's tree would. Each
	// replica also runs the Singleton "job", recorded as key "singleton".
	single, err := NewSingleton(r.cli, "job", supervisor.Spec{Run: func(ctx context.Context) error {
		end := log.begin("singleton", id, Token(ctx))
		defer end()
		<-ctx.Done()
		return nil
	}}, opts...)
	require.NoError(t, err)
	r.single = single
	parent, err := supervisor.New(supervisor.WithName(id), supervisor.WithChildren(r.keyed.Spec(), single.Spec()),
		supervisor.WithIntensity(1000, time.Second), supervisor.WithBackoff(50*time.Millisecond, time.Second))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- parent.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop stops the replica cleanly (once).
func (r *kreplica) stop(t testing.TB) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	require.NoError(t, <-r.done)
}

// putKeys puts k0000..k(n-1) with value, 100 to a transaction.
func putKeys(t testing.TB, table *ShardedTable, n int, value string) {
	t.Helper()
	ctx := testCtx(t)
	for i := 0; i < n; i += 100 {
		var ops []clientv3.Op
		for j := i; j < min(i+100, n); j++ {
			ops = append(ops, clientv3.OpPut(table.desiredKey(fmt.Sprintf("k%04d", j)), value))
		}
		_, err := table.cli.Txn(ctx).Then(ops...).Commit()
		require.NoError(t, err)
	}
}

// waitPlaced waits until n keys run, each once, none on the replicas in
// not, and returns where each runs.
func waitPlaced(t testing.TB, log *runLog, n int, d time.Duration, not ...string) map[string]string {
	t.Helper()
	var place map[string]string
	waitFor(t, d, fmt.Sprintf("%d keys and the singleton running once", n), func() bool {
		p, twice := log.placement()
		if len(p) != n+1 || twice > 0 {
			return false
		}
		for _, r := range p {
			for _, x := range not {
				if r == x {
					return false
				}
			}
		}
		place = p
		return true
	})
	return place
}

func TestSharded_SpreadAndFollow(t *testing.T) {
	log, vals := &runLog{}, &values{}
	prefix := "/" + t.Name() + "/"
	rs := []*kreplica{startKeyedReplica(t, prefix, "r0", log, vals), startKeyedReplica(t, prefix, "r1", log, vals),
		startKeyedReplica(t, prefix, "r2", log, vals)}
	putKeys(t, rs[0].table, 30, "v1")
	// A complete placement can be reached before every replica has seen the
	// others (two replicas then run everything, until the third is seen and
	// its keys move to it), so the spread is part of what is waited for.
	waitFor(t, 10*time.Second, "30 keys and the singleton running once, on all three replicas", func() bool {
		p, twice := log.placement()
		if len(p) != 31 || twice > 0 {
			return false
		}
		per := map[string]int{}
		for _, r := range p {
			per[r]++
		}
		return len(per) == 3
	})
	waitFor(t, 5*time.Second, "every replica to see three members", func() bool {
		return len(rs[0].table.Members()) == 3 && len(rs[1].table.Members()) == 3 && len(rs[2].table.Members()) == 3
	})
	waitPlaced(t, log, 30, 5*time.Second)
	require.Equal(t, 30, rs[0].table.Owned()+rs[1].table.Owned()+rs[2].table.Owned())

	ctx := testCtx(t)
	require.NoError(t, rs[1].table.Delete(ctx, "k0003"))
	require.NoError(t, rs[1].table.Put(ctx, "k0004", "v2"))
	waitFor(t, 5*time.Second, "k0003 to stop and k0004 to run v2", func() bool {
		return len(log.running("k0003")) == 0 && vals.get("k0004") == "v2" && len(log.running("k0004")) == 1
	})
	waitPlaced(t, log, 29, 5*time.Second)
	log.check(t)
}

// A replica that dies (its client is closed: no keep-alive, no release)
// loses its keys once its lease expires; the others take them over.
func TestSharded_FailoverAfterDeath(t *testing.T) {
	log := &runLog{}
	prefix := "/" + t.Name() + "/"
	rs := []*kreplica{startKeyedReplica(t, prefix, "r0", log, nil), startKeyedReplica(t, prefix, "r1", log, nil),
		startKeyedReplica(t, prefix, "r2", log, nil)}
	n := 200
	if soak() {
		n = 1000
	}
	putKeys(t, rs[0].table, n, "v")
	waitPlaced(t, log, n, 60*time.Second)
	t0 := time.Now()
	require.NoError(t, rs[2].cli.Close())
	waitPlaced(t, log, n, 60*time.Second, "r2")
	t.Logf("rebalance of %d keys after a replica died (TTL 2s): %v", n, time.Since(t0))
	log.check(t)
}

// A replica stopped cleanly releases its keys as its children return: the
// others take them over without waiting for a TTL (10s here, so that a
// hand-over well within it cannot come from an expiry).
func TestSharded_CleanStopHandsOver(t *testing.T) {
	log := &runLog{}
	prefix := "/" + t.Name() + "/"
	ttl := WithTTL(10 * time.Second)
	rs := []*kreplica{startKeyedReplica(t, prefix, "r0", log, nil, ttl), startKeyedReplica(t, prefix, "r1", log, nil, ttl),
		startKeyedReplica(t, prefix, "r2", log, nil, ttl)}
	putKeys(t, rs[0].table, 60, "v")
	waitPlaced(t, log, 60, 20*time.Second)
	t0 := time.Now()
	rs[1].stop(t)
	waitPlaced(t, log, 60, 20*time.Second, "r1")
	d := time.Since(t0)
	t.Logf("hand-over of a cleanly stopped replica's keys: %v", d)
	require.Less(t, d, 5*time.Second, "released keys move before any lease could expire")
	log.check(t)
}

// A replica joining takes about a third of the keys, only from the others.
func TestSharded_JoinMovesAThird(t *testing.T) {
	log := &runLog{}
	prefix := "/" + t.Name() + "/"
	rs := []*kreplica{startKeyedReplica(t, prefix, "r0", log, nil), startKeyedReplica(t, prefix, "r1", log, nil)}
	const n = 300
	putKeys(t, rs[0].table, n, "v")
	before := waitPlaced(t, log, n, 30*time.Second)
	startKeyedReplica(t, prefix, "r2", log, nil)
	share := rs[0].table.assignedTo("r2", 3)
	var after map[string]string
	waitFor(t, 30*time.Second, "r2 to take its share", func() bool {
		p, twice := log.placement()
		after = p
		return twice == 0 && len(p) == n+1 && owned(p, "r2") == share
	})
	moved := 0
	for k, r := range after {
		if before[k] != r && k != "singleton" {
			moved++
			require.Equal(t, "r2", r)
		}
	}
	require.InDelta(t, n/3, moved, n/6)
	log.check(t)
}

func owned(place map[string]string, id string) int {
	n := 0
	for k, r := range place {
		if r == id && k != "singleton" {
			n++
		}
	}
	return n
}

// assignedTo counts the desired keys rendezvous hashing gives id once
// there are members r0..r(n-1).
func (t *ShardedTable) assignedTo(id string, n int) int {
	var members []string
	for i := range n {
		members = append(members, fmt.Sprintf("r%d", i))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := 0
	for k := range t.v.desired {
		if owner(k, members) == id {
			c++
		}
	}
	return c
}

// An invalid key written straight into etcd is reported by the Keyed tree
// and left in the table; the other keys run.
func TestSharded_BadInput(t *testing.T) {
	log := &runLog{}
	prefix := "/" + t.Name() + "/"
	r := startKeyedReplica(t, prefix, "r0", log, nil)
	ctx := testCtx(t)
	require.ErrorIs(t, r.table.Put(ctx, "no spaces", "v"), supervisor.ErrInvalidKey)
	_, err := r.cli.Put(ctx, r.table.desiredKey("bad key"), "v")
	require.NoError(t, err)
	require.NoError(t, r.table.Put(ctx, "good", "v"))
	waitFor(t, 5*time.Second, "the good key to run and the bad one to be reported", func() bool {
		return len(log.running("good")) == 1 && r.keyed.Errors()["bad key"] != nil
	})
	require.ErrorIs(t, r.keyed.Errors()["bad key"], supervisor.ErrInvalidKey)
	resp, err := r.cli.Get(ctx, r.table.desiredKey("bad key"))
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "arbor never drops a key from the table")

	_, err = NewShardedTable(r.cli, "a/b")
	require.ErrorIs(t, err, supervisor.ErrInvalidKey)
	_, err = NewShardedTable(nil, "x")
	require.ErrorIs(t, err, ErrInvalidOption)
}

// An unreachable etcd fails the keyed tree's start within the start timeout
// with an error naming the endpoints.
func TestSharded_Unreachable(t *testing.T) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:1"}, DialTimeout: time.Second,
		Logger: nopLogger()})
	require.NoError(t, err)
	defer cli.Close()
	table, err := NewShardedTable(cli, "t", WithStartTimeout(500*time.Millisecond))
	require.NoError(t, err)
	k, err := supervisor.NewKeyed(table, func(string, string) supervisor.Spec { return supervisor.Spec{} })
	require.NoError(t, err)
	t0 := time.Now()
	err = k.Run(testCtx(t))
	require.ErrorIs(t, err, ErrUnreachable)
	require.ErrorContains(t, err, "127.0.0.1:1")
	require.Less(t, time.Since(t0), 5*time.Second)
}
