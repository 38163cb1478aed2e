// main_test.go: the tests' embedded etcd server (started once in TestMain,
// on loopback ports chosen at run time, in a temporary directory), the
// replica helpers every test uses, goleak, and the entry point of replica
// child processes (see crossprocess_test.go).

package etcd

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/arbor-go/supervisor/etcd/internal/embedded"
)

// srv is the embedded etcd server of this test binary.
var srv *embedded.Server

func TestMain(m *testing.M) {
	if os.Getenv(replicaEnv) != "" {
		os.Exit(replicaMain())
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "arbor-etcd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err = embedded.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	srv.Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}

// newClient returns a client of the test server, closed at the end of the
// test (closing it twice is harmless).
func newClient(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), DialTimeout: 2 * time.Second,
		Logger: nopLogger()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// pauser stops a replica's keep-alives while set.
type pauser struct{ on atomic.Bool }

func (p *pauser) option() Option { return func(c *config) { c.paused = p.on.Load } }

// waitFor polls cond every 5ms until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testCtx returns a context cancelled at the end of the test.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

func nopLogger() *zap.Logger { return zap.NewNop() }

// testMargin is the margin the replicas of the tests use with their 2s TTL
// (the default would be TTL/3). The tests run under the race detector on a
// small, shared machine, where a goroutine can wait for a CPU for more than
// half a second; the margin must cover that for the double-run detector to
// test the protocol rather than the scheduler (see the package doc).
const testMargin = time.Second
