// options.go: the functional options shared by the page and the health
// handlers, and their defaults.

package status

import (
	"context"
	"time"

	"github.com/arbor-go/supervisor"
)

// Snapshotter is what the handlers read: *supervisor.Tree implements it.
type Snapshotter interface {
	Snapshot(ctx context.Context) (supervisor.TreeSnapshot, error)
}

// Defaults.
const (
	// DefaultTimeout bounds the wait for a tree's loop to answer a snapshot.
	DefaultTimeout = time.Second
	// DefaultRefresh is how often the page reloads itself.
	DefaultRefresh = 5 * time.Second
	// DefaultRecentFailures is how many failed children a summarised
	// SimpleOneForOne tree shows.
	DefaultRecentFailures = 10
)

// Option configures the handlers.
type Option func(*config)

type config struct {
	timeout  time.Duration
	refresh  time.Duration
	recent   int
	required []string
	now      func() time.Time
}

func newConfig(opts []Option) config {
	c := config{timeout: DefaultTimeout, refresh: DefaultRefresh, recent: DefaultRecentFailures, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithTimeout bounds how long a request waits for the tree's loop (default
// DefaultTimeout). A loop that does not answer in time fails /livez and shows
// as "unresponsive" on the page. Values <= 0 keep the default.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithRefresh sets how often the page reloads itself (default DefaultRefresh;
// rounded up to whole seconds). 0 or less turns the reload off.
func WithRefresh(d time.Duration) Option {
	return func(c *config) { c.refresh = d }
}

// WithRecentFailures sets how many failed children the page shows for a
// summarised SimpleOneForOne tree (default DefaultRecentFailures). Values < 0
// keep the default.
func WithRecentFailures(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.recent = n
		}
	}
}

// WithRequired marks children that /readyz requires to be running, by path:
// the root tree's name, then child names down through subtrees, joined by
// "/" (for example "app/db" or "app/db/pool"). It may be given several times;
// the paths add up. A path that names no child fails its check with a message
// saying so. A child whose name contains "/" cannot be named this way.
func WithRequired(paths ...string) Option {
	return func(c *config) { c.required = append(c.required, paths...) }
}
