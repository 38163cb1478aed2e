// notify.go: the Notifier, its options, and the datagrams it sends.

package systemd

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Errors.
var (
	// ErrBadEnvironment: NOTIFY_SOCKET, WATCHDOG_USEC or WATCHDOG_PID is malformed.
	ErrBadEnvironment = errors.New("systemd: bad environment")
	// ErrNilTree: Run was given a nil tree.
	ErrNilTree = errors.New("systemd: Run needs a tree, got nil")
)

// Notifier sends notifications to the service manager. The zero value is not
// usable; create one with New. Its methods are safe for concurrent use.
type Notifier struct {
	addr     *net.UnixAddr // nil: notifications are no-ops
	watchdog time.Duration // 0: no watchdog
	timeout  time.Duration // bound on a snapshot for the watchdog
	interval time.Duration // how often the status line is recomputed
	log      *slog.Logger
	kick     chan struct{}
}

// Option configures a Notifier.
type Option func(*Notifier)

// WithSocket sets the notify socket instead of NOTIFY_SOCKET: a path, or
// "@name" for an abstract socket; "" disables notifications.
func WithSocket(addr string) Option {
	return func(n *Notifier) { n.addr = sockAddr(addr) }
}

// WithWatchdog sets the watchdog period instead of WATCHDOG_USEC; 0 disables it.
func WithWatchdog(d time.Duration) Option {
	return func(n *Notifier) { n.watchdog = max(d, 0) }
}

// WithStatusInterval sets how often the status line is recomputed when no
// event prompts it (default 1s). Events delivered to Hook prompt it at once.
func WithStatusInterval(d time.Duration) Option {
	return func(n *Notifier) {
		if d > 0 {
			n.interval = d
		}
	}
}

// WithLogger logs notifications that fail and watchdog pings withheld
// (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(n *Notifier) {
		if l != nil {
			n.log = l
		}
	}
}

// New returns a Notifier configured from NOTIFY_SOCKET, WATCHDOG_USEC and
// WATCHDOG_PID, then from opts. Without NOTIFY_SOCKET it is a no-op
// notifier (Enabled is false); malformed values are an error matching
// ErrBadEnvironment.
func New(opts ...Option) (*Notifier, error) {
	n := &Notifier{interval: time.Second, log: slog.New(slog.DiscardHandler), kick: make(chan struct{}, 1)}
	if err := n.fromEnv(); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if o != nil {
			o(n)
		}
	}
	if n.addr != nil && n.addr.Name != "" && n.addr.Name[0] != '/' && n.addr.Name[0] != '@' {
		return nil, fmt.Errorf("%w: notify socket %q is neither a path nor an abstract name (@...)", ErrBadEnvironment, n.addr.Name)
	}
	n.timeout = n.watchdog / 4
	if n.timeout <= 0 || n.timeout > time.Second {
		n.timeout = time.Second
	}
	return n, nil
}

func (n *Notifier) fromEnv() error {
	n.addr = sockAddr(os.Getenv("NOTIFY_SOCKET"))
	usec := os.Getenv("WATCHDOG_USEC")
	if usec == "" {
		return nil
	}
	u, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || u == 0 {
		return fmt.Errorf("%w: WATCHDOG_USEC=%q is not a positive number of microseconds", ErrBadEnvironment, usec)
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p <= 0 {
			return fmt.Errorf("%w: WATCHDOG_PID=%q is not a pid", ErrBadEnvironment, pid)
		}
		if p != os.Getpid() {
			return nil // the watchdog is meant for another process
		}
	}
	n.watchdog = time.Duration(u) * time.Microsecond
	return nil
}

func sockAddr(s string) *net.UnixAddr {
	if s == "" {
		return nil
	}
	return &net.UnixAddr{Name: s, Net: "unixgram"}
}

// Enabled reports whether notifications are sent (a notify socket is set).
func (n *Notifier) Enabled() bool { return n.addr != nil }

// Watchdog returns the watchdog period (0: none); pings go out every half of it.
func (n *Notifier) Watchdog() time.Duration { return n.watchdog }

// Notify sends one datagram holding the given assignments ("READY=1",
// "STATUS=..."), one per line. A no-op without a notify socket.
// Newlines inside an assignment are replaced by spaces.
func (n *Notifier) Notify(assignments ...string) error {
	if n.addr == nil || len(assignments) == 0 {
		return nil
	}
	lines := make([]string, len(assignments))
	for i, a := range assignments {
		lines[i] = strings.ReplaceAll(a, "\n", " ")
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("systemd: notify %s: %w", n.addr.Name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(lines, "\n"))); err != nil {
		return fmt.Errorf("systemd: notify %s: %w", n.addr.Name, err)
	}
	return nil
}

// notify is Notify that logs its failure: a service manager that went away
// must not stop the tree.
func (n *Notifier) notify(assignments ...string) {
	if err := n.Notify(assignments...); err != nil {
		n.log.Warn("systemd: notification failed", "err", err)
	}
}
