//go:build !linux

// probe_other.go: where threads cannot be pinned, the cross-processor
// probe (probe.go) is not measured.

package main

// pinThread reports that the calling thread cannot be pinned here.
func pinThread(int) (func(), bool) { return nil, false }
