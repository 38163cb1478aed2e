// runlog_test.go: the double-run detector. Every child records its run of
// a key as an interval (key, replica, fencing token, start, end); check
// asserts that no two intervals of a key overlap and that the tokens of a
// key strictly increase in start order.

package etcd

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

type interval struct {
	key, replica string
	token        int64
	start, end   time.Time // end zero: still running
}

type runLog struct {
	mu   sync.Mutex
	ivs  []*interval
	live map[string]map[string]int // key -> replica -> runs in progress
}

func (l *runLog) track(key, replica string, d int) {
	if l.live == nil {
		l.live = map[string]map[string]int{}
	}
	m := l.live[key]
	if m == nil {
		m = map[string]int{}
		l.live[key] = m
	}
	m[replica] += d
	if m[replica] == 0 {
		delete(m, replica)
	}
	if len(m) == 0 {
		delete(l.live, key)
	}
}

// begin records the start of a run; the returned func records its end.
func (l *runLog) begin(key, replica string, token int64) func() {
	iv := &interval{key: key, replica: replica, token: token, start: time.Now()}
	l.mu.Lock()
	l.ivs = append(l.ivs, iv)
	l.track(key, replica, 1)
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		iv.end = time.Now()
		l.track(key, replica, -1)
		l.mu.Unlock()
	}
}

// add records a finished interval (from another process).
func (l *runLog) add(iv interval) {
	l.mu.Lock()
	l.ivs = append(l.ivs, &iv)
	l.mu.Unlock()
}

// addOpen records a run still in progress (in another process).
func (l *runLog) addOpen(iv interval) {
	l.mu.Lock()
	l.ivs = append(l.ivs, &iv)
	l.track(iv.key, iv.replica, 1)
	l.mu.Unlock()
}

// running returns the replicas running key now.
func (l *runLog) running(key string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for r := range l.live[key] {
		out = append(out, r)
	}
	return out
}

// placement returns, for the keys running now, the replica running each
// (the first found, if a key runs twice) and how many keys run more than once.
func (l *runLog) placement() (map[string]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out, twice := map[string]string{}, 0
	for key, m := range l.live {
		if len(m) > 1 {
			twice++
		}
		for r := range m {
			out[key] = r
			break
		}
	}
	return out, twice
}

// runs returns how many runs were recorded.
func (l *runLog) runs() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ivs)
}

// violations lists overlapping runs and non-increasing tokens.
func (l *runLog) violations() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	byKey := map[string][]*interval{}
	for _, iv := range l.ivs {
		byKey[iv.key] = append(byKey[iv.key], iv)
	}
	var bad []string
	for key, ivs := range byKey {
		slices.SortFunc(ivs, func(a, b *interval) int { return a.start.Compare(b.start) })
		for i := 1; i < len(ivs); i++ {
			prev, cur := ivs[i-1], ivs[i]
			if prev.end.IsZero() || cur.start.Before(prev.end) {
				bad = append(bad, fmt.Sprintf("key %s: %s (token %d) started at %v while %s (token %d) ran %v..%v",
					key, cur.replica, cur.token, cur.start.Format(time.StampMicro), prev.replica, prev.token,
					prev.start.Format(time.StampMicro), prev.end.Format(time.StampMicro)))
			}
			if cur.token <= prev.token {
				bad = append(bad, fmt.Sprintf("key %s: token %d (%s) after token %d (%s)", key, cur.token,
					cur.replica, prev.token, prev.replica))
			}
		}
	}
	return bad
}

// check fails the test on any violation.
func (l *runLog) check(t testing.TB) {
	t.Helper()
	if bad := l.violations(); len(bad) > 0 {
		t.Fatalf("double runs:\n%s", bad)
	}
}

func TestRunLogDetects(t *testing.T) {
	l := &runLog{}
	t0 := time.Now()
	l.add(interval{key: "k", replica: "a", token: 5, start: t0, end: t0.Add(time.Second)})
	l.add(interval{key: "k", replica: "b", token: 4, start: t0.Add(500 * time.Millisecond), end: t0.Add(2 * time.Second)})
	l.add(interval{key: "j", replica: "a", token: 1, start: t0, end: t0.Add(time.Second)})
	l.add(interval{key: "j", replica: "b", token: 2, start: t0.Add(time.Second)})
	if bad := l.violations(); len(bad) != 2 {
		t.Fatalf("want an overlap and a token decrease, got %q", bad)
	}
}
