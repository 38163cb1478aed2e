package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/internal/testutil"
	arborprom "github.com/arbor-go/supervisor/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain checks that no test leaks a goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fetch(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// poll fetches url until ok holds or a deadline passes, and returns the last answer.
func poll(t *testing.T, c *http.Client, url string, ok func(int, string) bool) (int, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := fetch(t, c, url)
		if ok(code, body) || time.Now().After(deadline) {
			return code, body
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The service serves the status page, its JSON, the metrics and the health
// endpoints, and stops cleanly.
func TestServiceServesOperationsSurface(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	var logs testutil.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, logger, "127.0.0.1:0", listening) }()

	base := "http://" + <-listening
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()

	code, body := fetch(t, client, base+"/debug/arbor/?all=1")
	require.Equal(t, http.StatusOK, code)
	for _, child := range []string{"db", "conn", "cache", "workers", "http", "flaky-dependency"} {
		assert.Contains(t, body, `data-child="`+child+`"`)
	}
	code, body = fetch(t, client, base+"/debug/arbor/?format=json")
	require.Equal(t, http.StatusOK, code)
	var snap supervisor.TreeSnapshot
	require.NoError(t, json.Unmarshal([]byte(body), &snap))
	require.Equal(t, "service", snap.Name)
	require.Equal(t, supervisor.Counts{Specs: 4, Active: snap.Counts.Active, Supervisors: 2}, snap.Counts)

	code, body = poll(t, client, base+"/readyz?verbose", func(code int, _ string) bool { return code == http.StatusOK })
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "[+]required:service/workers ok")
	code, body = fetch(t, client, base+"/livez")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", body)
	// The pool adds its workers once it runs: wait for all four.
	_, body = poll(t, client, base+"/metrics", func(_ int, body string) bool {
		return strings.Contains(body, `arbor_children{state="running",tree="workers"} 4`)
	})
	require.Contains(t, body, `arbor_children{state="running",tree="workers"} 4`)
	require.Contains(t, body, `arbor_tree_up{tree="service"} 1`)
	require.NotContains(t, body, `child="worker-`)
	resp, err := client.Get(base + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.True(t, strings.HasSuffix(resp.Request.URL.Path, "/debug/arbor/"))
	client.CloseIdleConnections()

	cancel()
	select {
	case err := <-errc:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("service did not stop")
	}
	assert.Contains(t, logs.String(), `msg="supervisor: tree started" tree=service`)
	assert.Contains(t, logs.String(), `msg="supervisor: tree stopped" tree=service`)
}

// The pool fills itself each time it starts: after its parent restarts it,
// it has its four workers again.
func TestPoolRefillsAfterRestart(t *testing.T) {
	spec, err := newPool(slog.New(slog.DiscardHandler), arborprom.New())
	require.NoError(t, err)
	root, err := supervisor.New(supervisor.WithName("r"), supervisor.WithChildren(spec))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := root.Start(ctx)
	workers := func() int {
		s, err := root.Snapshot(context.Background())
		require.NoError(t, err)
		return s.Children[0].Tree.Counts.Active
	}
	require.Eventually(t, func() bool { return workers() == 4 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, root.Restart("workers"))
	require.Eventually(t, func() bool { return workers() == 4 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-errc)
}
