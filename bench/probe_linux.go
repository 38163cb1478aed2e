// probe_linux.go: pinning the calling thread to one processor, for the
// cross-processor probe (probe.go).

package main

import (
	"syscall"
	"unsafe"
)

// cpuMask is a Linux CPU set (1,024 processors).
type cpuMask [16]uint64

// pinThread pins the calling OS thread (locked by the caller) to processor
// cpu and returns a function that gives it back its earlier mask.
func pinThread(cpu int) (restore func(), ok bool) {
	var old cpuMask
	if getMask(&old) != nil {
		return nil, false
	}
	if cpu < 0 || cpu >= len(old)*64 || old[cpu/64]&(1<<(cpu%64)) == 0 {
		return nil, false // not a processor this thread may run on
	}
	var one cpuMask
	one[cpu/64] = 1 << (cpu % 64)
	if setMask(&one) != nil {
		return nil, false
	}
	return func() { _ = setMask(&old) }, true
}

// getMask reads the calling thread's CPU mask into m.
func getMask(m *cpuMask) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(*m), uintptr(unsafe.Pointer(m))); e != 0 {
		return e
	}
	return nil
}

// setMask sets the calling thread's CPU mask to m.
func setMask(m *cpuMask) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(*m), uintptr(unsafe.Pointer(m))); e != 0 {
		return e
	}
	return nil
}
