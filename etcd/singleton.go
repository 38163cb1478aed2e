// singleton.go: Singleton, a Spec wrapper that runs its Spec's Run only on
// the replica that holds the election for a name. The election is one key,
// created in a transaction only if absent and bound to this replica's
// lease; a stand-by replica watches the key and tries again once it is
// deleted (leader resigned, or its lease expired). The leader's context
// follows the session's local deadline, so it ends before the key can
// expire on the server and anyone else can win.

package etcd

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/arbor-go/supervisor"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Role is what a Singleton is doing on this replica.
type Role int32

const (
	// Stopped: its Run is not running.
	Stopped Role = iota
	// Standby: waiting to win the election (healthy and ready).
	Standby
	// Leader: the wrapped Run is running here.
	Leader
)

var roleNames = [...]string{"stopped", "standby", "leader"}

// String returns the role's name in lower case.
func (r Role) String() string {
	if int(r) < len(roleNames) && r >= 0 {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", int32(r))
}

// Singleton runs a Spec on exactly one replica at a time: the one holding
// the election for its name. Use Spec to add it to a tree.
type Singleton struct {
	cli   *clientv3.Client
	name  string
	key   string
	inner supervisor.Spec
	cfg   config
	role  atomic.Int32
	token atomic.Int64
}

// NewSingleton wraps spec so that its Run runs only while this replica holds
// the election for name, a valid supervisor key (see supervisor.ValidKey).
func NewSingleton(cli *clientv3.Client, name string, spec supervisor.Spec, opts ...Option) (*Singleton, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := supervisor.ValidKey(name); err != nil {
		return nil, fmt.Errorf("etcd: singleton: %w", err)
	}
	if cli == nil || spec.Run == nil {
		return nil, fmt.Errorf("etcd: singleton %q: %w: client and spec.Run are required", name, ErrInvalidOption)
	}
	return &Singleton{cli: cli, name: name, key: cfg.prefix + "singleton/" + name, inner: spec, cfg: cfg}, nil
}

// Spec returns the wrapped Spec: Name (default: the election name),
// Restart, Shutdown and Significant as given; its Run is the Singleton's.
// If the wrapped Spec has WaitReady, the wrapper is ready on stand-by too.
// A wrapped Watchdog is dropped: stand-by sends no heartbeats. A subtree's
// Spec (Tree.Spec) stays a subtree to the parent.
func (s *Singleton) Spec() supervisor.Spec {
	sp := s.inner
	if sp.Name == "" {
		sp.Name = s.name
	}
	sp.Run = s.Run
	sp.Watchdog = 0
	return sp
}

// Role returns what the Singleton is doing on this replica now.
func (s *Singleton) Role() Role { return Role(s.role.Load()) }

// Token returns the fencing token of the current leadership here, or 0.
func (s *Singleton) Token() int64 { return s.token.Load() }

// Key returns the election key.
func (s *Singleton) Key() string { return s.key }

// SingletonDetail is what a Singleton shows of itself in its tree's
// snapshot (supervisor.ChildSnapshot.Detail).
type SingletonDetail struct {
	Role  string `json:"role"`            // standby, leader or stopped
	Token int64  `json:"token,omitempty"` // the fencing token while leader
	Key   string `json:"key"`             // the election key
}

func (s *Singleton) detail() any {
	return SingletonDetail{Role: s.Role().String(), Token: s.Token(), Key: s.key}
}

// Run stands by until this replica wins the election, then runs the wrapped
// Run with the fence (FenceFrom) in its context, which is cancelled as soon
// as the lease cannot be confirmed. After a lost lease it stands by again;
// when the wrapped Run returns by itself, Run resigns and returns its
// error; when ctx ends, Run resigns (the next replica takes over at once)
// and returns nil. If etcd cannot be reached within the start timeout at
// the start, Run returns an error matching ErrUnreachable.
func (s *Singleton) Run(ctx context.Context) error {
	defer s.role.Store(int32(Stopped))
	supervisor.ReportDetail(ctx, s.detail) // standby or leader, in the tree's snapshot
	for attempt := 0; ; attempt++ {
		sess, err := newSession(ctx, s.cli, &s.cfg)
		switch {
		case ctx.Err() != nil:
			if sess != nil {
				sess.close()
			}
			return nil
		case err != nil && attempt == 0:
			return fmt.Errorf("etcd: singleton %q: %w", s.name, err)
		case err != nil:
			s.cfg.log.Warn("etcd: singleton: no session; standing by", "name", s.name, "error", err)
			if !sleep(ctx, pause(attempt)) {
				return nil
			}
			continue
		}
		s.role.Store(int32(Standby))
		supervisor.Ready(ctx)
		lost, err := s.term(ctx, sess)
		if ctx.Err() != nil {
			return nil
		}
		if !lost {
			return err
		}
		s.cfg.log.Warn("etcd: singleton: lease lost; standing by", "name", s.name, "cause", err)
		attempt = 0
	}
}

// term campaigns and, once elected, runs the wrapped Run, under one
// session; lost says the session ended first.
func (s *Singleton) term(ctx context.Context, sess *session) (lost bool, err error) {
	defer sess.close()
	token, err := campaign(ctx, sess, s.key, s.cfg.id)
	if err != nil {
		return !sess.valid(), err
	}
	if !sess.enter() {
		return true, context.Cause(sess.ctx)
	}
	defer sess.leave()
	s.token.Store(token)
	s.role.Store(int32(Leader))
	s.cfg.log.Info("etcd: singleton: elected", "name", s.name, "replica", s.cfg.id, "token", token)
	rctx, cancel := sess.bind(ctx)
	err = s.inner.Run(withFence(rctx, Fence{Key: s.key, Token: token}))
	cancel()
	s.token.Store(0)
	s.role.Store(int32(Standby))
	if !sess.valid() && ctx.Err() == nil {
		return true, context.Cause(sess.ctx)
	}
	return false, err
}

// campaign creates key bound to the session's lease, waiting while another
// holder has it, and returns its create revision. It fails when ctx or the
// session ends.
func campaign(ctx context.Context, sess *session, key, id string) (int64, error) {
	cctx, cancel := sess.bind(ctx)
	defer cancel()
	for attempt := 0; ; attempt++ {
		resp, err := sess.cli.Txn(cctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, id, clientv3.WithLease(sess.lease))).
			Else(clientv3.OpGet(key)).Commit()
		if err != nil {
			if cctx.Err() != nil {
				return 0, context.Cause(cctx)
			}
			if !sleep(cctx, pause(attempt)) {
				return 0, context.Cause(cctx)
			}
			continue
		}
		if resp.Succeeded {
			return resp.Header.Revision, nil
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) > 0 && clientv3.LeaseID(kvs[0].Lease) == sess.lease {
			return kvs[0].CreateRevision, nil
		}
		if err := waitDeleted(cctx, sess, key, resp.Header.Revision); err != nil {
			return 0, err
		}
	}
}

// waitDeleted returns when key is deleted after revision rev, when a
// TTL has passed (to look again, in case the watch missed it), or with an
// error when ctx ends.
func waitDeleted(ctx context.Context, sess *session, key string, rev int64) error {
	wctx, cancel := context.WithTimeout(ctx, sess.cfg.ttl)
	defer cancel()
	wch := sess.cli.Watch(clientv3.WithRequireLeader(wctx), key, clientv3.WithRev(rev+1),
		clientv3.WithFilterPut())
	for {
		select {
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil || len(wr.Events) > 0 {
				return ctxErr(ctx)
			}
		case <-wctx.Done():
			return ctxErr(ctx)
		}
	}
}

func ctxErr(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// pause is the wait before retry number attempt: 50ms doubling to 2s.
func pause(attempt int) time.Duration {
	return min(50*time.Millisecond<<min(attempt, 6), 2*time.Second)
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
