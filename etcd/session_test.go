// session_test.go: tests of session.go: the local deadline ends the
// session's context while the server still holds the lease (before anyone
// else could win), and close revokes the lease.

package etcd

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
