// probe_test.go: tests of the cross-processor probe (probe.go).

package main

import (
	"runtime"
	"strings"
	"testing"
)

// testTrips keeps the probes short: the tests may share the machine with
// other test processes, and a turn waits for the other thread to run.
const testTrips = 1_000

// On Linux with two processors the probe measures a round trip, and the
// thread it pinned for the caller is given back its mask (the test holds
// that thread, so it can look at the mask after).
func TestRoundTrip(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.NumCPU() < 2 || runtime.GOMAXPROCS(0) < 2 {
		d, ok := roundTrip(0, 1, testTrips)
		if ok || d != 0 {
			t.Fatalf("roundTrip on %s with %d processors = %v, %v; want 0, false", runtime.GOOS, runtime.NumCPU(), d, ok)
		}
		t.Skip("needs Linux and two processors")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadMask(t)
	for range 2 {
		d, ok := roundTrip(0, 1, testTrips)
		if !ok || d <= 0 {
			t.Fatalf("roundTrip(0, 1, testTrips) = %v, %v; want a positive duration", d, ok)
		}
	}
	if after := threadMask(t); after != before {
		t.Fatalf("the caller's thread is left pinned: mask %x, was %x", after, before)
	}
	if line := probeLine(testTrips); !strings.Contains(line, "CPU 0 ↔ 1: ") {
		t.Fatalf("probeLine = %q", line)
	}
}

// A processor that does not exist, the same processor twice, or no round
// trips are refused, without a panic or a hang.
func TestRoundTripNoSuchProcessor(t *testing.T) {
	for _, c := range []struct{ a, b, n int }{
		{0, runtime.NumCPU(), testTrips}, {-1, 0, testTrips}, {0, -1, testTrips}, {0, 0, testTrips}, {0, 1, 0},
	} {
		if d, ok := roundTrip(c.a, c.b, c.n); ok || d != 0 {
			t.Fatalf("roundTrip(%d, %d, %d) = %v, %v; want 0, false", c.a, c.b, c.n, d, ok)
		}
	}
	for _, cpu := range []int{-1, 4096} {
		if restore, ok := pinThread(cpu); ok || restore != nil {
			t.Fatalf("pinThread(%d) succeeded", cpu)
		}
	}
}
