// run.go: running a tree under systemd: READY=1 after the initial start,
// STATUS= on changes, WATCHDOG=1 while the tree is healthy, STOPPING=1 when
// shutdown begins.

package systemd

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/arbor-go/supervisor"
)

// tree is what Run needs of a *supervisor.Tree.
type tree interface {
	Start(ctx context.Context) <-chan error
	Snapshot(ctx context.Context) (supervisor.TreeSnapshot, error)
}

// Hook prompts a new status line at once; pass it to supervisor.WithHook on
// the root tree (and on subtrees, if you like). Without it the status line
// is recomputed every status interval. It never blocks.
func (n *Notifier) Hook(supervisor.Event) {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Run runs t until ctx is cancelled or t stops by itself, and returns what
// t's Run returned. It notifies READY=1 once the initial start is done,
// STATUS= on changes, WATCHDOG=1 while t is healthy, and STOPPING=1 when
// shutdown begins. Without a notify socket it only runs t.
func (n *Notifier) Run(ctx context.Context, t *supervisor.Tree) error {
	if t == nil {
		return ErrNilTree
	}
	return n.run(ctx, t)
}

func (n *Notifier) run(ctx context.Context, t tree) error {
	errc := t.Start(ctx)
	r := &runner{n: n, t: t}
	// Start returns when the initial start is done, or when Run is about to
	// return (its error may not be in errc yet): only a running tree is ready.
	if s, err := r.look(ctx); err == nil && s.State != supervisor.TreeStateRunning {
		r.stopping(ctx)
		return <-errc
	}
	r.ready(ctx)

	var ping <-chan time.Time
	if n.watchdog > 0 {
		tk := time.NewTicker(n.watchdog / 2)
		defer tk.Stop()
		ping = tk.C
		r.pet(ctx)
	}
	status := time.NewTicker(n.interval)
	defer status.Stop()
	done, cancelled := ctx.Done(), false
	for {
		select {
		case err := <-errc:
			if !cancelled { // it stopped by itself
				r.stopping(ctx)
			}
			return err
		case <-done:
			done, cancelled = nil, true
			r.stopping(ctx)
		case <-ping:
			r.pet(ctx)
		case <-status.C:
			r.status(ctx)
		case <-n.kick:
			r.status(ctx)
		}
	}
}

// runner is the state of one Run.
type runner struct {
	n    *Notifier
	t    tree
	last string // the last status line sent
}

// look takes a snapshot bounded by the notifier's timeout. ctx may already
// be cancelled (shutdown): the snapshot must still be taken.
func (r *runner) look(ctx context.Context) (supervisor.TreeSnapshot, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.n.timeout)
	defer cancel()
	return r.t.Snapshot(sctx)
}

func (r *runner) ready(ctx context.Context) {
	s, err := r.look(ctx)
	r.last = Summary(s, err)
	r.n.notify("READY=1", "STATUS="+r.last)
}

func (r *runner) stopping(ctx context.Context) {
	s, err := r.look(ctx)
	r.last = "shutting down; " + Summary(s, err)
	r.n.notify("STOPPING=1", "STATUS="+r.last)
}

func (r *runner) status(ctx context.Context) {
	s, err := r.look(ctx)
	if line := Summary(s, err); line != r.last {
		r.last = line
		r.n.notify("STATUS=" + line)
	}
}

// pet sends WATCHDOG=1 if the tree is healthy, else logs why not.
func (r *runner) pet(ctx context.Context) {
	s, err := r.look(ctx)
	if why := Unhealthy(s, err); why != "" {
		r.n.log.Warn("systemd: watchdog ping withheld", "reason", why)
		if line := Summary(s, err); line != r.last {
			r.last = line
			r.n.notify("STATUS=" + line)
		}
		return
	}
	r.n.notify("WATCHDOG=1")
}

// Unhealthy says why the watchdog must not be petted for this snapshot (err
// is Snapshot's error), or "" when it may: the root answered, every subtree
// answered, and no watched child is overdue.
func Unhealthy(s supervisor.TreeSnapshot, err error) string {
	if err != nil {
		return "tree " + s.Name + " did not answer: " + err.Error()
	}
	var why []string
	walk(&s, s.Name, func(path string, t *supervisor.TreeSnapshot, c *supervisor.ChildSnapshot) {
		switch {
		case c.Tree != nil && c.Tree.State == supervisor.TreeStateUnresponsive:
			why = append(why, "tree "+path+" did not answer")
		case c.Overdue:
			why = append(why, "child "+path+" missed its heartbeat")
		}
	})
	return strings.Join(why, "; ")
}

// walk calls f for every child of s and its subtrees, with its path.
func walk(s *supervisor.TreeSnapshot, path string, f func(string, *supervisor.TreeSnapshot, *supervisor.ChildSnapshot)) {
	for i := range s.Children {
		c := &s.Children[i]
		p := path + "/" + c.Name
		f(p, s, c)
		if c.Tree != nil {
			walk(c.Tree, p, f)
		}
	}
}

// Summary is the one-line status of a tree: its state, its children by state
// over the whole tree, and the root's restart intensity in use, for example
// "app running: 7 children (6 running, 1 restarting); 1/10 restarts in 1m0s".
func Summary(s supervisor.TreeSnapshot, err error) string {
	if err != nil {
		return "tree " + s.Name + " did not answer: " + err.Error()
	}
	var by [8]int
	total := 0
	walk(&s, s.Name, func(_ string, _ *supervisor.TreeSnapshot, c *supervisor.ChildSnapshot) {
		total++
		if int(c.State) < len(by) {
			by[c.State]++
		}
	})
	var b strings.Builder
	b.WriteString(s.Name + " " + s.State.String() + ": " + strconv.Itoa(total) + " children")
	sep := " ("
	for st, k := range by {
		if k > 0 {
			b.WriteString(sep + strconv.Itoa(k) + " " + supervisor.ChildState(st).String())
			sep = ", "
		}
	}
	if sep == ", " {
		b.WriteString(")")
	}
	b.WriteString("; " + strconv.Itoa(s.Restarts) + "/" + strconv.Itoa(s.MaxRestarts) + " restarts in " + s.Period.String())
	if why := Unhealthy(s, nil); why != "" {
		b.WriteString("; " + why)
	}
	return b.String()
}
