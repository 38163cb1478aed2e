// fault_test.go: the fault loop. Three replicas (each a tree with a keyed
// subtree over one ShardedTable and a Singleton) suffer faults in turn:
// a replica's client closed abruptly (it dies without a word), its
// keep-alives stopped for longer than the TTL, a clean stop, keys deleted
// and re-added while a replica restarts, and the etcd server stopped and
// restarted. After each fault the test waits until every desired key and
// the singleton run exactly once, and the double-run detector checks that
// no two runs of a key overlapped and tokens only grew. CI runs a short
// loop; ARBOR_ETCD_SOAK=1 runs 1,000 faults (ARBOR_ETCD_FAULTS=n: n).

package etcd

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// soak reports whether the long versions of the tests were asked for.
func soak() bool { return os.Getenv("ARBOR_ETCD_SOAK") == "1" }

func faultCount() int {
	if n, err := strconv.Atoi(os.Getenv("ARBOR_ETCD_FAULTS")); err == nil && n > 0 {
		return n
	}
	if soak() {
		return 1000
	}
	return 10
}

// cluster is the fault loop's set of replicas and desired keys.
type cluster struct {
	t      *testing.T
	prefix string
	log    *runLog
	rs     []*kreplica
	seq    int
	keys   map[string]bool
	rng    *rand.Rand
}

func (c *cluster) start() *kreplica {
	c.seq++
	return startKeyedReplica(c.t, c.prefix, fmt.Sprintf("r%d", c.seq), c.log, nil)
}

// replace stops replica i (already dead or not) and starts a fresh one.
func (c *cluster) replace(i int) {
	c.rs[i].stop(c.t)
	c.rs[i] = c.start()
}

// settle waits until the desired keys and the singleton run once each.
func (c *cluster) settle(what string) {
	c.t.Helper()
	defer func() {
		if c.t.Failed() {
			c.t.Logf("after %s; latest local-deadline timer: %v", what, time.Duration(maxLate.Load()))
			c.diagnose()
		}
	}()
	waitFor(c.t, 90*time.Second, "convergence after "+what, func() bool {
		p, twice := c.log.placement()
		if twice > 0 || len(p) != len(c.keys)+1 || p["singleton"] == "" {
			return false
		}
		for k := range c.keys {
			if p[k] == "" {
				return false
			}
		}
		return true
	})
	c.log.check(c.t)
}

// fault injects fault number i and returns its name.
func (c *cluster) fault(i int) string {
	v := c.rng.IntN(len(c.rs))
	switch {
	case i%10 == 9:
		srv.Stop()
		time.Sleep(500 * time.Millisecond)
		require.NoError(c.t, srv.Restart())
		return "etcd server restart"
	case i%4 == 0:
		require.NoError(c.t, c.rs[v].cli.Close())
		c.settleWithout(c.rs[v].id)
		c.replace(v)
		return "client closed abruptly"
	case i%4 == 1:
		c.rs[v].pause.on.Store(true)
		c.settleWithout(c.rs[v].id)
		c.rs[v].pause.on.Store(false)
		return "keep-alives stopped"
	case i%4 == 2:
		c.replace(v)
		return "clean stop and a new replica"
	default:
		c.churn(v)
		return "keys deleted and re-added during a restart"
	}
}

// settleWithout waits until nothing runs on the replica id.
func (c *cluster) settleWithout(id string) {
	waitFor(c.t, 90*time.Second, "replica "+id+" to run nothing", func() bool {
		p, _ := c.log.placement()
		for _, r := range p {
			if r == id {
				return false
			}
		}
		return true
	})
}

// churn deletes and re-adds keys while replica v restarts.
func (c *cluster) churn(v int) {
	ctx := testCtx(c.t)
	table := c.rs[(v+1)%len(c.rs)].table
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.rs[v].stop(c.t)
	}()
	for range 5 {
		k := fmt.Sprintf("k%04d", c.rng.IntN(60))
		if c.keys[k] {
			require.NoError(c.t, table.Delete(ctx, k))
			delete(c.keys, k)
		} else {
			require.NoError(c.t, table.Put(ctx, k, strconv.Itoa(c.rng.IntN(100))))
			c.keys[k] = true
		}
	}
	<-done
	c.rs[v] = c.start()
}

func TestFaults(t *testing.T) {
	n := faultCount()
	c := &cluster{t: t, prefix: "/" + t.Name() + "/", log: &runLog{}, keys: map[string]bool{},
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))}
	c.rs = []*kreplica{c.start(), c.start(), c.start()}
	putKeys(t, c.rs[0].table, 40, "v")
	for i := range 40 {
		c.keys[fmt.Sprintf("k%04d", i)] = true
	}
	c.settle("start")
	counts := map[string]int{}
	t0 := time.Now()
	for i := range n {
		what := c.fault(i)
		c.settle(what)
		counts[what]++
		if soak() && (i+1)%50 == 0 {
			t.Logf("%d faults in %v, %d runs, 0 double runs, latest deadline timer %v", i+1,
				time.Since(t0).Round(time.Second), c.log.runs(), time.Duration(maxLate.Load()))
		}
	}
	t.Logf("faults survived with 0 double runs: %d in %v (%v), %d runs checked; latest local-deadline timer: %v", n,
		time.Since(t0).Round(time.Second), counts, c.log.runs(), time.Duration(maxLate.Load()))
}

// diagnose logs, for the first keys that do not run, what each replica
// knows of them.
func (c *cluster) diagnose() {
	p, _ := c.log.placement()
	shown := 0
	for k := range c.keys {
		if p[k] != "" || shown == 5 {
			continue
		}
		shown++
		for _, r := range c.rs {
			r.table.mu.Lock()
			mine, assigned := r.table.v.mine[k], r.table.v.assigned(k)
			h, held := r.table.v.owners[k]
			var lease int64
			if r.table.sess != nil {
				lease = int64(r.table.sess.lease)
			}
			members := append([]string(nil), r.table.v.members...)
			r.table.mu.Unlock()
			ci, err := r.keyed.Tree().Child(k)
			c.t.Logf("%s on %s: reported %v, assigned %v, owner %v %+v, own lease %d, members %v, child %v %v (%v), key error %v",
				k, r.id, mine, assigned, held, h, lease, members, ci.State, ci.Err, err, r.keyed.Errors()[k])
		}
	}
	c.t.Logf("singleton runs on %q; roles: %v", p["singleton"], c.roles())
}

func (c *cluster) roles() map[string]string {
	out := map[string]string{}
	for _, r := range c.rs {
		out[r.id] = r.single.Role().String()
	}
	return out
}
