// session_test.go: tests of session.go: the local deadline ends the
// session's context while the server still holds the lease (before anyone
// else could win), and close revokes the lease.

package etcd

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestSession_DeadlineBeforeServerExpiry(t *testing.T) {
	cli := newClient(t)
	var p pauser
	cfg, err := newConfig([]Option{WithTTL(2 * time.Second), p.option()})
	require.NoError(t, err)
	s, err := newSession(testCtx(t), cli, &cfg)
	require.NoError(t, err)
	defer s.close()
	time.Sleep(time.Second)
	require.True(t, s.valid(), "renewed while keep-alives run")
	p.on.Store(true)
	<-s.ctx.Done()
	require.ErrorIs(t, context.Cause(s.ctx), ErrLeaseExpired)
	ttl, err := cli.TimeToLive(testCtx(t), s.lease)
	require.NoError(t, err)
	require.GreaterOrEqual(t, ttl.TTL, int64(0), "the server still holds the lease when the local deadline fires (-1: gone)")
}

func TestSession_CloseRevokes(t *testing.T) {
	cli := newClient(t)
	cfg, err := newConfig([]Option{WithTTL(5 * time.Second)})
	require.NoError(t, err)
	s, err := newSession(testCtx(t), cli, &cfg)
	require.NoError(t, err)
	require.True(t, s.enter())
	closed := make(chan struct{})
	go func() {
		s.close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("close returned while a user was running")
	case <-time.After(50 * time.Millisecond):
	}
	require.False(t, s.enter(), "no new users while closing")
	s.leave()
	<-closed
	ttl, err := cli.TimeToLive(testCtx(t), s.lease)
	require.NoError(t, err)
	require.Equal(t, int64(-1), ttl.TTL, "revoked")
	require.True(t, errors.Is(context.Cause(s.ctx), errSessionClosed))
}

// A grant answered after the lease's local deadline (the server restarted
// while the request was in flight) is not used: newSession revokes it and
// asks again, so the session it returns is valid with a deadline ahead. The
// revoke is done by the time newSession returns: no goroutine of it is left
// behind to finish it (goleak caught one, 1 run in 12 of the whole suite).
func TestSession_LateGrantIsRevokedAndAskedAgain(t *testing.T) {
	cli := newClient(t)
	before := leaseIDs(t, cli)
	cfg, err := newConfig([]Option{WithTTL(2 * time.Second), WithStartTimeout(30 * time.Second)})
	require.NoError(t, err)
	srv.Stop()
	type result struct {
		s   *session
		err error
	}
	got := make(chan result, 1)
	go func() {
		s, err := newSession(testCtx(t), cli, &cfg)
		got <- result{s, err}
	}()
	time.Sleep(2 * time.Second) // longer than the lease's window (TTL - margin = 1.33s)
	require.NoError(t, srv.Restart())
	r := <-got
	require.NoError(t, r.err)
	assert.NotContains(t, allStacks(), "etcd.revoke", "a revoke still running after newSession returned")
	defer r.s.close()
	require.True(t, r.s.valid())
	require.Greater(t, time.Duration(r.s.due.Load()), time.Since(clockBase), "its deadline is ahead")
	for id := range leaseIDs(t, cli) {
		assert.True(t, before[id] || id == r.s.lease, "lease %x: the late grant's, still there", int64(id))
	}
}

// leaseIDs lists the leases the server holds.
func leaseIDs(t *testing.T, cli *clientv3.Client) map[clientv3.LeaseID]bool {
	resp, err := cli.Leases(testCtx(t))
	require.NoError(t, err)
	ids := map[clientv3.LeaseID]bool{}
	for _, l := range resp.Leases {
		ids[l.ID] = true
	}
	return ids
}

// allStacks is the stack of every goroutine, as a panic would print them.
func allStacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}
