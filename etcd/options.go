// options.go: the options shared by Singleton and ShardedTable, their
// defaults and validation, and the package's errors.

package etcd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Errors. Match them with errors.Is; the errors returned name the
// singleton, table or key involved, and the endpoints.
var (
	// ErrUnreachable: etcd could not be reached within the start timeout.
	ErrUnreachable = errors.New("etcd unreachable")
	// ErrLeaseExpired: the lease could not be confirmed before its local
	// deadline, or the server reported it gone. A Singleton's or keyed
	// child's context is cancelled with this cause.
	ErrLeaseExpired = errors.New("lease lost or unconfirmed")
	// ErrNoFence: FencedTxn outside a Singleton or a sharded keyed child.
	ErrNoFence = errors.New("no fence")
	// ErrInvalidOption: a bad option value.
	ErrInvalidOption = errors.New("invalid option")
)

// Option configures a Singleton or a ShardedTable.
type Option func(*config)

type config struct {
	ttl           time.Duration
	margin        time.Duration
	prefix        string
	id            string
	startTimeout  time.Duration
	revokeTimeout time.Duration
	resync        time.Duration
	log           *slog.Logger
	paused        func() bool // tests: true stops keep-alives
	errs          []error
}

func defaultConfig() config {
	return config{ttl: 10 * time.Second, prefix: "/arbor/", startTimeout: 5 * time.Second,
		revokeTimeout: time.Second, resync: time.Minute, id: defaultID()}
}

// defaultID is host-pid-random: unique per process.
func defaultID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", sanitize(host), os.Getpid(), hex.EncodeToString(b[:]))
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '.' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// WithTTL sets the lease TTL, in whole seconds, at least 1s (default 10s):
// how long after a replica's death another one may take over.
func WithTTL(ttl time.Duration) Option {
	return func(c *config) {
		if ttl < time.Second || ttl%time.Second != 0 {
			c.errs = append(c.errs, fmt.Errorf("WithTTL(%v): need whole seconds, at least 1s", ttl))
		}
		c.ttl = ttl
	}
}

// WithMargin sets how long before the lease could expire on the server a
// child's context is cancelled (default TTL/3). It must cover the time a
// child needs to return once cancelled, plus scheduling delays and clock
// rate differences between this host and the etcd leader.
func WithMargin(m time.Duration) Option {
	return func(c *config) {
		if m <= 0 {
			c.errs = append(c.errs, fmt.Errorf("WithMargin(%v): need > 0", m))
		}
		c.margin = m
	}
}

// WithPrefix sets the etcd key prefix of elections and tables (default
// "/arbor/").
func WithPrefix(p string) Option {
	return func(c *config) {
		if p == "" {
			c.errs = append(c.errs, errors.New("WithPrefix: empty prefix"))
		}
		c.prefix = p
	}
}

// WithReplicaID names this replica in leader and owner keys (default
// host-pid-random). Two live replicas must never share an ID.
func WithReplicaID(id string) Option {
	return func(c *config) {
		if id == "" || strings.ContainsAny(id, "/ \n") {
			c.errs = append(c.errs, fmt.Errorf("WithReplicaID(%q): need a non-empty ID without '/' or spaces", id))
		}
		c.id = id
	}
}

// WithStartTimeout bounds how long a start waits for etcd (default 5s):
// past it, the Singleton or table fails with an error matching
// ErrUnreachable and naming the endpoints.
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("WithStartTimeout(%v): need > 0", d))
		}
		c.startTimeout = d
	}
}

// WithResync sets how often a ShardedTable re-reads the whole table as a
// safety net behind its watch (default 1m; 0 disables it).
func WithResync(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("WithResync(%v): need >= 0", d))
		}
		c.resync = d
	}
}

// WithLogger logs elections, ownership changes and lease trouble (default:
// discard).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.log = l }
}

func newConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	if c.margin == 0 {
		c.margin = c.ttl / 3
	}
	if c.margin >= c.ttl {
		c.errs = append(c.errs, fmt.Errorf("margin %v must be less than TTL %v", c.margin, c.ttl))
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if !strings.HasSuffix(c.prefix, "/") {
		c.prefix += "/"
	}
	if len(c.errs) > 0 {
		return c, fmt.Errorf("etcd: %w: %w", ErrInvalidOption, errors.Join(c.errs...))
	}
	return c, nil
}
