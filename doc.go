// Package supervisor runs goroutines as a supervision tree, with the
// semantics of Erlang/OTP's supervisor: ordered child specs with restart
// types (Permanent, Transient, Temporary), four strategies (OneForOne,
// OneForAll, RestForOne, SimpleOneForOne), a sliding-window restart
// intensity, per-child shutdown limits, nested trees, and Add, Terminate,
// Restart and Delete at run time. Beyond Erlang it offers readiness (an
// ordered start that waits for each child to call Ready), restart backoff,
// heartbeat watchdogs, child-decided outcomes (ErrDoNotRestart,
// ErrStopTree), structured events with any number of hooks, slog records,
// and a whole-tree Snapshot for operators.
//
// # Design
//
// A running tree is one event loop, which owns every piece of tree state,
// so nothing in the package takes a lock on it while the tree runs
// (Tree.mu only hands the state between Run and the calls made while the
// tree is stopped). Everything reaches the loop through one inbox, a
// lock-free stack pushed with one CAS and served in batches (inbox.go). The
// loop is a role, not a goroutine: whoever holds it (one atomic flag)
// serves the inbox, and it is held by one goroutine at a time. The
// goroutine that called Run holds it for the initial start and when it is
// woken; a caller holds it for its own call (flat combining: a call that
// finds the loop idle does its O(1) bookkeeping itself, with no hand-off to
// another goroutine), and a caller waiting for its answer offers to serve
// the next report, which most likely holds that answer. Whoever holds the
// loop serves everything pushed before it lets go, and looks at the inbox
// again after letting go, so no entry is ever left behind; a caller serves
// at most a few batches and then wakes Run's goroutine to take over:
//
//   - children: each child runs in its own goroutine and reports its exit,
//     its Ready call and, in ordered starts, its entering Run. Reports carry
//     the child's incarnation (one per start), so a late report from an
//     abandoned, restarted or deleted child is recognised and dropped. A
//     child's report wakes a waiting caller or Run's goroutine, with one
//     exception: a child that returned by itself and that the tree will
//     restart at once (OneForOne or SimpleOneForOne, no backoff, a restart
//     type that calls for it) serves its own exit when the loop is idle, and
//     runs the new incarnation on the same goroutine: a restart makes no
//     goroutine and wakes no one (after a panic the goroutine ends, and the
//     restart makes a new one). (Otherwise children do not serve: their
//     goroutines start with small stacks, which serving would grow; a child
//     that restarts on its goroutine pays that once.) Whoever started it, a
//     child's goroutine carries the runtime/pprof labels of Run's context,
//     set again for each incarnation, not those of the goroutine that
//     served its start;
//   - callers: each API call is a message of its own type with its own
//     reply channel (supervisor.go), carrying its inbox entry so a call
//     allocates nothing of its own; the loop answers it at once, or
//     registers it as a waiter on an incarnation. Calls that arrive while
//     the loop is held are served together by its holder. AddAsync, like a
//     go statement, only pushes its child and wakes someone to serve it.
//     When Run ends the loop closes the inbox and answers what was left in
//     it; later calls go to the stopped tree;
//   - time and cancellation: every deadline (backoff delays, watchdog
//     checks, a group restart's delay, and the head of one FIFO of Shutdown
//     limits per distinct Shutdown) sits in one heap behind one timer whose
//     firing, like Run's context being cancelled, is one more inbox entry
//     (deadlines.go). Deadline arithmetic saturates, so a huge duration
//     means "never".
//
// The loop never blocks on a child, and nothing scans all children per
// event: an exit, an Add, a Delete and a one-for-one restart cost O(1).
// Children are listed in start order (roster.go) and found by name in O(1):
// names of the generated form by their number, in a paged window
// (numindex.go), other names in a map. What few children need (backoff and
// watchdog timers, the Watchdog and subtree of its spec, the record of an
// exit the child outlived) lives beside the record, so the record of a
// child removed when it exits stays at 96 bytes, as does its incarnation.
//
// # The child's phase
//
// Where a child stands is one field, its phase, written only by loop.enter,
// which does all the bookkeeping of leaving one phase and entering the next
// (the live and significant counts, the incarnation, the restart timer, the
// watchdog, the Shutdown limit, the roster). The state callers see
// (ChildState) is derived from it:
//
//	phase       live  ChildState   meaning
//	stopped     no    Stopped      spec kept, not running
//	starting    yes   Starting*    start not complete: no Ready yet (WaitReady),
//	                               or its goroutine has not entered Run (ordered start)
//	running     yes   Running      started
//	stopping    yes   Stopping     cancelled by the tree: its exit is a shutdown
//	failing     yes   Stopping     cancelled by its watchdog: its exit is a failure
//	backoff     no    Restarting   an automatic restart waits for its delay
//	grouped     no    Restarting   a group restart will start it
//	deferred    no    Restarting   its failure waits for the group restart in progress
//	gone        no    -            removed from the tree
//
//	* Running for children without WaitReady.
//
// The transitions:
//
//	stopped/grouped ──start──▶ starting ──Ready or entered Run──▶ running
//	starting/running ──watchdog──▶ failing
//	starting/running/failing ──Terminate, Restart, Delete, group restart, shutdown──▶ stopping
//	stopping ──returned or abandoned──▶ where "after" says: stopped, gone,
//	                                     starting again (Restart), or grouped
//	starting/running/failing ──returned by itself──▶ a restart decision:
//	    backoff, grouped or deferred, started again at once, stopped, or gone
//
// What follows a stop is the child's "after" field (keep, remove, restart,
// group), set by whoever stopped it. An incarnation keeps a list of waiters
// (API calls and plans) woken when it has started or has ended; a waiter
// that waits for a start and sees an end instead learns why. So a stop that
// arrives before a start completes can never strand a waiter.
//
// Ordered work, such as the initial start, a OneForAll or RestForOne group
// restart or the reverse-order shutdown, is a plan (plan.go): stop members
// one after the other, wait out the group's backoff delay, record the
// restart, start members in order, each once the previous has started. A
// plan waits on incarnations like any API call. Pure policies without the
// loop live apart: which children a strategy restarts (strategy.go), what
// an exit leads to and the backoff delay (restart.go), the intensity window
// (intensity.go).
//
// Observability never runs on the loop: events go through a bounded buffer
// to one observer goroutine per Run that calls every hook (WithHook adds
// up) and writes slog records (WithLogger). Hook calls of one Tree never
// overlap, even across Runs; Run waits up to one second for its events to
// be delivered, then detaches the observer, which delivers nothing more.
//
// # Choices where the Erlang model is silent or differs
//
//   - Group restarts start every child of the group that the tree holds,
//     including children that were Stopped (as OTP does). A member
//     terminated or deleted by a call during the restart cuts it short
//     there, whether the restart had started it again already or not: the
//     members after it that were not started stay Stopped, those started
//     stay running, and one whose start is under way (a WaitReady member
//     not yet Ready) completes it. A member being stopped by a call when
//     the restart begins is left to that call.
//   - A failure that arrives while a OneForAll or RestForOne group restart is
//     in progress is handled once that restart completes, as an OTP
//     supervisor would after its restart returns; a failure of the child the
//     restart is waiting on supersedes it with a new group restart. A
//     member's own exit while the restart is about to stop it is absorbed
//     into that restart (a Temporary member is removed at once).
//   - Run may be called again after it returned (a parent restarting a
//     subtree) and starts afresh from the specs given to New, plus specs
//     added while the tree was stopped; Children shows what the last Run
//     left until the tree is changed or run again.
//   - Add during a shutdown returns ErrNotRunning. An Add whose WaitReady
//     child is stopped (by Terminate or Delete) before Ready fails with
//     ErrStartFailed and keeps nothing: Add's answer and the tree agree.
//   - ErrDoNotRestart returned before Ready is OTP's ignore: the spec is kept
//     Stopped (removed if Temporary or in a SimpleOneForOne tree), and the
//     Add, Restart or initial start that launched it succeeds. It is not an
//     exit: a Significant child that declines so triggers no auto shutdown.
//   - A WaitReady child that returns before Ready during an automatic
//     restart has failed, whatever Run returned (nil included): the failure
//     is abnormal, so a Transient child is restarted again.
//   - Restart on a Temporary child stops and starts it again and keeps it.
//   - The intensity window is closed, as OTP's: a restart made exactly one
//     period after another still counts with it. Its memory is the
//     restarts inside it, never maxRestarts up front. A group restart
//     without a backoff delay is recorded when it is decided, before its
//     members are stopped (as OTP records it); with a delay, when it
//     happens, after the delay.
//   - A tree started as a child with WaitReady (Tree.Spec) calls Ready once
//     its own initial start has completed.
//   - Start order is exact for WaitReady children (the next starts after
//     Ready). For the others, an ordered start (Run's, or a group
//     restart's) waits until the child's goroutine is about to call Run
//     before starting the next one, so goroutines begin in start order;
//     their first side effects may still interleave. Add and Restart return
//     once the child's goroutine has been started.
//   - AddAsync (beyond OTP and the spec) is Add without the wait, for
//     SimpleOneForOne trees: the caller generates the name and makes the
//     child's record, pushes it onto the loop's inbox and returns, so the
//     child is registered before any later call of that caller (or of a
//     goroutine it handed the name to) is served. A name given to Add that
//     has the generated form and was drawn by an AddAsync still on its way
//     is refused as a duplicate; generated names never take given names.
//     It needs an empty Name and no WaitReady; with WithMaxChildren it
//     waits for the loop's answer, to keep the limit exact.
//   - A Shutdown or Watchdog too large to add to the clock (such as
//     math.MaxInt64) means no limit, as Infinity does.
//   - A child's context is cancelled once its Run has returned, however it
//     returned, as net/http cancels a request's context when its handler
//     returns: goroutines the child started with it stop, and do not pile
//     up over restarts.
//   - An incarnation restarted at once may run on the goroutine of the one
//     before it, as requests on one connection share a goroutine in
//     net/http. So a child that locks its goroutine to its OS thread
//     (runtime.LockOSThread) must unlock it before it returns: a goroutine
//     that ends locked takes its thread with it, but one that goes on to run
//     the child's next incarnation keeps the thread, and whatever the child
//     changed on it.
//   - A child must not call Terminate, Restart or Delete on itself: the call
//     waits for the child to stop, so it returns only when the child's
//     Shutdown limit abandons it.
package supervisor
