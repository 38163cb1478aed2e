//go:build unix

// This file holds Socket, a listening socket owned by the supervisor and
// lent to its children: to processes by systemd socket activation, to
// goroutines as a net.Listener whose Accept ends with the child's context.

package proc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Socket is a listening socket that outlives the children it is lent to.
// Whoever calls Listen owns it (typically the code that builds the tree,
// before the tree runs) and closes it when the tree is done: a crashed or
// restarting child never turns into "connection refused", since the
// socket, its address and its backlog stay while the next incarnation or a
// sibling accepts from it. Process children receive it by Process.Sockets;
// goroutine children call Listener.
//
// The socket is in non-blocking mode, and that mode is shared by every
// process holding it: workers must accept as event-loop servers do
// (Go's net.FileListener, libuv, nginx, ... all do). A worker that switches
// it to blocking mode switches it for everyone, the supervisor included.
type Socket struct {
	name string
	ln   net.Listener
	file *os.File // a duplicate of ln's descriptor, passed to processes

	mu     sync.Mutex
	closed bool
}

// Listen opens a listening socket as net.Listen does ("tcp", "tcp4",
// "tcp6" or "unix"). name is the socket's name in LISTEN_FDNAMES: at most
// 255 characters, none of them ':' or a control character; empty means
// "unknown", as systemd says. The error names the address.
func Listen(name, network, address string) (*Socket, error) {
	if err := checkFDName(name); err != nil {
		return nil, fmt.Errorf("proc: socket %q (%s %s): %w", name, network, address, err)
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("proc: socket %q: cannot listen on %s %s: %w", name, network, address, err)
	}
	f, err := listenerFile(ln)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("proc: socket %q (%s %s): %w", name, network, address, err)
	}
	if name == "" {
		name = "unknown"
	}
	return &Socket{name: name, ln: ln, file: f}, nil
}

func checkFDName(name string) error {
	if len(name) > 255 {
		return errors.New("name longer than 255 characters")
	}
	for _, c := range name {
		if c == ':' || c < ' ' || c == 0x7f {
			return fmt.Errorf("name holds %q", c)
		}
	}
	return nil
}

// listenerFile returns a duplicate of ln's descriptor for the processes.
// It is made with os.NewFile, not with the listener's File method: os/exec
// calls Fd on every file it passes, and Fd on a File made by File switches
// the descriptor to blocking mode, which the socket shares with every
// duplicate: a goroutine child's Accept would then block its thread and not
// return when the child's context ends. Fd on a File from NewFile leaves
// the mode alone.
func listenerFile(ln net.Listener) (*os.File, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("unsupported listener %T", ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var dup int
	var dupErr error
	err = rc.Control(func(fd uintptr) {
		dup, dupErr = fcntlDupCloexec(int(fd))
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(dup), ln.Addr().String()), nil
}

// fcntlDupCloexec duplicates fd, close-on-exec (os/exec clears the flag
// on the copies it passes to a process).
func fcntlDupCloexec(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// Name returns the socket's name in LISTEN_FDNAMES.
func (s *Socket) Name() string { return s.name }

// Addr returns the address the socket listens on (with the actual port
// when Listen was given port 0).
func (s *Socket) Addr() net.Addr { return s.ln.Addr() }

// Close closes the socket. Processes that hold a copy keep it open until
// they exit; connections still in the backlog then are refused.
func (s *Socket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	s.file.Close()
	return err
}

// Listener returns a listener on the socket for a goroutine child: Accept
// takes connections from the shared backlog until ctx is done, and then
// returns an error matching net.ErrClosed, as it does after Close. Closing
// the returned listener (or the end of ctx) leaves the socket open for the
// next incarnation and the siblings.
func (s *Socket) Listener(ctx context.Context) (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("proc: socket %q: %w", s.name, net.ErrClosed)
	}
	ln, err := net.FileListener(s.file) // a descriptor of its own
	if err != nil {
		return nil, fmt.Errorf("proc: socket %q: %w", s.name, err)
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	return &childListener{Listener: ln, stop: stop}, nil
}

// childListener is a goroutine child's view of a Socket.
type childListener struct {
	net.Listener
	stop func() bool
}

func (l *childListener) Close() error {
	l.stop()
	return l.Listener.Close()
}

// listenWrapper sets LISTEN_PID to the pid of the process itself: the
// shell's pid is the program's, since it execs the program. (The variable
// must hold the pid of the process, which the supervisor learns only after
// the fork; os/exec offers no hook between fork and exec.)
const listenWrapper = `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`

// shell is the program used for listenWrapper.
var shell = "/bin/sh"

// activation arranges for the process to receive r.p.Sockets as fds 3, 4,
// ... with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID: cmd runs the program
// through listenWrapper. The program's argv[0] becomes its path.
func (r *run) activation(cmd *exec.Cmd) error {
	path := r.p.Path
	if cmd.Err != nil {
		return fmt.Errorf("proc: %s: cannot start %q: %w", r.name, path, cmd.Err)
	}
	path = cmd.Path // resolved in the supervisor's PATH
	names := make([]string, len(r.p.Sockets))
	files := make([]*os.File, len(r.p.Sockets))
	for i, s := range r.p.Sockets {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return fmt.Errorf("proc: %s: socket %q (%s) is closed", r.name, s.name, s.Addr())
		}
		names[i], files[i] = s.name, s.file
	}
	args := cmd.Args[1:]
	cmd.Path = shell
	cmd.Args = append([]string{"sh", "-c", listenWrapper, path}, args...)
	cmd.ExtraFiles = files
	cmd.Env = []string{
		"LISTEN_FDS=" + strconv.Itoa(len(files)),
		"LISTEN_FDNAMES=" + strings.Join(names, ":"),
	}
	return nil
}
