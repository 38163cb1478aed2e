// options.go: the functional options New accepts, their defaults, and their
// validation. Options only record values; New checks them all at once so that
// the error names the bad field and value.

package supervisor

import (
	"log/slog"
	"time"
)

// Option configures a Tree. Options are applied in order by New.
type Option func(*config)

// config is the validated configuration of a tree; it never changes after New.
type config struct {
	name         string
	strategy     Strategy
	maxRestarts  int
	period       time.Duration
	unlimited    bool // WithUnlimitedRestarts
	specs        []Spec
	autoShutdown AutoShutdown
	maxChildren  int
	logger       *slog.Logger
	hooks        []func(Event)
	backoffInit  time.Duration
	backoffMax   time.Duration
	passPanics   bool
	jitter       func() float64 // backoff jitter in [0,1); nil: math/rand (tests set it)

	errs []error // option errors, reported by New
}

// Defaults.
const (
	defaultName        = "supervisor"
	defaultMaxRestarts = 3
	defaultPeriod      = 5 * time.Second
)

func defaultConfig() config {
	return config{
		name:        defaultName,
		strategy:    OneForOne,
		maxRestarts: defaultMaxRestarts,
		period:      defaultPeriod,
	}
}

// WithName names the tree in errors, events and logs (default "supervisor").
func WithName(name string) Option {
	return func(c *config) {
		if name == "" {
			c.fail("WithName: name is empty")
			return
		}
		c.name = name
	}
}

// WithStrategy sets the restart strategy (default OneForOne).
func WithStrategy(s Strategy) Option {
	return func(c *config) {
		if s > SimpleOneForOne {
			c.fail("WithStrategy: unknown strategy %d", s)
			return
		}
		c.strategy = s
	}
}

// WithIntensity sets the restart intensity: the tree gives up when more than
// maxRestarts automatic restarts fall within period (default 3 in 5s).
// maxRestarts 0 gives up on the first restart.
func WithIntensity(maxRestarts int, period time.Duration) Option {
	return func(c *config) {
		if maxRestarts < 0 {
			c.fail("WithIntensity: maxRestarts %d is negative", maxRestarts)
			return
		}
		if period <= 0 {
			c.fail("WithIntensity: period %v is not positive", period)
			return
		}
		c.maxRestarts, c.period = maxRestarts, period
	}
}

// WithUnlimitedRestarts makes the tree restart its children forever: it
// never gives up, whatever the rate of failures (oversight's default). Pair
// it with WithBackoff, so that a child that keeps failing is restarted ever
// more slowly instead of in a tight loop. It overrides WithIntensity, in
// either order.
func WithUnlimitedRestarts() Option {
	return func(c *config) { c.unlimited = true }
}

// WithPanicPassThrough lets a child's panic crash the program with the
// original value and stack, as an unsupervised goroutine's would, instead of
// turning it into a *PanicError failure. It is for crash-only programs that
// prefer a clean restart of the whole process to carrying on after a panic.
func WithPanicPassThrough() Option {
	return func(c *config) { c.passPanics = true }
}

// WithChildren adds static children, started in the order given. It may be
// repeated; the specs accumulate. Not allowed with SimpleOneForOne, whose
// children are only ever added at run time.
func WithChildren(specs ...Spec) Option {
	return func(c *config) { c.specs = append(c.specs, specs...) }
}

// WithAutoShutdown makes the tree stop itself when significant children exit
// (default Never). Not allowed with SimpleOneForOne.
func WithAutoShutdown(a AutoShutdown) Option {
	return func(c *config) {
		if a > AllSignificant {
			c.fail("WithAutoShutdown: unknown value %d", a)
			return
		}
		c.autoShutdown = a
	}
}

// WithMaxChildren limits how many children the tree holds; Add past the limit
// returns ErrMaxChildren. 0 means unlimited (the default).
func WithMaxChildren(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.fail("WithMaxChildren: %d is negative", n)
			return
		}
		c.maxChildren = n
	}
}

// WithLogger sets the logger for lifecycle, restart and give-up records
// (default: discard). A nil logger means discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithHook adds a function that receives every Event of the tree. It may be
// given several times: the hooks add up, and each sees every event, in the
// order they were given (a metrics adapter and a user's own hook can
// coexist). Events are delivered in order on one goroutine of the tree's own,
// through a bounded buffer, so a slow or blocking hook never stalls
// supervision: when the buffer is full, events are dropped and counted in the
// next delivered Event's Dropped field. A hook that panics is recovered and
// keeps receiving events. A nil f is ignored.
func WithHook(f func(Event)) Option {
	return func(c *config) {
		if f != nil {
			c.hooks = append(c.hooks, f)
		}
	}
}

// WithBackoff delays automatic restarts: the n-th consecutive restart of a
// child waits initial·2^(n-1), capped at max, with up to ±20% jitter. A child
// that has run for max without failing starts its streak afresh. Default: no
// delay.
func WithBackoff(initial, max time.Duration) Option {
	return func(c *config) {
		if initial <= 0 {
			c.fail("WithBackoff: initial %v is not positive", initial)
			return
		}
		if max < initial {
			c.fail("WithBackoff: max %v is less than initial %v", max, initial)
			return
		}
		c.backoffInit, c.backoffMax = initial, max
	}
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, treeErr(c.name, ErrInvalidOption, format, args...))
}

// validate checks the combinations of options that no single option can.
func (c *config) validate() error {
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	if c.strategy == SimpleOneForOne {
		if c.autoShutdown != Never {
			return treeErr(c.name, ErrInvalidOption, "WithAutoShutdown(%v) is not allowed with SimpleOneForOne", c.autoShutdown)
		}
		if len(c.specs) > 0 {
			return treeErr(c.name, ErrInvalidOption, "WithChildren is not allowed with SimpleOneForOne: add children with Add while the tree runs")
		}
	}
	if c.maxChildren > 0 && len(c.specs) > c.maxChildren {
		return treeErr(c.name, ErrInvalidOption, "WithChildren gives %d children, more than WithMaxChildren(%d)", len(c.specs), c.maxChildren)
	}
	return nil
}
