package status_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/status"
	"github.com/stretchr/testify/require"
)

// /livez passes on a never-run and on a running tree, with Kubernetes output.
func TestLivez(t *testing.T) {
	e := newExampleTree(t)
	live := serve(t, status.Livez(e.root))

	// Never run: the loop is not wedged, the tree is simply stopped.
	code, h, body := get(t, http.MethodGet, live, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", body)
	require.Equal(t, "text/plain; charset=utf-8", h.Get("Content-Type"))

	startTree(t, e.root)
	code, _, body = get(t, http.MethodGet, live+"?verbose", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []string{"[+]loop ok", "[+]subtrees ok", "livez check passed"}, lines(body))

	code, _, body = get(t, http.MethodHead, live, "")
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, body)
	code, _, _ = get(t, http.MethodPost, live, "")
	require.Equal(t, http.StatusMethodNotAllowed, code)
}

// A wedged loop fails /livez within the timeout, and /readyz with it.
func TestLivezWedgedLoop(t *testing.T) {
	tr := mustNew(t, supervisor.WithName("stuck"))
	mux := http.NewServeMux()
	status.Mount(mux, wedged{tr}, status.WithTimeout(50*time.Millisecond))
	url := serve(t, mux)
	for _, p := range []string{"/livez", "/readyz"} {
		code, _, body := get(t, http.MethodGet, url+p, "")
		require.Equal(t, http.StatusServiceUnavailable, code, p)
		require.Contains(t, body, "[-]loop failed: the tree's loop did not answer: context deadline exceeded", p)
	}
}

// A subtree whose loop does not answer fails /livez too. The wedged subtree
// sits behind a Snapshotter that reports it unresponsive as the core does.
func TestLivezUnresponsiveSubtree(t *testing.T) {
	e := newExampleTree(t)
	startTree(t, e.root)
	src := subtreeWedged{e.root}
	code, _, body := get(t, http.MethodGet, serve(t, status.Livez(src))+"?verbose", "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, []string{"[+]loop ok", `[-]subtrees failed: no answer from app/db`, "livez check failed"}, lines(body))
}

type subtreeWedged struct{ *supervisor.Tree }

// Snapshot reports the first child's subtree as unresponsive.
func (s subtreeWedged) Snapshot(ctx context.Context) (supervisor.TreeSnapshot, error) {
	snap, err := s.Tree.Snapshot(ctx)
	snap.Children[0].Tree.State = supervisor.TreeStateUnresponsive
	return snap, err
}

// /readyz: not ready before Run, ready when running, not ready while a required child restarts.
func TestReadyz(t *testing.T) {
	e := newExampleTree(t)
	ready := serve(t, status.Readyz(e.root, status.WithRequired("app/db/conn", "app/api")))

	code, _, body := get(t, http.MethodGet, ready, "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, []string{"[+]loop ok", "[-]started failed: tree app is stopped", "[+]restart-intensity ok",
		`[-]required:app/db/conn failed: "app/db" is stopped`, `[-]required:app/api failed: "app/api" is stopped`,
		"readyz check failed"}, lines(body))

	startTree(t, e.root)
	code, _, body = get(t, http.MethodGet, ready, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", body)
	code, _, body = get(t, http.MethodGet, ready+"?verbose", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []string{"[+]loop ok", "[+]started ok", "[+]restart-intensity ok",
		"[+]required:app/db/conn ok", "[+]required:app/api ok", "readyz check passed"}, lines(body))

	// The api fails and waits through its backoff: not ready, unless excluded.
	e.api.fail <- errBoom
	waitState(t, e.root, "api", supervisor.Restarting)
	code, _, body = get(t, http.MethodGet, ready, "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, `[-]required:app/api failed: "app/api" is restarting`)
	code, _, body = get(t, http.MethodGet, ready+"?exclude=required:app/api", "")
	require.Equal(t, http.StatusOK, code, body)
}

// Bad required paths fail their check with a message saying why.
func TestReadyzBadPaths(t *testing.T) {
	e := newExampleTree(t)
	startTree(t, e.root)
	ready := serve(t, status.Readyz(e.root, status.WithRequired("db", "app/nope", "app/api/x", "app/db/conn/deeper", "")))
	code, _, body := get(t, http.MethodGet, ready, "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, []string{"[+]loop ok", "[+]started ok", "[+]restart-intensity ok",
		`[-]required:db failed: bad path "db": want the root's name ("app") then child names, joined by /`,
		`[-]required:app/nope failed: no child "nope" in tree "app"`,
		`[-]required:app/api/x failed: "app/api" is not a tree (made with Tree.Spec)`,
		`[-]required:app/db/conn/deeper failed: "app/db/conn" is not a tree (made with Tree.Spec)`,
		`[-]required: failed: bad path "": want the root's name ("app") then child names, joined by /`,
		"readyz check failed"}, lines(body))
}

// Starting (initial start not done) and gave up are both not ready.
func TestReadyzStartingAndGaveUp(t *testing.T) {
	gate := make(chan struct{})
	fail := make(chan error, 1)
	tr := mustNew(t, supervisor.WithName("svc"), supervisor.WithIntensity(0, time.Minute),
		supervisor.WithChildren(supervisor.Spec{Name: "slow", WaitReady: true, Run: func(ctx context.Context) error {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil
			}
			supervisor.Ready(ctx)
			select {
			case err := <-fail:
				return err
			case <-ctx.Done():
				return nil
			}
		}}))
	ready := serve(t, status.Readyz(tr))
	errc := make(chan error, 1)
	go func() { errc <- tr.Run(context.Background()) }()
	waitState(t, tr, "slow", supervisor.Starting)
	code, _, body := get(t, http.MethodGet, ready, "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "[-]started failed: tree svc is starting")

	close(gate)
	waitState(t, tr, "slow", supervisor.Running)
	fail <- errors.New("fatal")
	require.ErrorIs(t, <-errc, supervisor.ErrTooManyRestarts)
	code, _, body = get(t, http.MethodGet, ready, "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "[-]started failed: tree svc gave up")
	require.Contains(t, body, "[-]restart-intensity failed: tree svc gave up: supervisor:")
}
