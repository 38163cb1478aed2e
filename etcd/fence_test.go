// fence_test.go: tests of fence.go outside a fenced child (the fenced
// transaction of a leader is tested in singleton_test.go).

package etcd

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestFence_Context(t *testing.T) {
	_, ok := FenceFrom(context.Background())
	require.False(t, ok)
	require.Zero(t, Token(context.Background()))
	f := Fence{Key: "/k", Token: 7}
	ctx := withFence(context.Background(), f)
	got, ok := FenceFrom(ctx)
	require.True(t, ok)
	require.Equal(t, f, got)
	require.EqualValues(t, 7, Token(ctx))

	cli := newClient(t)
	_, err := cli.Put(testCtx(t), "/"+t.Name()+"/k", "x")
	require.NoError(t, err)
	txn, err := FencedTxn(withFence(testCtx(t), Fence{Key: "/" + t.Name() + "/k", Token: 1}), cli,
		clientv3.Compare(clientv3.Value("/"+t.Name()+"/k"), "=", "x"))
	require.NoError(t, err)
	resp, err := txn.Commit()
	require.NoError(t, err)
	require.False(t, resp.Succeeded, "a token that is not the key's create revision fails the transaction")
}
