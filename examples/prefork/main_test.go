//go:build linux

package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbor-go/supervisor/internal/testutil"
	"github.com/arbor-go/supervisor/proc"
)

// TestMain runs the worker when the test binary is started as one (the
// pool starts os.Executable(), which is the test binary here).
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := serveWorker(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// client makes one connection per request, so that no idle connection
// (and no goroutine serving one) outlives the test.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

func getStatus(t *testing.T, url string) statusPage {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st statusPage
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestPrefork serves requests, rolls the workers with SIGHUP while a
// client keeps sending requests (none may fail), and checks the
// scoreboard on the status page.
func TestPrefork(t *testing.T) {
	var logs testutil.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan [2]string, 1)
	errc := make(chan error, 1)
	cfg := config{addr: "127.0.0.1:0", status: "127.0.0.1:0", workers: 2, grace: 5 * time.Second}
	go func() {
		errc <- run(ctx, cfg, logger, func(h, s string) { addrs <- [2]string{h, s} })
	}()
	var a [2]string
	select {
	case a = <-addrs:
	case err := <-errc:
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("not started\n%s", logs.String())
	}
	web, status := "http://"+a[0]+"/", "http://"+a[1]+"/status"
	before := getStatus(t, status)
	if len(before.Workers) != 2 {
		t.Fatalf("scoreboard %+v", before)
	}

	stopClient := keepRequesting(t, web, 4)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !rolled(before, getStatus(t, status)) {
		if time.Now().After(deadline) {
			t.Fatalf("workers not rolled: %+v\n%s", getStatus(t, status), logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ok, failed := stopClient()
	if failed != 0 || ok == 0 {
		t.Errorf("%d requests failed, %d succeeded during the reload", failed, ok)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, w := range before.Workers {
		if syscall.Kill(w.PID, 0) == nil {
			t.Errorf("worker %d still alive", w.PID)
		}
	}
}

// rolled reports whether after has as many ready workers as before, none
// of them one of before's.
func rolled(before, after statusPage) bool {
	old := map[int]bool{}
	for _, w := range before.Workers {
		old[w.PID] = true
	}
	n := 0
	for _, w := range after.Workers {
		if old[w.PID] {
			return false
		}
		if w.State == proc.WorkerIdle || w.State == proc.WorkerBusy {
			n++
		}
	}
	return n == len(before.Workers)
}

// keepRequesting runs conc clients sending requests to url until the
// returned function is called; it returns the counts of successes and
// failures.
func keepRequesting(t *testing.T, url string, conc int) func() (ok, failed int64) {
	var okN, failedN atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(url)
				if err != nil {
					failedN.Add(1)
					t.Log(err)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.HasPrefix(string(b), "hello from worker pid") {
					okN.Add(1)
				} else {
					failedN.Add(1)
				}
			}
		})
	}
	return func() (int64, int64) {
		close(stop)
		wg.Wait()
		return okN.Load(), failedN.Load()
	}
}
