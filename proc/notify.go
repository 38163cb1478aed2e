//go:build unix

package proc

import (
	"bytes"
	"errors"
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

func newNotifier(r *run) (*notifier, error) {
	dir, err := os.MkdirTemp("", "arbor-notify-")
	if err != nil {
		return nil, err
	}
	addr := filepath.Join(dir, "notify.sock")
	if len(addr) > maxSockPath {
		// A long TMPDIR: fall back to an abstract socket, named after the
		// private directory so that it is unique.
		addr = "@" + dir
		if len(addr) > maxSockPath {
			os.Remove(dir)
			return nil, errors.New("temporary directory path too long for a socket")
		}
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return &notifier{r: r, dir: dir, addr: addr, conn: conn}, nil
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
func (n *notifier) handle(msg []byte) {
	r := n.r
	for line := range bytes.SplitSeq(msg, []byte{'\n'}) {
		key, val, ok := bytes.Cut(line, []byte{'='})
		if !ok {
			continue
		}
		switch string(key) {
		case "READY":
			if string(val) == "1" {
				r.markReady("notify")
			}
		case "WATCHDOG":
			if string(val) == "1" {
				supervisor.Heartbeat(r.ctx)
			} else {
				r.plog.Warn("notify: unsupported WATCHDOG value", "value", string(val))
			}
		case "STATUS":
			r.plog.Info("notify: status", "status", string(val))
		case "STOPPING":
			if string(val) == "1" {
				r.plog.Debug("notify: stopping")
			}
		}
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
