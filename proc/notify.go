//go:build unix

package proc

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	supervisor "github.com/arbor-go/supervisor"
)

// notifier is the receiving end of the systemd notify protocol for one
// process: a unixgram socket in a private directory, read by one goroutine.
type notifier struct {
	r    *run
	dir  string
	addr string // NOTIFY_SOCKET
	conn *net.UnixConn

	once sync.Once
	done chan struct{} // closed when the reader returns (if started)
}

// maxSockPath is the longest path a sockaddr_un holds, with its NUL.
const maxSockPath = 107

// newNotifier creates the socket in a fresh private directory (mode 0700,
// so only the supervisor's user can reach it). The directory is made under
// os.TempDir, or under /tmp when that path is too long for a socket; there
// is no abstract-namespace fallback, since any local process could reach an
// abstract socket and forge READY=1 or WATCHDOG=1.
func newNotifier(r *run) (*notifier, error) {
	var lastErr error
	for _, parent := range []string{os.TempDir(), "/tmp"} {
		dir, err := os.MkdirTemp(parent, "arbor-notify-")
		if err != nil {
			lastErr = err
			continue
		}
		addr := filepath.Join(dir, "n.sock")
		if len(addr) > maxSockPath {
			os.Remove(dir)
			lastErr = fmt.Errorf("socket path %q is longer than %d bytes", addr, maxSockPath)
			continue
		}
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		return &notifier{r: r, dir: dir, addr: addr, conn: conn}, nil
	}
	return nil, lastErr
}

// start starts the reader goroutine; called once the process has started.
func (n *notifier) start() {
	n.done = make(chan struct{})
	go n.read()
}

func (n *notifier) read() {
	defer close(n.done)
	buf := make([]byte, 64<<10)
	for {
		m, _, err := n.conn.ReadFromUnix(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a datagram error does not stop the protocol
		}
		n.handle(buf[:m])
	}
}

// handle interprets one datagram: newline-separated KEY=value assignments.
// Lines that make no sense are ignored and counted (see hooks.malformed).
func (n *notifier) handle(msg []byte) {
	for line := range bytes.SplitSeq(msg, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		key, val, ok := bytes.Cut(line, []byte{'='})
		if !ok || len(key) == 0 {
			n.bad(line)
			continue
		}
		if !n.assign(string(key), string(val)) {
			n.bad(line)
		}
	}
}

// assign applies one assignment; it returns false for a malformed one.
func (n *notifier) assign(key, val string) bool {
	r := n.r
	switch key {
	case "READY":
		if val == "1" {
			r.markReady("notify")
		}
	case "WATCHDOG":
		if val != "1" {
			return false
		}
		supervisor.Heartbeat(r.ctx)
	case "STATUS":
		r.plog.Info("notify: status", "status", val)
	case "STOPPING", "RELOADING", "MAINPID", "ERRNO", "BUSERROR", "MONOTONIC_USEC", "EXTEND_TIMEOUT_USEC":
		r.plog.Debug("notify", "key", key, "value", val)
	default:
		if r.h != nil && r.h.notify != nil {
			return r.h.notify(key, val)
		}
	}
	return true
}

func (n *notifier) bad(line []byte) {
	r := n.r
	if len(line) > 80 {
		line = line[:80]
	}
	r.plog.Debug("notify: malformed line ignored", "line", string(line))
	if r.h != nil && r.h.malformed != nil {
		r.h.malformed()
	}
}

// close stops the reader, waits for it, and removes the socket. It may be
// called more than once.
func (n *notifier) close() {
	n.once.Do(func() {
		n.conn.Close()
		if n.done != nil {
			<-n.done
		}
		os.RemoveAll(n.dir)
	})
}
