//go:build unix

package proc

import (
	"context"
	"net"
	"regexp"
	"time"
)

// Readiness says when a started process counts as ready: see ReadyOnStart,
// ReadyOnOutput, ReadyOnTCP and ReadyOnNotify. Readiness matters to a tree
// only for a child whose Spec has WaitReady (Process.Spec sets it for every
// readiness but ReadyOnStart); a process that exits before it is ready has
// failed to start.
type Readiness interface {
	// String describes the readiness condition.
	String() string
	readiness()
}

// ReadyOnStart makes a process ready as soon as it has started. It is the
// default.
func ReadyOnStart() Readiness { return readyStart{} }

// ReadyOnOutput makes a process ready when a line it writes to stdout or
// stderr matches re (which must not be nil: Run rejects it before starting). The line is also written or logged as usual. Lines are
// matched as logged: at most 64 KiB at a time, without the newline.
func ReadyOnOutput(re *regexp.Regexp) Readiness { return readyOutput{re: re} }

// ReadyOnTCP makes a process ready when addr ("host:port") accepts TCP
// connections; Run tries every 50ms. The address should be one that nothing
// but the process listens on: a port already taken makes it ready at once.
func ReadyOnTCP(addr string) Readiness { return readyTCP{addr: addr} }

// ReadyOnNotify makes a process ready when it sends READY=1 by the systemd
// notify protocol: Run creates a datagram socket private to the process
// (in a fresh 0700 directory, removed when Run returns) and passes its path
// in NOTIFY_SOCKET. Datagrams are accepted from any process that can reach
// the socket, as with systemd's NotifyAccess=all. READY=1 makes the process
// ready, WATCHDOG=1 calls supervisor.Heartbeat, STATUS= is logged.
func ReadyOnNotify() Readiness { return readyNotify{} }

type readyStart struct{}

func (readyStart) String() string { return "on start" }
func (readyStart) readiness()     {}

type readyOutput struct{ re *regexp.Regexp }

func (r readyOutput) String() string {
	if r.re == nil {
		return "on output matching <nil regexp>"
	}
	return "on output matching " + r.re.String()
}
func (readyOutput) readiness() {}

type readyTCP struct{ addr string }

func (r readyTCP) String() string { return "on TCP " + r.addr }
func (readyTCP) readiness()       {}

type readyNotify struct{}

func (readyNotify) String() string { return "on notify READY=1" }
func (readyNotify) readiness()     {}

func isReadyOnStart(r Readiness) bool {
	_, ok := r.(readyStart)
	return r == nil || ok
}

// tcpPollInterval is how often ReadyOnTCP tries to connect.
const tcpPollInterval = 50 * time.Millisecond

// pollTCP marks the process ready once addr accepts a connection, or gives
// up when ctx is done.
func (r *run) pollTCP(ctx context.Context, addr string) {
	d := net.Dialer{Timeout: time.Second}
	t := time.NewTicker(tcpPollInterval)
	defer t.Stop()
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			r.markReady("tcp")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
