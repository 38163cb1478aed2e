//go:build linux

package proc_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/proc"
)

// poolRun is a pool running in the background for a test.
type poolRun struct {
	pool *proc.Pool
	url  string
	done chan error
	stop context.CancelFunc
}

// worker returns the HTTP worker process with extra arguments.
func worker(args ...string) *proc.Process {
	p := proc.Command(httpWorker, args...)
	p.Ready = proc.ReadyOnNotify()
	p.StartTimeout = 10 * time.Second
	p.Grace = 5 * time.Second
	return p
}

// runPool starts a pool on a fresh socket and waits until ready workers
// are at least want.
func runPool(t *testing.T, cfg proc.PoolConfig, want int) *poolRun {
	t.Helper()
	if cfg.Sockets == nil {
		cfg.Sockets = []*proc.Socket{listen(t, "http")}
	}
	pool, err := proc.NewPool(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &poolRun{pool: pool, url: "http://" + cfg.Sockets[0].Addr().String(), done: make(chan error, 1), stop: cancel}
	go func() { r.done <- pool.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Error("pool did not stop")
		}
	})
	r.waitFor(t, "ready workers", func(ws []proc.WorkerInfo) bool { return readyWorkers(ws) >= want })
	return r
}

func readyWorkers(ws []proc.WorkerInfo) int {
	n := 0
	for _, w := range ws {
		if w.State == proc.WorkerIdle || w.State == proc.WorkerBusy {
			n++
		}
	}
	return n
}

// waitFor waits until cond holds for the scoreboard.
func (r *poolRun) waitFor(t *testing.T, what string, cond func([]proc.WorkerInfo) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond(r.pool.Workers()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached; scoreboard %+v", what, r.pool.Workers())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// shutdown stops the pool and returns Run's error.
func (r *poolRun) shutdown(t *testing.T) error {
	t.Helper()
	r.stop()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("pool did not stop")
		return nil
	}
}

func TestPoolInvalidConfig(t *testing.T) {
	w := worker()
	for name, cfg := range map[string]proc.PoolConfig{
		"no worker":       {Size: 1},
		"invalid worker":  {Worker: &proc.Process{}, Size: 1},
		"worker sockets":  {Worker: &proc.Process{Path: "x", Sockets: []*proc.Socket{listen(t, "")}}, Size: 1},
		"zero size":       {Worker: w},
		"negative size":   {Worker: w, Size: -1},
		"static+dynamic":  {Worker: w, Size: 2, Dynamic: &proc.Dynamic{Start: 1, MinSpare: 1, MaxSpare: 1, MaxWorkers: 1}},
		"min > max spare": {Worker: w, Dynamic: &proc.Dynamic{Start: 1, MinSpare: 3, MaxSpare: 2, MaxWorkers: 5}},
		"max < start":     {Worker: w, Dynamic: &proc.Dynamic{Start: 4, MinSpare: 1, MaxSpare: 2, MaxWorkers: 3}},
		"zero min spare":  {Worker: w, Dynamic: &proc.Dynamic{Start: 1, MinSpare: 0, MaxSpare: 2, MaxWorkers: 3}},
		"recycle 0":       {Worker: w, Size: 1, Recycle: &proc.Recycle{}},
		"negative jitter": {Worker: w, Size: 1, Recycle: &proc.Recycle{Requests: 5, RequestsJitter: -1}},
		"jitter alone":    {Worker: w, Size: 1, Recycle: &proc.Recycle{Age: time.Second, RequestsJitter: 3}},
		"negative busy":   {Worker: w, Size: 1, BusyLimit: -time.Second},
		"negative fails":  {Worker: w, Size: 1, FailLimit: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := proc.NewPool(cfg)
			require.ErrorIs(t, err, proc.ErrInvalidPool)
			t.Log(err)
		})
	}
}

func TestPoolStaticScoreboardAndScale(t *testing.T) {
	r := runPool(t, proc.PoolConfig{Name: "web", Worker: worker(), Size: 3}, 3)
	c := oneShot
	for range 20 {
		_, err := get(c, r.url+"/")
		require.NoError(t, err)
	}
	r.waitFor(t, "20 requests on the scoreboard", func(ws []proc.WorkerInfo) bool {
		var n uint64
		for _, w := range ws {
			n += w.Requests
		}
		return n == 20
	})
	ws := r.pool.Workers()
	require.Len(t, ws, 3)
	for _, w := range ws {
		assert.Positive(t, w.PID)
		assert.Equal(t, 1, w.Generation)
		assert.True(t, alive(w.PID))
	}
	n, err := r.pool.Scale(2)
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	r.waitFor(t, "5 ready workers", func(ws []proc.WorkerInfo) bool { return readyWorkers(ws) == 5 && len(ws) == 5 })
	n, err = r.pool.Scale(-3)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	r.waitFor(t, "2 workers", func(ws []proc.WorkerInfo) bool { return len(ws) == 2 })
	assert.Equal(t, []int{1, 2}, ids(r.pool.Workers()), "the newest workers were stopped")
	require.NoError(t, r.shutdown(t))
	for _, w := range ws {
		assert.False(t, alive(w.PID))
	}
	assert.Zero(t, r.pool.Stats().Crashed)
}

func ids(ws []proc.WorkerInfo) []int {
	var out []int
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

func TestPoolBabysitting(t *testing.T) {
	w := worker()
	w.Grace = 300 * time.Millisecond // the busy worker does not drain in time
	r := runPool(t, proc.PoolConfig{Worker: w, Size: 2, BusyLimit: 300 * time.Millisecond}, 2)
	c := oneShot
	start := time.Now()
	_, err := get(c, r.url+"/sleep?d=30s") // the worker is stopped: the request fails
	require.Error(t, err)
	assert.Less(t, time.Since(start), 8*time.Second)
	r.waitFor(t, "a replacement", func(ws []proc.WorkerInfo) bool { return readyWorkers(ws) == 2 && len(ws) == 2 })
	assert.Equal(t, 1, r.pool.Stats().Babysat)
	assert.Contains(t, ids(r.pool.Workers()), 3, "the babysat worker was replaced")
}

func TestPoolRecycleByRequests(t *testing.T) {
	r := runPool(t, proc.PoolConfig{Worker: worker("-serial"), Size: 2,
		Recycle: &proc.Recycle{Requests: 5, RequestsJitter: 3}}, 2)
	c := oneShot
	pids := map[string]bool{}
	for i := 0; r.pool.Stats().Recycled < 4; i++ {
		require.Less(t, i, 2000, "no recycling after 2000 requests: %+v", r.pool.Stats())
		body, err := get(c, r.url+"/")
		require.NoError(t, err)
		pids[body] = true
	}
	r.waitFor(t, "the last replacement", func(ws []proc.WorkerInfo) bool { return readyWorkers(ws) == 2 && len(ws) == 2 })
	assert.GreaterOrEqual(t, len(pids), 4, "requests were served by recycled workers")
	assert.Zero(t, r.pool.Stats().Crashed)
}

func TestPoolRecycleByAge(t *testing.T) {
	r := runPool(t, proc.PoolConfig{Worker: worker(), Size: 2,
		Recycle: &proc.Recycle{Age: 300 * time.Millisecond, AgeJitter: 200 * time.Millisecond}}, 2)
	r.waitFor(t, "two generations of recycling", func(ws []proc.WorkerInfo) bool {
		return len(ws) > 0 && ws[0].ID >= 5
	})
	assert.Zero(t, r.pool.Stats().Crashed)
	assert.LessOrEqual(t, len(r.pool.Workers()), 3, "at most one surge worker at a time")
}

func TestPoolNeverReadyWorker(t *testing.T) {
	// A worker that never reports ready fails within StartTimeout, and the
	// pool gives up after FailLimit of them in a row.
	w := worker("-never-ready")
	w.StartTimeout = 200 * time.Millisecond
	pool, err := proc.NewPool(proc.PoolConfig{Worker: w, Size: 2, FailLimit: 3, Sockets: []*proc.Socket{listen(t, "")}})
	require.NoError(t, err)
	start := time.Now()
	err = pool.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not ready within 200ms")
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Empty(t, pool.Workers())
}

func TestPoolReplaceWithBrokenSpecKeepsOldWorkers(t *testing.T) {
	r := runPool(t, proc.PoolConfig{Worker: worker(), Size: 2}, 2)
	before := r.pool.Workers()
	bad := worker("-never-ready")
	bad.StartTimeout = 200 * time.Millisecond
	err := r.pool.Replace(context.Background(), bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reload")
	c := oneShot
	body, err := get(c, r.url+"/")
	require.NoError(t, err)
	assert.Contains(t, []string{strconv.Itoa(before[0].PID), strconv.Itoa(before[1].PID)}, body)
	_, err = proc.NewPool(proc.PoolConfig{Worker: worker(), Size: 1})
	require.NoError(t, err)
	assert.ErrorIs(t, r.pool.Replace(context.Background(), &proc.Process{}), proc.ErrInvalidPool)
}

func TestPoolMalformedNotify(t *testing.T) {
	r := runPool(t, proc.PoolConfig{Worker: worker("-garbage"), Size: 2}, 2)
	r.waitFor(t, "malformed lines counted", func(ws []proc.WorkerInfo) bool {
		return len(ws) == 2 && ws[0].Malformed == 4 && ws[1].Malformed == 4
	})
	assert.Equal(t, 8, r.pool.Stats().Malformed)
	c := oneShot
	_, err := get(c, r.url+"/")
	require.NoError(t, err, "the workers still serve")
}

func TestPoolNotRunning(t *testing.T) {
	pool, err := proc.NewPool(proc.PoolConfig{Worker: worker(), Size: 1})
	require.NoError(t, err)
	assert.ErrorIs(t, pool.Reload(context.Background()), proc.ErrPoolNotRunning)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, pool.Run(ctx), context.Canceled)
}

func TestPoolListen(t *testing.T) {
	taken := listen(t, "taken")
	pool, err := proc.NewPool(proc.PoolConfig{Worker: worker(), Size: 1,
		Listen: []proc.Endpoint{{Name: "http", Address: "127.0.0.1:0"}, {Name: "dup", Address: taken.Addr().String()}}})
	require.NoError(t, err)
	err = pool.Run(context.Background())
	require.Error(t, err, "a socket that cannot be bound fails the start")
	assert.Contains(t, err.Error(), taken.Addr().String())
	assert.Empty(t, pool.Workers(), "no worker started")
	assert.Zero(t, pool.Stats().Started)

	pool, err = proc.NewPool(proc.PoolConfig{Worker: worker(), Size: 2,
		Listen: []proc.Endpoint{{Name: "http", Address: "127.0.0.1:0"}}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	r := &poolRun{pool: pool}
	r.waitFor(t, "2 ready workers", func(ws []proc.WorkerInfo) bool { return readyWorkers(ws) == 2 })
	socks := pool.Sockets()
	require.Len(t, socks, 1)
	_, err = get(oneShot, "http://"+socks[0].Addr().String()+"/")
	require.NoError(t, err)
	cancel()
	require.NoError(t, <-done)
	assert.Empty(t, pool.Sockets(), "bound sockets are closed when Run returns")

	_, err = proc.NewPool(proc.PoolConfig{Worker: worker(), Size: 1, Listen: []proc.Endpoint{{Name: "a:b"}}})
	assert.ErrorIs(t, err, proc.ErrInvalidPool)
}

func TestPoolNeverReadyWorkerDoesNotBlockOthers(t *testing.T) {
	// One of three workers never reports ready: the other two are ready
	// before its StartTimeout ends, and it is replaced.
	flag := filepath.Join(t.TempDir(), "flag")
	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	w := worker("-never-ready-once", flag)
	w.StartTimeout = 1500 * time.Millisecond
	start := time.Now()
	r := runPool(t, proc.PoolConfig{Worker: w, Size: 3}, 2)
	assert.Less(t, time.Since(start), w.StartTimeout, "the ready workers waited for the stuck one")
	r.waitFor(t, "the stuck worker replaced", func(ws []proc.WorkerInfo) bool { return readyWorkers(ws) == 3 })
	assert.Equal(t, 1, r.pool.Stats().Crashed)
	require.NoError(t, r.shutdown(t))
}

func TestPoolAsTreeChildIsReadyWithItsWorkers(t *testing.T) {
	pool, err := proc.NewPool(proc.PoolConfig{Worker: worker("-startup", "100ms"), Size: 3, Sockets: []*proc.Socket{listen(t, "")}})
	require.NoError(t, err)
	r := startTree(t, supervisor.WithChildren(pool.Spec("pool")))
	assert.Equal(t, 3, readyWorkers(pool.Workers()), "the tree started before the pool's workers were ready")
	require.NoError(t, r.stop(t))
	assert.Empty(t, pool.Workers())
}

func TestPoolRunsAgain(t *testing.T) {
	// A tree restarting the pool calls Run again: fresh workers, same
	// sockets, the size set by Scale kept.
	s := listen(t, "http")
	pool, err := proc.NewPool(proc.PoolConfig{Worker: worker(), Size: 1, Sockets: []*proc.Socket{s}})
	require.NoError(t, err)
	var pids []int
	for i := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- pool.Run(ctx) }()
		r := &poolRun{pool: pool}
		r.waitFor(t, "ready workers", func(ws []proc.WorkerInfo) bool { return readyWorkers(ws) == i+1 })
		if i == 0 {
			_, err := pool.Scale(1)
			require.NoError(t, err)
			r.waitFor(t, "2 ready workers", func(ws []proc.WorkerInfo) bool { return readyWorkers(ws) == 2 })
		}
		for _, w := range pool.Workers() {
			pids = append(pids, w.PID)
		}
		body, err := get(oneShot, "http://"+s.Addr().String()+"/")
		require.NoError(t, err)
		assert.NotEmpty(t, body)
		cancel()
		require.NoError(t, <-done)
		assert.Empty(t, pool.Workers())
	}
	assert.Len(t, pids, 4)
	assert.Equal(t, 2, pool.Size())
}

// A pool run as a child publishes its scoreboard in the tree's snapshot.
func TestPoolScoreboardInTreeSnapshot(t *testing.T) {
	pool, err := proc.NewPool(proc.PoolConfig{Name: "web", Worker: worker(), Size: 2, Sockets: []*proc.Socket{listen(t, "http")}})
	require.NoError(t, err)
	tree, err := supervisor.New(supervisor.WithName("app"), supervisor.WithChildren(pool.Spec("web")))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := tree.Start(ctx)
	defer func() {
		cancel()
		require.NoError(t, <-errc)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := tree.Snapshot(ctx)
		require.NoError(t, err)
		if ws, ok := s.Children[0].Detail.([]proc.WorkerInfo); ok && readyWorkers(ws) == 2 {
			b, err := json.Marshal(s)
			require.NoError(t, err)
			assert.Contains(t, string(b), `"detail":[{"id":1,"pid":`)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scoreboard in the snapshot: %+v", s.Children[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
