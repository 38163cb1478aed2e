// restart.go: restart types and the pure policies of restarting: what a
// child's exit leads to, and the backoff delay before an automatic restart.
// Nothing here touches the loop.

package supervisor

import (
	"math/rand/v2"
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
func (r Restart) String() string { return enumName(restartNames[:], "Restart", int(r)) }

// Durations.
const (
	// DefaultShutdown is the Shutdown of a Spec that leaves it zero.
	DefaultShutdown = 5 * time.Second
	// Infinity as Spec.Shutdown waits for the child as long as it takes.
	Infinity time.Duration = -1
)

// outcome is what a child's exit by itself leads to.
type outcome uint8

const (
	outRestart  outcome = iota // restart it (and its group)
	outStay                    // leave it Stopped (removed if Temporary)
	outStopTree                // stop the whole tree
)

// decide returns what the exit of a child of restart type r with error err
// leads to. A nil error is a normal exit; anything else (a returned error, a
// panic, a missed heartbeat, context.Canceled while the child's context was
// alive) is abnormal. The child decides first: ErrStopTree stops the tree,
// ErrDoNotRestart leaves it stopped.
func decide(r Restart, err error) outcome {
	if err != nil {
		stop, stay := asked(err)
		if stop {
			return outStopTree
		}
		if stay {
			return outStay
		}
	}
	switch {
	case r == Permanent, r == Transient && err != nil:
		return outRestart
	}
	return outStay
}

// asked reports whether err's tree (as errors.Is walks it) holds
// ErrStopTree or ErrDoNotRestart, in one walk: this runs on every exit.
func asked(err error) (stop, stay bool) {
	for err != nil {
		switch err {
		case ErrStopTree:
			return true, stay
		case ErrDoNotRestart:
			stay = true
		}
		if x, ok := err.(interface{ Is(error) bool }); ok {
			if x.Is(ErrStopTree) {
				return true, stay
			}
			stay = stay || x.Is(ErrDoNotRestart)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				s1, s2 := asked(e)
				if s1 {
					return true, stay
				}
				stay = stay || s2
			}
			return false, stay
		default:
			return false, stay
		}
	}
	return false, stay
}

// backoff computes restart delays. The zero value means no delay.
type backoff struct {
	initial, max time.Duration
	jitter       func() float64 // in [0,1); nil: math/rand
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
	f := float64(d) * (0.8 + 0.4*j())
	if f >= float64(never) {
		return never
	}
	return time.Duration(f)
}

// resets reports whether a child that ran from startedAt to now has run long
// enough (max) to start its streak afresh.
func (b *backoff) resets(startedAt, now time.Duration) bool {
	return b.initial > 0 && now-startedAt >= b.max
}
