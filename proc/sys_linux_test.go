//go:build linux

package proc_test

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	supervisor "github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/proc"
)

// threads returns the program's OS thread count.
func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no Threads line")
	return 0
}

// liveChildren counts the live processes whose parent is this program.
func liveChildren() int {
	d, err := os.Open("/proc")
	if err != nil {
		return -1
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	me := strconv.Itoa(os.Getpid())
	n := 0
	for _, name := range names {
		b, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+2:]))
		if len(f) > 1 && f[1] == me && f[0] != "Z" {
			n++
		}
	}
	return n
}

// TestManyProcessesFewThreads runs many concurrent sleep processes under
// one tree and checks that the program's OS thread count stays under 100:
// no thread waits for a process. ARBOR_PROC_MANY sets the number (the
// issue's figure is 5000; the default keeps CI fast, and the race detector
// caps a program at 8128 goroutines, so 5000 needs a run without -race).
func TestManyProcessesFewThreads(t *testing.T) {
	n := 300
	if s := os.Getenv("ARBOR_PROC_MANY"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	r := startTree(t, supervisor.WithStrategy(supervisor.SimpleOneForOne))
	p := proc.Command("sleep", "1000")
	p.Grace = 2 * time.Second
	start := time.Now()
	for range n {
		_, err := r.tree.Add(p.Spec(""))
		require.NoError(t, err)
	}
	added := time.Since(start)
	deadline := time.Now().Add(time.Duration(n)*20*time.Millisecond + 10*time.Second)
	for liveChildren() < n { // a scan of /proc: not too often
		require.True(t, time.Now().Before(deadline), "only %d of %d processes running", liveChildren(), n)
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d Adds returned after %v", n, added.Round(time.Millisecond))
	th := threads(t)
	t.Logf("%d processes running after %v; OS threads: %d", n, time.Since(start).Round(time.Millisecond), th)
	assert.Less(t, th, 100, "OS threads with %d live processes", n)
	stopAt := time.Now()
	require.NoError(t, r.stop(t))
	t.Logf("stopped %d processes in %v", n, time.Since(stopAt).Round(time.Millisecond))
	assert.Zero(t, liveChildren(), "processes left after the tree stopped")
}
