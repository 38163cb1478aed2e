// fence.go: fencing tokens. A child that runs under a singleton election
// or a key ownership finds in its context the etcd key that proves it and
// that key's create revision: the token. Tokens of one name or key only
// grow, since a later holder creates the key again at a later revision.

package etcd

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Fence is what a child holds: Key exists with create revision Token while
// the child's claim is valid.
type Fence struct {
	Key   string // the leader key (singleton) or owner key (sharded)
	Token int64  // Key's create revision
}

type fenceKey struct{}

func withFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence of the child whose context ctx is (or
// derives from), and false outside a Singleton or a sharded keyed child.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}

// Token returns the fencing token in ctx, or 0 outside a Singleton or a
// sharded keyed child.
func Token(ctx context.Context) int64 {
	f, _ := FenceFrom(ctx)
	return f.Token
}

// Cmp is the comparison that holds while the fence is still valid: its key
// exists with the same create revision.
func (f Fence) Cmp() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(f.Key), "=", f.Token)
}

// FencedTxn starts a transaction on kv that succeeds only if the caller
// still holds the fence in ctx, and cmps hold too. Add Then and Else and
// Commit as usual; a false Succeeded means a comparison failed, possibly
// the fence. Outside a fenced child it returns an error matching ErrNoFence.
func FencedTxn(ctx context.Context, kv clientv3.KV, cmps ...clientv3.Cmp) (clientv3.Txn, error) {
	f, ok := FenceFrom(ctx)
	if !ok {
		return nil, fmt.Errorf("etcd: %w in context", ErrNoFence)
	}
	return kv.Txn(ctx).If(append(cmps, f.Cmp())...), nil
}
