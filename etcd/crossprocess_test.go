// crossprocess_test.go: replicas as child processes. The test binary runs
// itself again with ARBOR_ETCD_REPLICA set: that process is one replica
// (a tree with a keyed subtree over a ShardedTable and a Singleton) that
// appends every run's start and end to its own file. The test SIGKILLs a
// replica, waits for the survivors to take over, starts a new one, stops
// all with SIGTERM, and checks every run of every process for overlaps.

package etcd

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/arbor-go/supervisor"
)

const replicaEnv = "ARBOR_ETCD_REPLICA"

// replicaMain is a replica process: ARBOR_ETCD_REPLICA is its ID, and
// ARBOR_ETCD_ENDPOINTS, ARBOR_ETCD_PREFIX and ARBOR_ETCD_RUNS its etcd, key
// prefix and run file. It runs until SIGTERM.
func replicaMain() int {
	id := os.Getenv(replicaEnv)
	f, err := os.OpenFile(os.Getenv("ARBOR_ETCD_RUNS"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	var mu sync.Mutex
	record := func(what, key string, token int64) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(f, "%s %s %d %d\n", what, key, token, time.Now().UnixNano())
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(os.Getenv("ARBOR_ETCD_ENDPOINTS"), ","),
		DialTimeout: 2 * time.Second, Logger: nopLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cli.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := runReplica(ctx, cli, id, record); err != nil {
		fmt.Fprintln(os.Stderr, "replica", id, err)
		return 1
	}
	return 0
}

// runReplica runs one replica's tree until ctx ends.
func runReplica(ctx context.Context, cli *clientv3.Client, id string, record func(string, string, int64)) error {
	opts := []Option{WithTTL(2 * time.Second), WithMargin(testMargin), WithReplicaID(id), WithPrefix(os.Getenv("ARBOR_ETCD_PREFIX"))}
	body := func(key string) func(context.Context) error {
		return func(ctx context.Context) error {
			record("start", key, Token(ctx))
			<-ctx.Done()
			record("end", key, Token(ctx))
			return nil
		}
	}
	table, err := NewShardedTable(cli, "t", opts...)
	if err != nil {
		return err
	}
	keyed, err := supervisor.NewKeyed(table, func(key, _ string) supervisor.Spec {
		return supervisor.Spec{Run: body(key)}
	}, supervisor.KeyedRetry(50*time.Millisecond, time.Second), supervisor.KeyedTree(supervisor.WithName("keyed"),
		supervisor.WithIntensity(1000, time.Second)))
	if err != nil {
		return err
	}
	single, err := NewSingleton(cli, "job", supervisor.Spec{Run: body("singleton")}, opts...)
	if err != nil {
		return err
	}
	tree, err := supervisor.New(supervisor.WithName(id), supervisor.WithChildren(keyed.Spec(), single.Spec()),
		supervisor.WithIntensity(1000, time.Second), supervisor.WithBackoff(50*time.Millisecond, time.Second))
	if err != nil {
		return err
	}
	return tree.Run(ctx)
}

// proc is a replica process.
type proc struct {
	id     string
	cmd    *exec.Cmd
	runs   string
	killed time.Time
}

func startProc(t *testing.T, dir, prefix, id string) *proc {
	t.Helper()
	p := &proc{id: id, runs: filepath.Join(dir, id+".runs")}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), replicaEnv+"="+id, "ARBOR_ETCD_ENDPOINTS="+strings.Join(srv.Endpoints(), ","),
		"ARBOR_ETCD_PREFIX="+prefix, "ARBOR_ETCD_RUNS="+p.runs)
	p.cmd.Stderr = os.Stderr
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	return p
}

// readRuns reads every process's run file into a run log; the open runs
// of a killed process end when it was killed.
func readRuns(t *testing.T, ps []*proc) *runLog {
	t.Helper()
	log := &runLog{}
	for _, p := range ps {
		f, err := os.Open(p.runs)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		open := map[string]*interval{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var what, key string
			var token, ns int64
			if _, err := fmt.Sscanf(sc.Text(), "%s %s %d %d", &what, &key, &token, &ns); err != nil {
				continue // a line cut by SIGKILL
			}
			if what == "start" {
				open[key] = &interval{key: key, replica: p.id, token: token, start: time.Unix(0, ns)}
			} else if iv := open[key]; iv != nil {
				iv.end = time.Unix(0, ns)
				log.add(*iv)
				delete(open, key)
			}
		}
		f.Close()
		for _, iv := range open {
			if !p.killed.IsZero() {
				iv.end = p.killed
				log.add(*iv)
			} else {
				log.addOpen(*iv)
			}
		}
	}
	return log
}

// waitProcs waits until the n keys and the singleton run once each, on
// processes other than not.
func waitProcs(t *testing.T, ps []*proc, n int, not string) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d keys and the singleton over the processes", n), func() bool {
		p, twice := readRuns(t, ps).placement()
		if twice > 0 || len(p) != n+1 {
			return false
		}
		for _, r := range p {
			if r == not {
				return false
			}
		}
		return true
	})
}

// singletonProc returns the process running the singleton, once it also
// runs some keys.
func singletonProc(t *testing.T, ps []*proc) *proc {
	var out *proc
	waitFor(t, 60*time.Second, "the singleton's process to run keys too", func() bool {
		p, _ := readRuns(t, ps).placement()
		keys := map[string]int{}
		for _, r := range p {
			keys[r]++
		}
		for _, pr := range ps {
			if pr.id == p["singleton"] && keys[pr.id] > 1 {
				out = pr
				return true
			}
		}
		return false
	})
	return out
}

func TestCrossProcess_SIGKILL(t *testing.T) {
	dir, prefix := t.TempDir(), "/"+t.Name()+"/"
	ps := []*proc{startProc(t, dir, prefix, "p0"), startProc(t, dir, prefix, "p1"), startProc(t, dir, prefix, "p2")}
	cli := newClient(t)
	table, err := NewShardedTable(cli, "t", WithPrefix(prefix))
	require.NoError(t, err)
	const n = 30
	putKeys(t, table, n, "v")
	waitProcs(t, ps, n, "")

	for range 2 {
		victim := singletonProc(t, ps)
		require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
		victim.killed = time.Now()
		_ = victim.cmd.Wait()
		waitProcs(t, ps, n, victim.id)
		t.Logf("failover after SIGKILL of a replica process (TTL 2s): %v", time.Since(victim.killed))
		ps = append(ps, startProc(t, dir, prefix, fmt.Sprintf("p%d", len(ps))))
	}
	waitProcs(t, ps, n, "")
	for _, p := range ps {
		if p.killed.IsZero() {
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			require.NoError(t, p.cmd.Wait(), "replica %s exits cleanly", p.id)
		}
	}
	log := readRuns(t, ps)
	p, _ := log.placement()
	require.Empty(t, p, "every run ended")
	log.check(t)
}
