// Command httpworker is a small HTTP worker for the pool tests and
// benchmarks of package proc, built by its TestMain.
//
// It serves on the socket it inherits by systemd socket activation
// (LISTEN_FDS, LISTEN_PID, fd 3), or on -listen ADDR when given. When
// NOTIFY_SOCKET is set it sends READY=1 once serving, and reports its state
// to the pool: ARBOR_STATE=busy while it handles requests, ARBOR_STATE=idle
// with ARBOR_REQUESTS=N when it has none left. On SIGTERM it stops
// accepting, finishes the requests in flight and exits 0.
//
// GET / answers its pid; GET /sleep?d=DURATION sleeps first; -serial
// handles one request at a time, as a pre-fork worker does; -startup D
// waits D before serving; -never-ready never sends READY=1; -garbage sends
// four malformed notify lines first; -quiet sends READY=1 and no state;
// -never-ready-once FILE: the worker that removes FILE never sends READY=1.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "", "address to listen on instead of the inherited socket")
	serial := flag.Bool("serial", false, "handle one request at a time")
	startup := flag.Duration("startup", 0, "wait before serving")
	neverReady := flag.Bool("never-ready", false, "never send READY=1")
	neverReadyOnce := flag.String("never-ready-once", "", "the one worker that removes this file never sends READY=1")
	quiet := flag.Bool("quiet", false, "send READY=1 only, no state reports")
	garbage := flag.Bool("garbage", false, "send four malformed notify lines before READY=1")
	flag.Parse()

	ln, err := listener(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpworker:", err)
		os.Exit(2)
	}
	time.Sleep(*startup)
	n := newNotifier()
	w := &worker{n: n, serial: *serial, quiet: *quiet}
	cl := &countingListener{Listener: ln}
	srv := &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second, ConnState: cl.state}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(cl) }()
	if *garbage {
		n.send("no-equals-sign\nARBOR_STATE=sleepy\nARBOR_REQUESTS=many\n=1")
	}
	if *neverReadyOnce != "" && os.Remove(*neverReadyOnce) == nil {
		*neverReady = true
	}
	if !*neverReady {
		n.send("READY=1\nARBOR_STATE=idle")
	}
	select {
	case <-stop:
		n.send("STOPPING=1")
		drain(srv, cl, errc)
		os.Exit(0)
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "httpworker:", err)
		os.Exit(1)
	}
}

// drain finishes the requests of every accepted connection and returns.
// It does not start with http.Server.Shutdown: a request that the server
// finishes reading after Shutdown began is dropped without a response (the
// connection is closed), which a client on a fresh connection sees as EOF.
// Instead it closes the listener (connections not yet accepted stay in the
// shared backlog, for the siblings), turns keep-alives off so that every
// connection closes after its current response, and waits for all of them.
func drain(srv *http.Server, cl *countingListener, errc <-chan error) {
	cl.Listener.Close()
	<-errc                          // the accept loop is over: no more connections
	srv.SetKeepAlivesEnabled(false) // also closes the idle ones
	deadline := time.Now().Add(30 * time.Second)
	for cl.open() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

func listener(addr string) (net.Listener, error) {
	if addr != "" {
		return net.Listen("tcp", addr)
	}
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return nil, fmt.Errorf("LISTEN_PID %q is not my pid %d", os.Getenv("LISTEN_PID"), os.Getpid())
	}
	if os.Getenv("LISTEN_FDS") != "1" {
		return nil, fmt.Errorf("LISTEN_FDS %q, want 1", os.Getenv("LISTEN_FDS"))
	}
	return net.FileListener(os.NewFile(3, "listener"))
}

// countingListener counts the connections accepted and not yet closed.
type countingListener struct {
	net.Listener
	accepted, closed atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

func (l *countingListener) state(_ net.Conn, s http.ConnState) {
	if s == http.StateClosed || s == http.StateHijacked {
		l.closed.Add(1)
	}
}

func (l *countingListener) open() int64 { return l.accepted.Load() - l.closed.Load() }

type worker struct {
	n      *notifier
	serial bool
	quiet  bool       // no state reports
	one    sync.Mutex // held while handling a request when serial

	mu       sync.Mutex
	inflight int
	served   uint64
}

func (w *worker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if w.serial {
		w.one.Lock()
		defer w.one.Unlock()
	}
	if w.quiet {
		fmt.Fprintln(rw, os.Getpid())
		return
	}
	w.mu.Lock()
	w.inflight++
	if w.inflight == 1 {
		w.n.send("ARBOR_STATE=busy")
	}
	w.mu.Unlock()
	if d, err := time.ParseDuration(r.URL.Query().Get("d")); err == nil {
		time.Sleep(d)
	}
	fmt.Fprintln(rw, os.Getpid())
	w.mu.Lock()
	w.inflight--
	w.served++
	if w.inflight == 0 {
		w.n.send("ARBOR_STATE=idle\nARBOR_REQUESTS=" + strconv.FormatUint(w.served, 10))
	}
	w.mu.Unlock()
}

// notifier sends datagrams to NOTIFY_SOCKET, if set.
type notifier struct{ conn *net.UnixConn }

func newNotifier() *notifier {
	sock := os.Getenv("NOTIFY_SOCKET")
	if sock == "" {
		return &notifier{}
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpworker: notify:", err)
		return &notifier{}
	}
	return &notifier{conn: c}
}

func (n *notifier) send(msg string) {
	if n.conn != nil {
		_, _ = n.conn.Write([]byte(msg))
	}
}
