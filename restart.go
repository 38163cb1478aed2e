// restart.go: restart types, the classification of a child's exit, and the
// backoff delay before an automatic restart.

package supervisor

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Restart says when a child is restarted after it exits by itself.
type Restart uint8

const (
	Permanent Restart = iota // always restarted (also after a nil return)
	Transient                // restarted only after an abnormal exit
	Temporary                // never restarted; its spec is removed once it exits
)

var restartNames = [...]string{"permanent", "transient", "temporary"}

// String returns the restart type's name in lower case.
func (r Restart) String() string {
	if int(r) < len(restartNames) {
		return restartNames[r]
	}
	return "Restart(" + strconv.Itoa(int(r)) + ")"
}

// Durations.
const (
	// DefaultShutdown is the Shutdown of a Spec that leaves it zero.
	DefaultShutdown = 5 * time.Second
	// Infinity as Spec.Shutdown waits for the child as long as it takes.
	Infinity time.Duration = -1
)

// wantsRestart reports whether a child that exited by itself is restarted.
// A nil error is a normal exit; anything else (a returned error, a panic, a
// missed heartbeat, context.Canceled while the child's context was alive) is
// abnormal.
func wantsRestart(r Restart, err error) bool {
	switch r {
	case Permanent:
		return true
	case Transient:
		return err != nil
	default:
		return false
	}
}

// backoff computes restart delays. The zero value means no delay.
type backoff struct {
	initial, max time.Duration
	jitter       func() float64 // in [0,1); replaceable in tests
}

// delay returns the wait before the streak-th consecutive restart (streak ≥ 1):
// initial·2^(streak-1) capped at max, then moved by up to ±20%.
func (b *backoff) delay(streak int) time.Duration {
	if b.initial <= 0 {
		return 0
	}
	d := b.max
	if shift := streak - 1; shift < 62 {
		if x := b.initial << shift; x > 0 && x>>shift == b.initial && x < b.max {
			d = x
		}
	}
	j := rand.Float64
	if b.jitter != nil {
		j = b.jitter
	}
	return time.Duration(float64(d) * (0.8 + 0.4*j()))
}

// noteExit updates a child's streak when it exits by itself at now: a child
// that ran for at least max starts its streak afresh.
func (b *backoff) noteExit(c *child, now time.Duration) {
	if b.initial > 0 && c.x != nil && now-c.x.startedAt >= b.max {
		c.x.streak = 0
	}
}

// restart acts on a failure that calls for a restart of c (inc is the
// incarnation that failed, nil for a deferred failure). Under a group
// strategy, a failure during a group plan waits for that plan to end, unless
// it is the failure of the child the plan waits on, which supersedes it.
func (l *loop) restart(c *child, inc *incarnation, err error) {
	group := l.cfg.strategy.group()
	if p := l.plan; group && p != nil {
		if inc == nil || p.wait != inc || p.kind == planInitial {
			c.deferred = true
			l.deferred = append(l.deferred, c)
			l.setState(c, Restarting)
			return
		}
		l.plan = nil // the new group restart covers what the old one had left
	}
	var delay time.Duration
	if l.bo.initial > 0 {
		x := c.ext()
		x.streak++
		delay = l.bo.delay(x.streak)
	}
	if l.obs != nil {
		l.emit(Event{Kind: RestartScheduled, Child: c.spec.Name, Restarts: c.restarts, Delay: delay})
	}
	if group {
		l.groupRestart(c, err, delay)
		return
	}
	if delay > 0 {
		l.setState(c, Restarting)
		l.schedule(&c.ext().restart, delay)
		return
	}
	l.restartNow(c, err)
}

// restartNow records an automatic restart of c and performs it, or gives up.
func (l *loop) restartNow(c *child, err error) {
	if !l.win.record(l.clock) {
		l.giveUp(c, err)
		return
	}
	l.start(c, byAuto, false)
}

// testJitter replaces the jitter source of t's backoff (tests only).
func (t *Tree) testJitter(f func() float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.jitter = f
}
