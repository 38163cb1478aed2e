package supervisor

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// The records every running child costs are sized to the allocator's
// classes (BENCHMARKS.md, issue 13): a field added to one of them moves it
// up a class, 16 to 32 bytes per child. What few children need goes to
// childExtra or incSide instead.
func TestRecordSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are those of 64-bit platforms")
	}
	assert.Equal(t, uintptr(56), unsafe.Sizeof(Spec{}), "Spec")
	assert.Equal(t, uintptr(96), unsafe.Sizeof(child{}), "child")
	assert.Equal(t, uintptr(96), unsafe.Sizeof(incarnation{}), "incarnation")
}
