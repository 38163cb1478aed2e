// session.go: a lease held by this process, with a local deadline. The
// keeper renews the lease with one KeepAliveOnce at a time and, after each
// success, moves the deadline to (time the request was sent) + TTL -
// margin. The session's context is cancelled at that deadline, when the
// lease is reported gone, or when the session is closed: whatever runs
// under the lease stops before the server could expire it, without
// waiting for any watch or campaign to notice.

package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// session is one lease and its keeper.
type session struct {
	cli    *clientv3.Client
	cfg    *config
	lease  clientv3.LeaseID
	ctx    context.Context // valid while the lease is known to be held
	cancel context.CancelCauseFunc
	expiry *time.Timer   // cancels ctx at the local deadline
	due    atomic.Int64  // when the expiry timer is due, since clockBase (monotonic)
	done   chan struct{} // the keeper returned
	once   sync.Once

	mu      sync.Mutex
	users   int           // children running under the lease
	closing bool          // close was called: no new users
	idle    chan struct{} // closed when users drops to 0 while closing
}

// enter registers a user of the lease; false if the session is ending.
func (s *session) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || !s.valid() {
		return false
	}
	s.users++
	return true
}

// leave unregisters a user.
func (s *session) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users--
	if s.users == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

// quiesce stops new users and waits for the running ones to leave.
func (s *session) quiesce() {
	s.mu.Lock()
	s.closing = true
	var idle chan struct{}
	if s.users > 0 {
		s.idle = make(chan struct{})
		idle = s.idle
	}
	s.mu.Unlock()
	if idle != nil {
		<-idle
	}
}

// newSession grants a lease, giving up after the start timeout with an
// error naming the endpoints. A grant whose answer arrives after the
// lease's local deadline (a server restarting while the request was in
// flight) is of no use: it is revoked, before asking again, on the calling
// goroutine (a goroutine of its own would outlive the call: the revoke may
// take up to the revoke timeout).
func newSession(ctx context.Context, cli *clientv3.Client, cfg *config) (*session, error) {
	gctx, cancel := context.WithTimeout(ctx, cfg.startTimeout)
	defer cancel()
	for {
		sent := time.Now()
		resp, err := cli.Grant(gctx, int64(cfg.ttl/time.Second))
		if err != nil {
			return nil, fmt.Errorf("%w at %v: %w", ErrUnreachable, cli.Endpoints(), err)
		}
		s := &session{cli: cli, cfg: cfg, lease: resp.ID, done: make(chan struct{})}
		d := sent.Add(s.window(resp.TTL))
		if time.Now().Before(d) {
			s.ctx, s.cancel = context.WithCancelCause(context.Background())
			s.setDeadline(d)
			s.expiry = time.AfterFunc(time.Until(d), s.expire)
			cfg.log.Debug("etcd: lease granted", "replica", cfg.id, "lease", int64(s.lease))
			go s.keep()
			return s, nil
		}
		cfg.log.Debug("etcd: lease granted too late to use", "replica", cfg.id, "lease", int64(s.lease),
			"took", time.Since(sent))
		revoke(cli, cfg, resp.ID)
	}
}

// revoke revokes a lease, waiting up to the revoke timeout whatever the
// caller's context (the lease should go even when the caller is stopping).
// A revoke that fails leaves the lease to expire on the server.
func revoke(cli *clientv3.Client, cfg *config, id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.revokeTimeout)
	defer cancel()
	if _, err := cli.Revoke(ctx, id); err != nil {
		cfg.log.Debug("etcd: revoke failed; the lease will expire", "replica", cfg.id, "lease", int64(id), "error", err)
	}
}

// setDeadline records when the expiry timer for the local deadline d is
// due: at d, or at once if d has passed (a late answer).
func (s *session) setDeadline(d time.Time) {
	s.due.Store(int64(max(time.Since(clockBase), d.Sub(clockBase))))
}

// clockBase is the origin of the monotonic readings the sessions store.
var clockBase = time.Now()

// window is how long after sending a grant or renewal that reported ttl
// seconds the lease may be relied on.
func (s *session) window(ttl int64) time.Duration {
	return min(time.Duration(ttl)*time.Second, s.cfg.ttl) - s.cfg.margin
}

// expire ends the session at its local deadline.
func (s *session) expire() {
	if s.ctx.Err() != nil {
		return // already ended, by an earlier firing or close
	}
	late := time.Since(clockBase) - time.Duration(s.due.Load())
	for {
		m := maxLate.Load()
		if int64(late) <= m || maxLate.CompareAndSwap(m, int64(late)) {
			break
		}
	}
	s.cfg.log.Warn("etcd: lease unconfirmed at its local deadline", "replica", s.cfg.id,
		"lease", int64(s.lease), "timer_late", late)
	s.cancel(ErrLeaseExpired)
}

// maxLate is the largest delay seen between the time the expiry timer was
// due and its firing: the part of the margin that scheduling ate (tests
// report it). A renewal answered after its deadline makes the timer due at
// once, not at the deadline: the time the answer took is not scheduling.
var maxLate atomic.Int64

// keep renews the lease until the session ends.
func (s *session) keep() {
	defer close(s.done)
	tick := time.NewTicker(max((s.cfg.ttl-s.cfg.margin)/3, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		if s.cfg.paused != nil && s.cfg.paused() {
			continue
		}
		sent := time.Now()
		resp, err := s.cli.KeepAliveOnce(s.ctx, s.lease)
		switch {
		case err == nil && resp.TTL > 0:
			d := sent.Add(s.window(resp.TTL))
			s.setDeadline(d)
			s.expiry.Reset(time.Until(d))
		case errors.Is(err, rpctypes.ErrLeaseNotFound) || (err == nil && resp.TTL <= 0) || s.cli.Ctx().Err() != nil:
			// gone on the server, or the client is closed: no renewal can follow
			s.cancel(ErrLeaseExpired)
			return
		default:
			s.cfg.log.Debug("etcd: keep-alive failed", "lease", int64(s.lease), "error", err)
		}
	}
}

// valid reports whether the lease is still known to be held.
func (s *session) valid() bool { return s.ctx.Err() == nil }

// bind returns a context cancelled when ctx ends or the session ends, with
// the session's cause.
func (s *session) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.ctx, func() { cancel(context.Cause(s.ctx)) })
	return c, func() {
		stop()
		cancel(nil)
	}
}

// close ends the session once users have finished: it stops the keeper and
// revokes the lease, which deletes every key bound to it (the quick
// hand-over on a clean stop).
func (s *session) close() {
	s.once.Do(func() {
		s.cancel(errSessionClosed)
		s.expiry.Stop()
		<-s.done
		s.quiesce()
		revoke(s.cli, s.cfg, s.lease)
	})
}

var errSessionClosed = errors.New("etcd: session closed")
