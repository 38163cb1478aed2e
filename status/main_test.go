package status_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain checks that no test leaks a goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ctl is a child the test drives: it becomes ready, then fails with the
// error sent on fail, or returns when cancelled (after release, if set).
type ctl struct {
	fail    chan error
	release chan struct{} // nil: return at once when cancelled
}

func newCtl() *ctl { return &ctl{fail: make(chan error, 1)} }

func (c *ctl) spec(name string) supervisor.Spec {
	return supervisor.Spec{Name: name, WaitReady: true, Run: c.run}
}

func (c *ctl) run(ctx context.Context) error {
	supervisor.Ready(ctx)
	select {
	case err := <-c.fail:
		return err
	case <-ctx.Done():
		if c.release != nil {
			<-c.release
		}
		return nil
	}
}

func mustNew(t *testing.T, opts ...supervisor.Option) *supervisor.Tree {
	t.Helper()
	tr, err := supervisor.New(opts...)
	require.NoError(t, err)
	return tr
}

// startTree runs tr until the test ends and returns a function that stops it
// and returns Run's error.
func startTree(t *testing.T, tr *supervisor.Tree) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := tr.Start(ctx)
	stopped := false
	var err error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err = <-errc:
			case <-time.After(20 * time.Second):
				t.Fatal("tree did not stop")
			}
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// get fetches url with the given Accept header and returns status and body.
func get(t *testing.T, method, url, accept string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	c.CloseIdleConnections()
	return resp.StatusCode, resp.Header, string(b)
}

// serve serves h on 127.0.0.1 until the test ends.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// waitState waits until tree's child name is in state st.
func waitState(t *testing.T, tr *supervisor.Tree, name string, st supervisor.ChildState) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ci, err := tr.Child(name)
		if err == nil && ci.State == st {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %q: want %v, have %v (err %v)", name, st, ci.State, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wedged is a Snapshotter whose loop never answers: the core offers no way
// to wedge a real tree's loop, so this stands in for one.
type wedged struct{ *supervisor.Tree }

// Snapshot waits for ctx to end, as a wedged loop would make it.
func (w wedged) Snapshot(ctx context.Context) (supervisor.TreeSnapshot, error) {
	<-ctx.Done()
	return supervisor.TreeSnapshot{Name: w.Name(), State: supervisor.TreeStateUnresponsive}, ctx.Err()
}

var errBoom = errors.New("boom")

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
