// measure_test.go: the figures of the etcd module, measured against the
// embedded server when ARBOR_ETCD_MEASURE=1 (skipped otherwise): failover
// after a replica's death and hand-over on a clean stop, for a Singleton
// and for 1,000 sharded keys, with a 2s TTL. Each figure is repeated and
// reported as min / median / max; nothing is asserted about speed.

package etcd

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func stats(ds []time.Duration) string {
	slices.Sort(ds)
	return fmt.Sprintf("min %v, median %v, max %v (n=%d)", ds[0].Round(time.Millisecond),
		ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), len(ds))
}

func TestMeasure(t *testing.T) {
	if os.Getenv("ARBOR_ETCD_MEASURE") != "1" {
		t.Skip("set ARBOR_ETCD_MEASURE=1 to measure")
	}
	var failover, handover []time.Duration
	for i := range 5 {
		t.Run(fmt.Sprintf("singleton-%d", i), func(t *testing.T) {
			log := &runLog{}
			rs := startThree(t, log)
			old := leader(t, rs, log)
			t0 := time.Now()
			old.stop(t)
			waitFor(t, 10*time.Second, "hand-over", func() bool { return len(log.running("job")) == 1 })
			handover = append(handover, time.Since(t0))
			old = leader(t, rs, log)
			t0 = time.Now()
			require.NoError(t, old.cli.Close())
			waitFor(t, 10*time.Second, "failover", func() bool {
				run := log.running("job")
				return len(run) == 1 && run[0] != old.id
			})
			failover = append(failover, time.Since(t0))
			log.check(t)
		})
	}
	var rebalance, release []time.Duration
	for i := range 3 {
		t.Run(fmt.Sprintf("sharded-%d", i), func(t *testing.T) {
			log := &runLog{}
			prefix := "/" + t.Name() + "/"
			var rs []*kreplica
			for j := range 4 {
				rs = append(rs, startKeyedReplica(t, prefix, fmt.Sprintf("r%d", j), log, nil))
			}
			putKeys(t, rs[0].table, 1000, "v")
			waitPlaced(t, log, 1000, 120*time.Second)
			t0 := time.Now()
			rs[3].stop(t)
			waitPlaced(t, log, 1000, 120*time.Second, "r3")
			release = append(release, time.Since(t0))
			t0 = time.Now()
			require.NoError(t, rs[2].cli.Close())
			waitPlaced(t, log, 1000, 120*time.Second, "r2", "r3")
			rebalance = append(rebalance, time.Since(t0))
			log.check(t)
		})
	}
	t.Logf("singleton hand-over on clean stop: %s", stats(handover))
	t.Logf("singleton failover after the leader's death (TTL 2s): %s", stats(failover))
	t.Logf("1,000 keys: hand-over of a cleanly stopped replica's keys (4 -> 3 replicas): %s", stats(release))
	t.Logf("1,000 keys: rebalance after a replica's death (3 -> 2 replicas, TTL 2s): %s", stats(rebalance))
	t.Logf("latest local-deadline timer: %v", time.Duration(maxLate.Load()))
}
