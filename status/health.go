// health.go: /livez and /readyz with Kubernetes' conventions: named checks,
// 200 "ok" or 503, ?verbose to list every check, ?exclude to skip one.

package status

import (
	"context"
	"net/http"
	"strings"

	"github.com/arbor-go/supervisor"
)

// check is one named health check over a snapshot.
type check struct {
	name string
	err  string // empty: passed
}

// Livez returns the liveness handler: it fails when the root tree's loop, or
// the loop of any subtree, does not answer a snapshot within the timeout
// (WithTimeout). Checks: "loop", "subtrees".
func Livez(src Snapshotter, opts ...Option) http.Handler {
	cfg := newConfig(opts)
	return healthHandler("livez", func(ctx context.Context) []check {
		s, err := snapshot(ctx, src, cfg.timeout)
		return liveChecks(s, err)
	})
}

// Readyz returns the readiness handler: it fails unless the root answers,
// its initial start is done and it runs ("loop", "started"), it has not given
// up ("restart-intensity"), and each child given to WithRequired is running
// ("required:<path>").
func Readyz(src Snapshotter, opts ...Option) http.Handler {
	cfg := newConfig(opts)
	return healthHandler("readyz", func(ctx context.Context) []check {
		s, err := snapshot(ctx, src, cfg.timeout)
		return readyChecks(s, err, cfg.required)
	})
}

func liveChecks(s supervisor.TreeSnapshot, err error) []check {
	loop := check{name: "loop"}
	if err != nil {
		loop.err = "the tree's loop did not answer: " + err.Error()
	}
	subs := check{name: "subtrees"}
	if err == nil {
		if bad := unresponsive(&s, s.Name, nil); len(bad) > 0 {
			subs.err = "no answer from " + strings.Join(bad, ", ")
		}
	}
	return []check{loop, subs}
}

// unresponsive lists the paths of the subtrees below s that did not answer.
func unresponsive(s *supervisor.TreeSnapshot, path string, acc []string) []string {
	for i := range s.Children {
		if t := s.Children[i].Tree; t != nil {
			p := path + "/" + s.Children[i].Name
			if t.State == supervisor.TreeStateUnresponsive {
				acc = append(acc, p)
				continue
			}
			acc = unresponsive(t, p, acc)
		}
	}
	return acc
}

func readyChecks(s supervisor.TreeSnapshot, err error, required []string) []check {
	cs := liveChecks(s, err)[:1]
	started := check{name: "started"}
	gaveUp := check{name: "restart-intensity"}
	switch {
	case err != nil:
		started.err = "unknown: the loop did not answer"
	case s.State == supervisor.TreeStateGaveUp:
		started.err = "tree " + s.Name + " gave up"
		gaveUp.err = "tree " + s.Name + " gave up: " + s.Err
	case s.State != supervisor.TreeStateRunning:
		started.err = "tree " + s.Name + " is " + s.State.String()
	}
	cs = append(cs, started, gaveUp)
	for _, p := range required {
		c := check{name: "required:" + p}
		if err != nil {
			c.err = "unknown: the loop did not answer"
		} else {
			c.err = requiredReady(&s, p)
		}
		cs = append(cs, c)
	}
	return cs
}

// requiredReady says why the child at path is not ready, or "" if it is.
func requiredReady(s *supervisor.TreeSnapshot, path string) string {
	parts := strings.Split(path, "/")
	if len(parts) < 2 || parts[0] != s.Name {
		return "bad path " + quote(path) + ": want the root's name (" + quote(s.Name) + ") then child names, joined by /"
	}
	t := s
	for i, name := range parts[1:] {
		c := findChild(t, name)
		if c == nil {
			return "no child " + quote(name) + " in tree " + quote(strings.Join(parts[:i+1], "/"))
		}
		last := i == len(parts)-2
		if c.State != supervisor.Running {
			return quote(strings.Join(parts[:i+2], "/")) + " is " + c.State.String()
		}
		if c.Tree != nil && c.Tree.State != supervisor.TreeStateRunning {
			return "tree " + quote(strings.Join(parts[:i+2], "/")) + " is " + c.Tree.State.String()
		}
		if last {
			return ""
		}
		if c.Tree == nil {
			return quote(strings.Join(parts[:i+2], "/")) + " is not a tree (made with Tree.Spec)"
		}
		t = c.Tree
	}
	return ""
}

func findChild(t *supervisor.TreeSnapshot, name string) *supervisor.ChildSnapshot {
	for i := range t.Children {
		if t.Children[i].Name == name {
			return &t.Children[i]
		}
	}
	return nil
}

func quote(s string) string { return "\"" + s + "\"" }

// healthHandler serves checks the Kubernetes way.
func healthHandler(kind string, run func(context.Context) []check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethod(w, r) {
			return
		}
		q := r.URL.Query()
		_, verbose := q["verbose"]
		excluded := map[string]bool{}
		for _, e := range q["exclude"] {
			excluded[e] = true
		}
		var b strings.Builder
		failed := false
		for _, c := range run(r.Context()) {
			if excluded[c.name] {
				b.WriteString("[+]" + c.name + " excluded: ok\n")
				continue
			}
			if c.err != "" {
				failed = true
				b.WriteString("[-]" + c.name + " failed: " + c.err + "\n")
			} else {
				b.WriteString("[+]" + c.name + " ok\n")
			}
		}
		switch {
		case failed:
			plain(w, http.StatusServiceUnavailable, b.String()+kind+" check failed\n")
		case verbose:
			plain(w, http.StatusOK, b.String()+kind+" check passed\n")
		default:
			plain(w, http.StatusOK, "ok")
		}
	})
}

// Mount registers the page at /debug/arbor/ and the health endpoints at
// /livez and /readyz on mux, all with the same options.
func Mount(mux *http.ServeMux, src Snapshotter, opts ...Option) {
	mux.Handle("/debug/arbor/", Handler(src, opts...))
	mux.Handle("/livez", Livez(src, opts...))
	mux.Handle("/readyz", Readyz(src, opts...))
}
