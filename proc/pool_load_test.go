//go:build linux

package proc_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/supervisor/proc"
)

// loadRequests is the size of each load scenario (the issue asks for at
// least 20,000).
const loadRequests = 20000

// loadResult is what a load run saw.
type loadResult struct {
	ok, failed, refused atomic.Int64
	mu                  sync.Mutex
	errs                []string // the first few errors
	elapsed             time.Duration
}

func (r *loadResult) String() string {
	return fmt.Sprintf("%d ok, %d failed (%d refused) in %v (%.0f req/s); first errors %q",
		r.ok.Load(), r.failed.Load(), r.refused.Load(), r.elapsed.Round(time.Millisecond),
		float64(r.ok.Load())/r.elapsed.Seconds(), r.errs)
}

// load sends n GET requests to url from conc goroutines. progress is
// called with the count of finished requests after each one.
func load(url string, n, conc int, keepAlive bool, progress func(done int64)) *loadResult {
	tr := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: conc}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	res := &loadResult{}
	var next, done atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, err := get(c, url); err != nil {
					res.failed.Add(1)
					if errors.Is(err, syscall.ECONNREFUSED) {
						res.refused.Add(1)
					}
					res.mu.Lock()
					if len(res.errs) < 5 {
						res.errs = append(res.errs, err.Error())
					}
					res.mu.Unlock()
				} else {
					res.ok.Add(1)
				}
				if progress != nil {
					progress(done.Add(1))
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// at returns a progress function that runs f (in its own goroutine) once
// the count reaches mark, and a function that waits for f.
func at(mark int64, f func()) (func(int64), func()) {
	var once sync.Once
	finished := make(chan struct{})
	return func(done int64) {
			if done >= mark {
				once.Do(func() { go func() { defer close(finished); f() }() })
			}
		}, func() {
			select {
			case <-finished:
			case <-time.After(30 * time.Second):
			}
		}
}

// TestLoadRollingReload: 20,000 requests while every worker is replaced,
// then while the spec is replaced: not one request fails.
func TestLoadRollingReload(t *testing.T) {
	r := runPool(t, proc.PoolConfig{Worker: worker(), Size: 4}, 4)
	before := r.pool.Workers()
	var reloadErr, replaceErr error
	progress, wait := at(loadRequests/5, func() {
		reloadErr = r.pool.Reload(t.Context())
		replaceErr = r.pool.Replace(t.Context(), worker("-startup", "50ms"))
	})
	res := load(r.url+"/", loadRequests, 8, true, progress)
	wait()
	t.Log(res)
	require.NoError(t, reloadErr)
	require.NoError(t, replaceErr)
	assert.Zero(t, res.failed.Load(), "failed requests during a rolling reload")
	assert.EqualValues(t, loadRequests, res.ok.Load())
	after := r.pool.Workers()
	require.Len(t, after, 4)
	for _, w := range after {
		assert.Equal(t, 2, w.Generation)
	}
	for _, w := range before {
		assert.False(t, alive(w.PID), "old worker %d still alive", w.PID)
	}
	assert.Zero(t, r.pool.Stats().Crashed)
}

// TestLoadWorkerKilled: 20,000 requests while a worker is SIGKILLed: no
// connection is refused, and only requests on that worker's connections
// may fail.
func TestLoadWorkerKilled(t *testing.T) {
	const conc = 8
	r := runPool(t, proc.PoolConfig{Worker: worker(), Size: 4}, 4)
	victim := r.pool.Workers()[0].PID
	progress, wait := at(loadRequests/3, func() { syscall.Kill(victim, syscall.SIGKILL) })
	res := load(r.url+"/", loadRequests, conc, true, progress)
	wait()
	t.Log(res)
	assert.Zero(t, res.refused.Load(), "connections refused")
	assert.LessOrEqual(t, res.failed.Load(), int64(conc), "more failures than connections")
	r.waitFor(t, "a replacement", func(ws []proc.WorkerInfo) bool { return readyWorkers(ws) == 4 })
	assert.Equal(t, 1, r.pool.Stats().Crashed)
	assert.False(t, alive(victim))
}

// TestLoadDynamicSizing: a dynamic pool grows under 20,000 requests from
// 8 clients and shrinks back to its spare limit when they stop.
func TestLoadDynamicSizing(t *testing.T) {
	d := &proc.Dynamic{Start: 1, MinSpare: 1, MaxSpare: 2, MaxWorkers: 6, Interval: 50 * time.Millisecond}
	r := runPool(t, proc.PoolConfig{Worker: worker("-serial"), Dynamic: d}, 1)
	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n := int64(len(r.pool.Workers())); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	res := load(r.url+"/sleep?d=200us", loadRequests, 8, false, nil)
	close(stopSampling)
	<-sampled
	t.Log(res, "; peak workers ", peak.Load())
	assert.Zero(t, res.failed.Load())
	assert.GreaterOrEqual(t, peak.Load(), int64(4), "the pool did not grow under load")
	assert.LessOrEqual(t, peak.Load(), int64(d.MaxWorkers)+1, "past MaxWorkers (plus one being stopped)")
	r.waitFor(t, "shrunk to MaxSpare idle workers", func(ws []proc.WorkerInfo) bool { return len(ws) <= d.MaxSpare })
	st := r.pool.Stats()
	assert.Zero(t, st.Crashed)
	t.Log("workers started: " + strconv.Itoa(st.Started))
}
