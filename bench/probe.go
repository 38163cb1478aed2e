// probe.go: what the machine itself allows, printed with every run: how
// long one cache line takes to go from one processor to another and back.
// On a VM the host decides where its vCPUs run; two vCPUs that share a
// last-level cache pass a line back and forth several times faster than two
// that do not, and every workload that shares state between processors
// (the runtime's scheduler included) slows down with that latency. The
// probe makes a run's figures readable against the placement it had.

package main

import (
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"time"
)

// pingPongs is how many round trips one probe of a run makes (about 45 ms).
const pingPongs = 100_000

// roundTrip measures the round trip of one cache line between the
// processors cpuA and cpuB: two goroutines, each locked to a thread pinned
// to one of them, take turns writing a counter the other waits for, n
// times. It returns the mean time of one round trip, or false where threads
// cannot be pinned (not Linux, one processor). It needs two free Ps: it
// spins; and a turn waits for the other thread to be running, so on a busy
// machine it takes as long as the OS makes it wait.
func roundTrip(cpuA, cpuB, n int) (time.Duration, bool) {
	if n <= 0 || min(cpuA, cpuB) < 0 || cpuA == cpuB || runtime.GOMAXPROCS(0) < 2 || runtime.NumCPU() <= max(cpuA, cpuB) {
		return 0, false
	}
	var line struct {
		_ [64]byte
		n atomic.Int64
		_ [64]byte
	}
	ready := make(chan bool) // the partner's pin worked
	begin := make(chan bool) // ours did too: spin
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		restore, ok := pinThread(cpuB)
		if ok {
			defer restore()
		}
		ready <- ok
		if !ok || !<-begin {
			return
		}
		for i := range int64(n) {
			for line.n.Load() != 2*i+1 {
			}
			line.n.Store(2*i + 2)
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	restore, ok := pinThread(cpuA)
	if ok {
		defer restore()
	}
	if partner := <-ready; partner {
		begin <- ok
	} else {
		ok = false
	}
	if !ok {
		<-done
		return 0, false
	}
	start := time.Now()
	for i := range int64(n) {
		line.n.Store(2*i + 1)
		for line.n.Load() != 2*i+2 {
		}
	}
	elapsed := time.Since(start)
	<-done
	return elapsed / time.Duration(n), true
}

// probeLine is the printed probe: the median and range of five probes of
// n round trips between processors 0 and 1.
func probeLine(n int) string {
	var trips []time.Duration
	for range 5 {
		d, ok := roundTrip(0, 1, n)
		if !ok {
			return "cross-processor round trip: not measured (needs Linux and two processors)"
		}
		trips = append(trips, d)
	}
	slices.Sort(trips)
	return fmt.Sprintf("cross-processor round trip of a cache line, CPU 0 ↔ 1: %v (%v–%v over %d probes)",
		trips[len(trips)/2], trips[0], trips[len(trips)-1], len(trips))
}
