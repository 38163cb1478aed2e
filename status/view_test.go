package status_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/status"
	"github.com/stretchr/testify/require"
)

// fixed is a Snapshotter that answers with a given snapshot, for states a
// real tree shows only for an instant (an overdue heartbeat, a subtree whose
// loop does not answer).
type fixed supervisor.TreeSnapshot

// Snapshot returns the fixed snapshot.
func (f fixed) Snapshot(context.Context) (supervisor.TreeSnapshot, error) {
	return supervisor.TreeSnapshot(f), nil
}

// Rare states render with their colour class and what is known of them.
func TestPageRendersRareStates(t *testing.T) {
	now := time.Now()
	s := fixed{Name: "app", State: supervisor.TreeStateRunning, Since: now.Add(-50 * time.Hour), Children: []supervisor.ChildSnapshot{
		{Name: "beat", State: supervisor.Running, Started: now.Add(-90 * time.Minute), Watchdog: time.Second, Overdue: true},
		{Name: "stuck", State: supervisor.Running, Tree: &supervisor.TreeSnapshot{Name: "stuck", State: supervisor.TreeStateUnresponsive}},
		{Name: "broken", State: supervisor.Restarting, Err: "supervisor: too many restarts", Tree: &supervisor.TreeSnapshot{
			Name: "broken", State: supervisor.TreeStateGaveUp, Err: "supervisor: tree \"broken\": too many restarts"}},
		{Name: "boot", State: supervisor.Starting, Since: now.Add(-3 * time.Second)},
		{Name: "halt", State: supervisor.Stopping, Since: now.Add(-time.Second)},
	}}
	rec := httptest.NewRecorder()
	status.Handler(s, status.WithRefresh(0)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	require.NotContains(t, body, `http-equiv="refresh"`) // WithRefresh(0): no reload
	for _, want := range []string{
		`up 2d2h`,
		`data-child="beat" data-state="running"`, `up 1h30m`, `heartbeat overdue`,
		`data-tree="stuck" data-tree-state="unresponsive"`, `class="state s-unresponsive"`,
		`data-tree="broken" data-tree-state="gave_up"`, `class="state s-gave_up"`,
		`data-child="boot" data-state="starting"`, `for 3s`,
		`data-child="halt" data-state="stopping"`,
	} {
		require.Contains(t, body, want)
	}
}

// The page, the JSON and the health endpoints are safe to hammer while the
// tree adds, fails and removes children (run with -race).
func TestHandlersUnderChurn(t *testing.T) {
	pool := mustNew(t, supervisor.WithName("pool"), supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithIntensity(1_000_000, time.Minute))
	root := mustNew(t, supervisor.WithName("root"), supervisor.WithChildren(pool.Spec()))
	startTree(t, root)
	mux := http.NewServeMux()
	status.Mount(mux, root, status.WithRequired("root/pool"))

	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c := newCtl()
			name, err := pool.Add(c.spec(""))
			if err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				c.fail <- errBoom // a failure and a restart, racing the Terminate below
			}
			if err := pool.Terminate(name); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var readers sync.WaitGroup
	for _, path := range []string{"/debug/arbor/", "/debug/arbor/?all=1", "/debug/arbor/?format=json", "/livez", "/readyz"} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range 50 {
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
					return
				}
				if strings.HasPrefix(path, "/debug") && !strings.Contains(rec.Body.String(), "pool") {
					t.Errorf("%s: no pool in %s", path, rec.Body)
					return
				}
			}
		}()
	}
	readers.Wait()
	close(stop)
	churn.Wait()
}

// A child's ReportDetail shows on the page as escaped JSON.
func TestPageShowsDetail(t *testing.T) {
	s := fixed{Name: "app", State: supervisor.TreeStateRunning, Children: []supervisor.ChildSnapshot{
		{Name: "pool", State: supervisor.Running, Detail: []map[string]any{{"pid": 7, "note": "<script>"}}},
	}}
	rec := httptest.NewRecorder()
	status.Handler(s, status.WithRefresh(0)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	require.Contains(t, body, "&#34;pid&#34;: 7")
	require.NotContains(t, body, "<script>")
}

// A pool's recent failures are the children that exited last, latest
// first, whatever happened to them since: "early" failed first but was
// restarted after "late" failed, so its state changed last.
func TestPoolRecentFailuresByExit(t *testing.T) {
	now := time.Now()
	s := fixed{Name: "pool", Strategy: supervisor.SimpleOneForOne, State: supervisor.TreeStateRunning,
		Children: []supervisor.ChildSnapshot{
			{Name: "early", State: supervisor.Running, Err: "boom", Exited: now.Add(-time.Minute), Since: now.Add(-time.Second)},
			{Name: "late", State: supervisor.Restarting, Err: "boom", Exited: now.Add(-10 * time.Second), Since: now.Add(-10 * time.Second)},
			{Name: "fine", State: supervisor.Running, Since: now},
		}}
	rec := httptest.NewRecorder()
	status.Handler(s, status.WithRecentFailures(2)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	require.Contains(t, body, "most recent failures (2 of 2)")
	late, early := strings.Index(body, `data-child="late"`), strings.Index(body, `data-child="early"`)
	require.True(t, late >= 0 && early >= 0, body)
	require.Less(t, late, early)
	require.NotContains(t, body, `data-child="fine"`)
}
