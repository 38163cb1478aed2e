// view.go: turns a supervisor.TreeSnapshot into what the page template
// shows: durations as text, and SimpleOneForOne trees summarised as counts by
// state plus their most recent failures.

package status

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arbor-go/supervisor"
)

// pageView is the template's data.
type pageView struct {
	Title   string
	Now     string
	Refresh int // seconds; 0: no reload
	All     bool
	Err     string // the root did not answer, or there is no tree
	Root    *treeView
}

type treeView struct {
	Name      string
	Strategy  string
	State     string
	Intensity string // "1/3 in 5s"
	Uptime    string
	Err       string
	Counts    supervisor.Counts
	Children  []childView
	Pool      *poolView // set when a SimpleOneForOne tree is summarised
}

type childView struct {
	Name     string
	State    string
	Restart  string
	Restarts int
	Err      string
	InState  string // time since the last state change
	Uptime   string // time since the last start, while it runs
	PID      int
	Overdue  bool
	Detail   string // what the child reported with supervisor.ReportDetail, as JSON
	Tree     *treeView
}

// poolView summarises a SimpleOneForOne tree.
type poolView struct {
	Total  int
	States []stateCount
	Recent []childView // the most recent failures, latest first
	Failed int         // children with an error, of which Recent shows some
}

type stateCount struct {
	State string
	N     int
}

func buildPage(s supervisor.TreeSnapshot, err error, cfg config, all bool) *pageView {
	now := cfg.now()
	v := &pageView{Title: s.Name, Now: now.UTC().Format(time.RFC3339), All: all}
	if cfg.refresh > 0 {
		v.Refresh = int((cfg.refresh + time.Second - 1) / time.Second)
	}
	if err != nil {
		v.Err = err.Error()
	}
	if err != errNoTree {
		v.Root = buildTree(&s, now, cfg, all)
	}
	return v
}

func buildTree(s *supervisor.TreeSnapshot, now time.Time, cfg config, all bool) *treeView {
	tv := &treeView{Name: s.Name, Strategy: s.Strategy.String(), State: s.State.String(), Err: s.Err,
		Counts:    s.Counts,
		Intensity: strconv.Itoa(s.Restarts) + "/" + strconv.Itoa(s.MaxRestarts) + " in " + s.Period.String()}
	if s.State == supervisor.TreeStateRunning && !s.Since.IsZero() {
		tv.Uptime = age(now, s.Since)
	}
	if s.Strategy == supervisor.SimpleOneForOne && !all {
		tv.Pool = summarise(s.Children, now, cfg)
		return tv
	}
	tv.Children = make([]childView, len(s.Children))
	for i := range s.Children {
		tv.Children[i] = buildChild(&s.Children[i], now, cfg, all)
	}
	return tv
}

func buildChild(c *supervisor.ChildSnapshot, now time.Time, cfg config, all bool) childView {
	cv := childView{Name: c.Name, State: c.State.String(), Restart: c.Restart.String(), Restarts: c.Restarts,
		Err: c.Err, PID: c.PID, Overdue: c.Overdue}
	if !c.Since.IsZero() {
		cv.InState = age(now, c.Since)
	}
	if c.State == supervisor.Running && !c.Started.IsZero() {
		cv.Uptime = age(now, c.Started)
	}
	if c.Tree != nil {
		cv.Tree = buildTree(c.Tree, now, cfg, all)
	}
	if c.Detail != nil {
		if b, err := json.MarshalIndent(c.Detail, "", "  "); err == nil {
			cv.Detail = string(b)
		}
	}
	return cv
}

// summarise counts a pool's children by state and keeps the n failed ones
// (with an error) that exited last (then: whose state changed last).
// O(children + failed·log failed).
func summarise(kids []supervisor.ChildSnapshot, now time.Time, cfg config) *poolView {
	p := &poolView{Total: len(kids)}
	var byState [8]int
	var failed []*supervisor.ChildSnapshot
	for i := range kids {
		c := &kids[i]
		if int(c.State) < len(byState) {
			byState[c.State]++
		}
		if c.Err != "" {
			failed = append(failed, c)
		}
	}
	for st, k := range byState {
		if k > 0 {
			p.States = append(p.States, stateCount{State: supervisor.ChildState(st).String(), N: k})
		}
	}
	p.Failed = len(failed)
	slices.SortFunc(failed, func(a, b *supervisor.ChildSnapshot) int {
		if c := b.Exited.Compare(a.Exited); c != 0 {
			return c
		}
		return b.Since.Compare(a.Since)
	})
	for _, c := range failed[:min(cfg.recent, len(failed))] {
		p.Recent = append(p.Recent, buildChild(c, now, cfg, false))
	}
	return p
}

// age renders now-t compactly ("3s", "4m10s", "2h5m", "3d4h").
func age(now, t time.Time) string {
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	days := int(d / (24 * time.Hour))
	return strconv.Itoa(days) + "d" + strconv.Itoa(int(d%(24*time.Hour)/time.Hour)) + "h"
}
