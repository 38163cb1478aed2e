//go:build unix

package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/arbor-go/supervisor/internal/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPool runs the pool for a moment and checks that every worker started
// and that the pool stopped cleanly.
func TestPool(t *testing.T) {
	var buf testutil.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	st, err := run(ctx, config{workers: 3, grace: time.Second, verbose: true}, logger)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, buf.String())
	}
	if st.starts < 3 {
		t.Fatalf("%d starts, want at least 3", st.starts)
	}
}
