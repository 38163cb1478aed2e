package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/arbor-go/supervisor/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServiceRunsAndStopsCleanly(t *testing.T) {
	var logs testutil.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, logger, "127.0.0.1:0", listening) }()

	addr := <-listening
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "workers")
	assert.Contains(t, string(body), "http")
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
