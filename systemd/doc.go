// Package systemd makes a process that runs a supervision tree a good
// systemd citizen (Type=notify services), with the standard library only:
//
//   - READY=1 once the root tree's initial start is done (Tree.Start returned
//     with the tree running);
//   - STATUS= with a one-line summary of the whole tree whenever it changes
//     (shown by systemctl status);
//   - WATCHDOG=1 every half of WATCHDOG_USEC, but only while the root's loop
//     (and every subtree's) answers a snapshot and no watched child (one with
//     Spec.Watchdog) is overdue: a wedged tree stops petting the watchdog and
//     systemd restarts the service;
//   - STOPPING=1 when shutdown begins (the context is cancelled, or the tree
//     stops by itself).
//
// Without NOTIFY_SOCKET in the environment every notification is a no-op, so
// the same binary runs under systemd and elsewhere:
//
//	n, err := systemd.New()
//	if err != nil { ... } // a malformed NOTIFY_SOCKET or WATCHDOG_USEC
//	err = n.Run(ctx, root) // runs root like root.Run, and notifies
//
// A unit file for it:
//
//	[Service]
//	Type=notify
//	WatchdogSec=10s
//	ExecStart=/usr/local/bin/myservice
//
// NOTIFY_SOCKET may name a socket path ("/run/systemd/notify") or an abstract
// socket ("@name"). WATCHDOG_PID, when set to another process's pid, turns
// the watchdog off for this one, as sd_watchdog_enabled does.
package systemd
