// This file holds the Linux watch for the end of a process group: one
// goroutine scans /proc for every group being waited on at once, so a mass
// stop of many processes costs one scan per tick, not one per process.

package proc

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// scanInterval is the pause between two scans of /proc while a group is
// being waited on.
const scanInterval = 10 * time.Millisecond

// groups is the set of groups being waited on; a scanner goroutine runs
// while it is not empty.
var groups struct {
	mu      sync.Mutex
	waiting map[int][]chan struct{} // pgid -> closed when the group is empty
	running bool
	kick    chan struct{}
}

// watchGroup returns a channel closed once no process of group pgid but its
// leader (the zombie with pid pgid) is alive, and a function that ends the
// watch.
func watchGroup(pgid int) (<-chan struct{}, func()) {
	c := make(chan struct{})
	groups.mu.Lock()
	if groups.waiting == nil {
		groups.waiting = map[int][]chan struct{}{}
		groups.kick = make(chan struct{}, 1)
	}
	groups.waiting[pgid] = append(groups.waiting[pgid], c)
	if !groups.running {
		groups.running = true
		go scanGroups()
	}
	groups.mu.Unlock()
	select {
	case groups.kick <- struct{}{}:
	default:
	}
	return c, func() { unwatchGroup(pgid, c) }
}

func unwatchGroup(pgid int, c chan struct{}) {
	groups.mu.Lock()
	defer groups.mu.Unlock()
	list := groups.waiting[pgid]
	for i, x := range list {
		if x == c {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(groups.waiting, pgid)
	} else {
		groups.waiting[pgid] = list
	}
}

// scanGroups scans /proc until nobody waits, closing the channels of the
// groups found empty.
func scanGroups() {
	for {
		groups.mu.Lock()
		if len(groups.waiting) == 0 {
			groups.running = false
			groups.mu.Unlock()
			return
		}
		want := make(map[int]bool, len(groups.waiting))
		for pgid := range groups.waiting {
			want[pgid] = false
		}
		groups.mu.Unlock()

		alive := liveGroups(want)
		groups.mu.Lock()
		for pgid := range want {
			if alive[pgid] {
				continue
			}
			for _, c := range groups.waiting[pgid] {
				close(c)
			}
			delete(groups.waiting, pgid)
		}
		groups.mu.Unlock()
		select {
		case <-groups.kick:
		case <-time.After(scanInterval):
		}
	}
}

// liveGroups marks true each group of want that has a live member other
// than its leader. A group whose state cannot be read counts as live.
func liveGroups(want map[int]bool) map[int]bool {
	d, err := os.Open("/proc")
	if err != nil {
		for k := range want {
			want[k] = true
		}
		return want
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		state, pgid, ok := statFields(b)
		if !ok || pid == pgid || state == 'Z' || state == 'X' {
			continue
		}
		if _, w := want[pgid]; w {
			want[pgid] = true
		}
	}
	return want
}

// statFields returns the state and process group from /proc/PID/stat.
func statFields(b []byte) (state byte, pgid int, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+2:]) // state ppid pgrp ...
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgid, err := strconv.Atoi(string(f[2]))
	return f[0][0], pgid, err == nil
}
