//go:build !linux

// probe_other_test.go: where threads cannot be pinned, the probe's tests
// (probe_test.go) have no mask to read.

package main

import "testing"

// cpuMask stands for a thread's CPU mask, which is not read here.
type cpuMask struct{}

// threadMask is not reached: TestRoundTrip skips before.
func threadMask(*testing.T) cpuMask { return cpuMask{} }
