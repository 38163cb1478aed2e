//go:build linux

package proc_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// helper and httpWorker are the paths of testdata/helper and
// testdata/httpworker, built by TestMain.
var helper, httpWorker string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "proc-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helper = filepath.Join(dir, "helper")
	httpWorker = filepath.Join(dir, "httpworker")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	build := exec.Command(gobin, "build", "-o", dir, "./testdata/helper", "./testdata/httpworker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the test helpers:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// alive reports whether pid names a process that is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	state := b[i+2]
	return state != 'Z' && state != 'X'
}

// waitDead fails the test unless pid is dead (or a zombie) within d. Death
// by SIGKILL is asynchronous, so this polls with a deadline.
func waitDead(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive after %v", pid, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lines is an io.Writer that records the lines written to it and lets a
// test wait for one.
type lines struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []string
	times []time.Time
	cond  chan struct{} // closed and replaced on every new line
}

func newLines() *lines { return &lines{cond: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.Reset()
			l.buf.WriteString(line)
			break
		}
		l.lines = append(l.lines, strings.TrimSuffix(line, "\n"))
		l.times = append(l.times, time.Now())
	}
	close(l.cond)
	l.cond = make(chan struct{})
	return len(p), nil
}

// wait returns the first line with the prefix and when it was written.
func (l *lines) wait(t *testing.T, prefix string) (string, time.Time) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		for i, s := range l.lines {
			if strings.HasPrefix(s, prefix) {
				at := l.times[i]
				l.mu.Unlock()
				return s, at
			}
		}
		c := l.cond
		l.mu.Unlock()
		select {
		case <-c:
		case <-timeout:
			t.Fatalf("no line starting with %q; got %q", prefix, l.all())
		}
	}
}

// waitPid waits for a line holding only a number.
func (l *lines) waitPid(t *testing.T) int {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		for _, s := range l.lines {
			if n, err := strconv.Atoi(s); err == nil {
				l.mu.Unlock()
				return n
			}
		}
		c := l.cond
		l.mu.Unlock()
		select {
		case <-c:
		case <-timeout:
			t.Fatalf("no pid line; got %q", l.all())
		}
	}
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// readPid reads a pid line from r.
func readPid(t *testing.T, r *bufio.Reader) int {
	t.Helper()
	s, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading pid: %v (%q)", err, s)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("reading pid: %v", err)
	}
	return pid
}

// runAsync runs f in a goroutine and returns a channel for its result.
func runAsync(f func() error) <-chan error {
	c := make(chan error, 1)
	go func() { c <- f() }()
	return c
}

// result waits for an async result with a generous bound.
func result(t *testing.T, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}
