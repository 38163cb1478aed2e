// Package proc runs OS processes as children of a supervision tree.
//
// A Process describes a program to run; its Run method starts one fresh
// process per call and waits for it, so it can serve as a supervisor.Spec's
// Run and every restart starts a new process:
//
//	p := proc.Command("worker", "--port", "8080")
//	p.Logger = logger
//	p.Ready = proc.ReadyOnTCP("127.0.0.1:8080")
//	tree, err := supervisor.New(supervisor.WithChildren(p.Spec("worker")))
//
// The package targets Unix and gives its strongest guarantees on Linux.
//
// # Process groups and stopping
//
// Every process starts in a process group of its own (its pid is the group
// id). When Run's context is cancelled, Run sends StopSignal (default
// SIGTERM) to the whole group, waits up to Grace (default 5s), then sends
// SIGKILL to the whole group. Escalation is a timer, not a goroutine. Grace
// supervisor.Infinity waits as long as the group takes and never sends
// SIGKILL; to kill at once, set StopSignal to SIGKILL.
//
// When the leader (the process Run started) exits during a stop, the rest
// of its group keeps the rest of the grace period: Run waits until no other
// member is alive, or until Grace runs out and then sends SIGKILL to the
// group. Meanwhile the leader is left unreaped (a zombie), so its pid, which
// is the group id, cannot be reused by an unrelated process; on Linux Run
// learns that the group is empty by scanning /proc (one scan every 10ms for
// all groups being waited on; without a readable /proc it waits for the end
// of Grace; elsewhere the rest of the group is killed
// when the leader exits, as below). When the leader exits by itself (no stop in
// progress), Run sends SIGKILL to what is left of its group at once, before
// it reaps the leader: a shell script's background jobs and a worker's
// forgotten helpers die with it. A program that wants helpers to outlive it
// must move them to another group or session, and then they are its
// business.
//
// Run returns only once the leader has been reaped and its output drained.
// Processes of the group are dead by then in the sense that matters: SIGKILL
// has been queued for each of them and none will execute another instruction;
// their reaping belongs to their new parent (init or a subreaper), since this
// package never reaps processes it did not start.
//
// Output pipes are closed by os/exec's Cmd.WaitDelay: a process outside the
// group that still holds the leader's stdout or stderr open (a daemon that
// called setsid) delays Run's return by at most one second after the leader's
// exit, and is then left alone.
//
// # No orphans, and no thread per process
//
// On Linux each process is started with Pdeathsig set to SIGKILL. The
// kernel sends the parent-death signal when the thread that forked exits
// (not the process), so every process is started from one goroutine locked
// to its OS thread, the forker, which keeps that thread as long as any
// process it started has not been reaped (it ends, with its thread, when
// the last one is; the next start makes a new one). If the supervising
// program dies, even by SIGKILL, the leader is killed by the kernel.
//
// A running process holds no OS thread: Run waits for its exit on a pidfd
// (pidfd_open) through the Go runtime's poller, then reaps it with
// exec.Cmd.Wait, which no longer blocks. Thousands of processes under one
// program therefore cost goroutines, not threads, and stay clear of the
// runtime's limit of 10,000 threads.
//
// What remains possible: Pdeathsig covers only the leader. Its own children
// survive the supervisor's sudden death (they are reparented, not killed),
// and so does anything that left the process group (setsid, setpgid). To
// contain those, run the supervisor in its own cgroup (a systemd unit with
// KillMode=control-group, a container) or PID namespace, have the helper set
// its own children's parent-death signal, or make the supervisor a child
// subreaper (prctl PR_SET_CHILD_SUBREAPER) with a reaper of its own. None of
// this is needed for orderly shutdowns, which kill the whole group.
//
// # No zombies, no global reaper
//
// Each process is reaped by its own exec.Cmd.Wait. The package never calls
// wait4(-1) or otherwise reaps processes behind os/exec's back; on Linux it
// only observes the leader's exit with waitid(P_PIDFD, WNOWAIT), which
// leaves the process for Wait to reap.
//
// # Results
//
// Run returns nil when the process exits with status 0, and an error that
// errors.As matches *exec.ExitError when it exits with another status or is
// killed by a signal; the message says which ("exit status 3", "signal:
// killed"). A process that cannot be started (binary not found, permission
// denied) yields an error naming the command. When Run stopped the process
// because its context was done, it returns ctx.Err(), whatever the exit
// status: to a supervisor.Tree that is a shutdown, never a failure.
//
// # Output
//
// A nil Stdout or Stderr sends each line the process writes there to
// Process.Logger at level Info, with attributes child, pid and stream
// ("stdout" or "stderr"). Lines longer than 64 KiB are split into 64 KiB
// records; nothing is buffered without bound. With a nil Logger output goes
// to /dev/null (unless readiness needs to read it).
//
// # Readiness and watchdog
//
// Invalid settings (a nil regular expression for ReadyOnOutput, a negative
// Grace other than supervisor.Infinity, ...) are reported by Validate, which
// Run calls before it starts anything.
//
// Process.Ready says when a process counts as started, for
// supervisor.Spec.WaitReady: at start (the default), when a line of its output
// matches a regular expression, when a TCP address accepts connections, or
// when it sends READY=1 by the systemd notify protocol. Under the notify
// protocol (ReadyOnNotify, or a positive Process.Watchdog) every WATCHDOG=1
// datagram calls supervisor.Heartbeat, so the process's own heartbeat feeds
// the tree's watchdog.
//
// # Sockets kept across restarts
//
// Listen opens a listening socket that belongs to the code that builds the
// tree, not to any child, so that a crashed or restarting child never turns
// into "connection refused": connections wait in the socket's backlog until
// the next incarnation, or a sibling, accepts them. A Process receives its
// Sockets by systemd socket activation: file descriptors 3, 4, ... with
// LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID, so any program that supports
// socket activation (sd_listen_fds, Go's coreos/go-systemd activation
// package, gunicorn, uvicorn, ...) works unchanged.
//
// LISTEN_PID must hold the process's own pid, which the supervisor learns
// only after the fork, and os/exec offers no hook between fork and exec.
// Run therefore starts such a process through /bin/sh, which sets
// LISTEN_PID=$$ and execs the program in place (same pid, same process
// group, same Pdeathsig): the program sees its path as argv[0]. This is
// what systemd-socket-activate does in C between its fork and exec.
//
// A goroutine child calls Socket.Listener(ctx) for a listener of its own on
// the same socket, whose Accept returns net.ErrClosed once ctx is done:
// restarting the child never closes the socket.
//
// # Pools
//
// Pool runs N identical worker processes on the pool's sockets, in the
// manner of gunicorn, unicorn, php-fpm or POE::Component::Daemon: static or
// dynamic size (by idle workers, from min/max spare, start and max
// counts), recycling after a number of requests or an age (with jitter),
// babysitting of workers busy for too long, a scoreboard (Workers), scaling
// by API (Scale), and a zero-downtime rolling reload (Reload, Replace) that
// starts each replacement and waits for its readiness before it stops the
// worker it replaces. Workers report their state with notify messages (see
// Pool). A worker that finishes its requests on StopSignal loses none: its
// socket stays open in the pool, and what it has not accepted goes to its
// siblings. (Go's http.Server.Shutdown drops a request that it finishes
// reading after Shutdown began; a Go worker should close its listener,
// disable keep-alives and wait for its connections instead, as
// examples/prefork does.)
package proc
