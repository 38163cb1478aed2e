// Command helper is a test program for package proc, built by its TestMain.
// Its first argument selects a behaviour:
//
//	notify MARKER DELAY PINGS INTERVAL  print env, wait DELAY, touch MARKER,
//	                                    send READY=1, then PINGS WATCHDOG=1
//	                                    every INTERVAL, print "pings done",
//	                                    and sleep
//	listen ADDR DELAY MARKER            wait DELAY, touch MARKER, listen on
//	                                    ADDR and accept forever
//	escape SECONDS                      start "sleep SECONDS" in a session of
//	                                    its own holding stdout, print its pid,
//	                                    and exit 0
//	supervise                           run proc.Command("sh", ...) that
//	                                    prints the pid of a "sleep 1000" it
//	                                    execs, and block
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/arbor-go/supervisor/proc"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: helper MODE ...")
	}
	switch os.Args[1] {
	case "notify":
		notify(os.Args[2], duration(os.Args[3]), atoi(os.Args[4]), duration(os.Args[5]))
	case "listen":
		listen(os.Args[2], duration(os.Args[3]), os.Args[4])
	case "escape":
		cmd := exec.Command("sleep", os.Args[2])
		cmd.Stdout = os.Stdout
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			fail(err.Error())
		}
		fmt.Println(cmd.Process.Pid)
		os.Exit(0)
	case "supervise":
		p := proc.Command("sh", "-c", "echo $$; exec sleep 1000")
		started := make(chan struct{})
		p.Stdout = &firstLine{started: started}
		errc := make(chan error)
		go func() { errc <- p.Run(context.Background()) }()
		select {
		case <-started:
		case err := <-errc:
			fail(fmt.Sprint("child exited: ", err))
		}
		churnThreads()
		fmt.Println("churned")
		fail(fmt.Sprint("child exited: ", <-errc))
	default:
		fail("unknown mode " + os.Args[1])
	}
}

// firstLine copies to stdout and closes started after the first write.
type firstLine struct {
	started chan struct{}
	once    sync.Once
}

func (w *firstLine) Write(p []byte) (int, error) {
	n, err := os.Stdout.Write(p)
	w.once.Do(func() { close(w.started) })
	return n, err
}

// churnThreads makes the runtime terminate many OS threads: a goroutine that
// exits while locked to its thread takes the thread with it. A process
// started from one of those threads would receive its Pdeathsig.
func churnThreads() {
	for range 200 {
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			time.Sleep(time.Millisecond)
			close(done)
		}()
		<-done
	}
}

func notify(marker string, delay time.Duration, pings int, interval time.Duration) {
	sock := os.Getenv("NOTIFY_SOCKET")
	fmt.Printf("NOTIFY_SOCKET=%s\n", sock)
	fmt.Printf("WATCHDOG_USEC=%s\n", os.Getenv("WATCHDOG_USEC"))
	time.Sleep(delay)
	touch(marker)
	name := sock
	if len(name) > 0 && name[0] == '@' {
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		fail(err.Error())
	}
	send := func(msg string) {
		if _, err := conn.Write([]byte(msg)); err != nil {
			fail(err.Error())
		}
	}
	send("STATUS=starting\nREADY=1")
	fmt.Println("ready sent")
	for range pings {
		time.Sleep(interval)
		send("WATCHDOG=1")
		fmt.Println("ping")
	}
	fmt.Println("pings done")
	select {}
}

func listen(addr string, delay time.Duration, marker string) {
	time.Sleep(delay)
	touch(marker)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err.Error())
	}
	fmt.Println("listening")
	for {
		c, err := l.Accept()
		if err != nil {
			fail(err.Error())
		}
		c.Close()
	}
}

func touch(name string) {
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		fail(err.Error())
	}
}

func duration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		fail(err.Error())
	}
	return d
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(err.Error())
	}
	return n
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "helper:", msg)
	os.Exit(2)
}
