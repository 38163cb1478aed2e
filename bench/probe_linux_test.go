// probe_linux_test.go: what the probe's tests (probe_test.go) read of a
// thread on Linux.

package main

import "testing"

// threadMask is the CPU mask of the calling thread.
func threadMask(t *testing.T) cpuMask {
	t.Helper()
	var m cpuMask
	if err := getMask(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
