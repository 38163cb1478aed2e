//go:build linux

// This file holds the worker side of the example: an HTTP server on the
// socket passed by socket activation, reporting its state to the pool.

package main

import (
	"errors"
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

// serveWorker serves HTTP on the inherited socket until SIGTERM, then
// finishes the requests it accepted and returns.
func serveWorker() error {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) || os.Getenv("LISTEN_FDS") != "1" {
		return errors.New("no socket passed by socket activation (LISTEN_PID, LISTEN_FDS)")
	}
	ln, err := net.FileListener(os.NewFile(3, "http"))
	if err != nil {
		return err
	}
	n := dialNotify()
	h := &handler{n: n, started: time.Now()}
	cl := &countingListener{Listener: ln}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: cl.state}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(cl) }()
	n.send("READY=1\nARBOR_STATE=idle")
	select {
	case err := <-errc:
		return err
	case <-term:
	}
	// Drain: stop accepting (what is still in the backlog goes to the
	// other workers), close connections after their current response, and
	// wait for them. (http.Server.Shutdown would drop a request it
	// finished reading after Shutdown began.)
	n.send("STOPPING=1")
	cl.Listener.Close()
	<-errc
	srv.SetKeepAlivesEnabled(false)
	for cl.open() > 0 {
		time.Sleep(time.Millisecond)
	}
	return nil
}

// handler answers which worker served the request and reports its state.
type handler struct {
	n       *notifier
	started time.Time

	mu       sync.Mutex
	inflight int
	served   uint64
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.inflight++; h.inflight == 1 {
		h.n.send("ARBOR_STATE=busy")
	}
	h.mu.Unlock()
	if d, err := time.ParseDuration(r.URL.Query().Get("sleep")); err == nil && d <= time.Minute {
		time.Sleep(d)
	}
	fmt.Fprintf(w, "hello from worker pid %d (up %v)\n", os.Getpid(), time.Since(h.started).Round(time.Millisecond))
	h.mu.Lock()
	h.served++
	if h.inflight--; h.inflight == 0 {
		h.n.send("ARBOR_STATE=idle\nARBOR_REQUESTS=" + strconv.FormatUint(h.served, 10))
	}
	h.mu.Unlock()
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

// notifier sends datagrams to NOTIFY_SOCKET.
type notifier struct{ conn *net.UnixConn }

func dialNotify() *notifier {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err != nil {
		return &notifier{}
	}
	return &notifier{conn: c}
}

func (n *notifier) send(msg string) {
	if n.conn != nil {
		_, _ = n.conn.Write([]byte(msg))
	}
}
