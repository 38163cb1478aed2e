//go:build linux

package proc_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arbor-go/supervisor/proc"
)

func TestWorkerStateText(t *testing.T) {
	for _, s := range []proc.WorkerState{proc.WorkerStarting, proc.WorkerIdle, proc.WorkerBusy, proc.WorkerStopping} {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		var back proc.WorkerState
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, s, back)
	}
	assert.Equal(t, `"busy"`, mustJSON(t, proc.WorkerBusy))
	var s proc.WorkerState
	assert.Error(t, json.Unmarshal([]byte(`"sleepy"`), &s))
	assert.Equal(t, "WorkerState(9)", proc.WorkerState(9).String())
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
