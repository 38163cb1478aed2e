// singleton_test.go: tests of singleton.go against the embedded server:
// one leader among three replicas, hand-over on a clean stop, failover
// after a replica dies, lost keep-alives, a server restart, fencing, and an
// unreachable etcd at start.

package etcd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/arbor-go/supervisor"
)

// sreplica is one replica running a tree with a Singleton child.
type sreplica struct {
	id     string
	cli    *clientv3.Client
	single *Singleton
	tree   *supervisor.Tree
	pause  pauser
	cancel context.CancelFunc
	done   <-chan error
}

// startSingleton starts replica id, recording its runs of the singleton
// "job" in log.
func startSingleton(t testing.TB, prefix, id string, log *runLog, opts ...Option) *sreplica {
	t.Helper()
	r := &sreplica{id: id, cli: newClient(t)}
	spec := supervisor.Spec{Name: "job", Run: func(ctx context.Context) error {
		end := log.begin("job", id, Token(ctx))
		defer end()
		<-ctx.Done()
		return nil
	}}
	opts = append([]Option{WithTTL(2 * time.Second), WithMargin(testMargin), WithReplicaID(id), WithPrefix(prefix), r.pause.option()}, opts...)
	s, err := NewSingleton(r.cli, "job", spec, opts...)
	require.NoError(t, err)
	r.single = s
	tree, err := supervisor.New(supervisor.WithName(id), supervisor.WithChildren(s.Spec()),
		supervisor.WithIntensity(100, time.Second))
	require.NoError(t, err)
	r.tree = tree
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, tree.Start(ctx)
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop stops the replica's tree cleanly (once).
func (r *sreplica) stop(t testing.TB) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	require.NoError(t, <-r.done)
}

// leaders returns the replicas that are leaders now.
func leaders(rs []*sreplica) []*sreplica {
	var out []*sreplica
	for _, r := range rs {
		if r.single.Role() == Leader {
			out = append(out, r)
		}
	}
	return out
}

func startThree(t testing.TB, log *runLog, opts ...Option) []*sreplica {
	prefix := "/" + t.Name() + "/"
	rs := []*sreplica{startSingleton(t, prefix, "r0", log, opts...), startSingleton(t, prefix, "r1", log, opts...),
		startSingleton(t, prefix, "r2", log, opts...)}
	waitFor(t, 10*time.Second, "a leader", func() bool { return len(log.running("job")) == 1 })
	return rs
}

// leader returns the one leader, per the run log.
func leader(t testing.TB, rs []*sreplica, log *runLog) *sreplica {
	t.Helper()
	run := log.running("job")
	require.Len(t, run, 1)
	for _, r := range rs {
		if r.id == run[0] {
			return r
		}
	}
	t.Fatalf("no replica %s", run[0])
	return nil
}

// With a 10s TTL, a hand-over well within the TTL can only come from the
// resignation, not from an expiry.
func TestSingleton_HandOverOnCleanStop(t *testing.T) {
	log := &runLog{}
	rs := startThree(t, log, WithTTL(10*time.Second))
	for range 2 {
		old := leader(t, rs, log)
		require.Equal(t, Leader, old.single.Role())
		require.Positive(t, old.single.Token())
		snap, err := old.tree.Snapshot(context.Background())
		require.NoError(t, err)
		require.Equal(t, SingletonDetail{Role: "leader", Token: old.single.Token(), Key: old.single.Key()}, snap.Children[0].Detail,
			"the snapshot shows the role")
		t0 := time.Now()
		old.stop(t)
		waitFor(t, 5*time.Second, "a new leader", func() bool { return len(log.running("job")) == 1 })
		t.Logf("hand-over on clean stop: %v", time.Since(t0))
		require.Less(t, time.Since(t0), 5*time.Second, "a resign hands over long before the TTL")
		require.Equal(t, Stopped, old.single.Role())
	}
	log.check(t)
}

func TestSingleton_FailoverAfterDeath(t *testing.T) {
	log := &runLog{}
	rs := startThree(t, log)
	old := leader(t, rs, log)
	t0 := time.Now()
	require.NoError(t, old.cli.Close()) // the replica is cut off: no keep-alive, no resign
	waitFor(t, 10*time.Second, "the dead leader's child to stop", func() bool { return old.single.Role() != Leader })
	waitFor(t, 10*time.Second, "a new leader", func() bool {
		run := log.running("job")
		return len(run) == 1 && run[0] != old.id
	})
	t.Logf("failover after the leader's death (TTL 2s): %v", time.Since(t0))
	log.check(t)
}

func TestSingleton_KeepAlivesStopped(t *testing.T) {
	log := &runLog{}
	rs := startThree(t, log)
	old := leader(t, rs, log)
	old.pause.on.Store(true)
	waitFor(t, 10*time.Second, "a new leader", func() bool {
		run := log.running("job")
		return len(run) == 1 && run[0] != old.id
	})
	old.pause.on.Store(false)
	require.NotEqual(t, Leader, old.single.Role())
	log.check(t)
}

func TestSingleton_ServerRestart(t *testing.T) {
	log := &runLog{}
	startThree(t, log)
	srv.Stop()
	waitFor(t, 10*time.Second, "every leader to stop", func() bool { return len(log.running("job")) == 0 })
	require.NoError(t, srv.Restart())
	waitFor(t, 20*time.Second, "a leader after the restart", func() bool { return len(log.running("job")) == 1 })
	log.check(t)
}

// A write fenced by an old leadership fails once another replica leads.
func TestSingleton_Fencing(t *testing.T) {
	cli := newClient(t)
	prefix := "/" + t.Name() + "/"
	ctxs := make(chan context.Context, 2)
	spec := supervisor.Spec{Run: func(ctx context.Context) error {
		ctxs <- ctx
		<-ctx.Done()
		return nil
	}}
	a, err := NewSingleton(cli, "fenced", spec, WithTTL(2*time.Second), WithPrefix(prefix), WithReplicaID("a"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	lctx := <-ctxs
	f, ok := FenceFrom(lctx)
	require.True(t, ok)
	require.Equal(t, a.Key(), f.Key)
	txn, err := FencedTxn(testCtx(t), cli)
	require.ErrorIs(t, err, ErrNoFence)
	require.Nil(t, txn)
	txn, err = FencedTxn(lctx, cli)
	require.NoError(t, err)
	resp, err := txn.Then(clientv3.OpPut(prefix+"data", "1")).Commit()
	require.NoError(t, err)
	require.True(t, resp.Succeeded)

	cancel() // resigns
	require.NoError(t, <-done)
	b, err := NewSingleton(cli, "fenced", spec, WithTTL(2*time.Second), WithPrefix(prefix), WithReplicaID("b"))
	require.NoError(t, err)
	ctx2, cancel2 := context.WithCancel(testCtx(t))
	go func() { done <- b.Run(ctx2) }()
	bctx := <-ctxs
	require.Greater(t, Token(bctx), f.Token)
	resp, err = cli.Txn(testCtx(t)).If(f.Cmp()).Then(clientv3.OpPut(prefix+"data", "stale")).Commit()
	require.NoError(t, err)
	require.False(t, resp.Succeeded, "the old fence no longer holds")
	cancel2()
	require.NoError(t, <-done)
}

// An unreachable etcd at start fails the child within the start timeout,
// with an error naming the endpoints; a tree sees a failed start.
func TestSingleton_Unreachable(t *testing.T) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:1"}, DialTimeout: time.Second,
		Logger: nopLogger()})
	require.NoError(t, err)
	defer cli.Close()
	s, err := NewSingleton(cli, "job", supervisor.Spec{WaitReady: true, Run: func(ctx context.Context) error {
		return nil
	}}, WithStartTimeout(500*time.Millisecond))
	require.NoError(t, err)
	tree, err := supervisor.New(supervisor.WithChildren(s.Spec()))
	require.NoError(t, err)
	t0 := time.Now()
	err = tree.Run(testCtx(t))
	require.ErrorIs(t, err, supervisor.ErrStartFailed)
	require.ErrorIs(t, err, ErrUnreachable)
	require.ErrorContains(t, err, "127.0.0.1:1")
	require.Less(t, time.Since(t0), 5*time.Second)
}

func TestSingleton_BadInput(t *testing.T) {
	cli := newClient(t)
	ok := supervisor.Spec{Run: func(context.Context) error { return nil }}
	_, err := NewSingleton(cli, "bad/name", ok)
	require.ErrorIs(t, err, supervisor.ErrInvalidKey)
	_, err = NewSingleton(cli, "x", supervisor.Spec{})
	require.ErrorIs(t, err, ErrInvalidOption)
	_, err = NewSingleton(cli, "x", ok, WithTTL(1500*time.Millisecond))
	require.ErrorIs(t, err, ErrInvalidOption)
	_, err = NewSingleton(cli, "x", ok, WithTTL(time.Second), WithMargin(2*time.Second))
	require.ErrorIs(t, err, ErrInvalidOption)
	require.True(t, strings.HasPrefix(err.Error(), "etcd: "))
	require.False(t, errors.Is(err, ErrUnreachable))
}
