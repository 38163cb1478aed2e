// probe_linux_test.go: what the probe's tests (probe_test.go) read of a
// thread on Linux.

package main

import (
	"syscall"
	"testing"
	"unsafe"
)

// threadMask is the CPU mask of the calling thread.
func threadMask(t *testing.T) cpuMask {
	t.Helper()
	var m cpuMask
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m))); e != 0 {
		t.Fatal(e)
	}
	return m
}
