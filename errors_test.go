package supervisor

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestErrorTypes(t *testing.T) {
	ce := &ChildError{Tree: "t", Child: "c", Kind: ErrStartFailed, Err: errBoom}
	assert.ErrorIs(t, ce, ErrStartFailed)
	assert.ErrorIs(t, ce, errBoom)
	assert.Equal(t, `supervisor: tree "t": child "c": child failed to start: boom`, ce.Error())
	se := &ShutdownTimeoutError{Tree: "t", Children: []string{"a", "b"}}
	assert.ErrorIs(t, se, ErrShutdownTimeout)
	assert.Equal(t, `supervisor: tree "t": shutdown timeout: abandoned "a", "b"`, se.Error())
	assert.False(t, errors.Is(se, ErrStartFailed))
	assert.Equal(t, "one_for_all", OneForAll.String())
	assert.Equal(t, "transient", Transient.String())
	assert.Equal(t, "restarting", Restarting.String())
	assert.Equal(t, "all_significant", AllSignificant.String())
	assert.Equal(t, "gave up", GaveUp.String())
	assert.Equal(t, "Strategy(9)", Strategy(9).String())
}
