// table.go: the desired-state table that keyed children follow (see
// keyed.go): the Table interface and its updates, the key syntax, and
// MemTable, the in-memory table that is the embedded default.

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrInvalidKey is matched by the error reported for a key outside the
// documented syntax (see ValidKey). Such a key is reported, never run, and
// never removed from its table by arbor.
var ErrInvalidKey = errors.New("invalid key")

// MaxKeyLen is the longest key a keyed tree accepts, in bytes.
const MaxKeyLen = 128

// ValidKey reports whether key may name a keyed child: 1 to MaxKeyLen bytes
// of ASCII letters, digits and the characters '.', '_', '-', ':', '@' and
// '=', not starting with '.'. The set is small on purpose: a key becomes a
// child name, a log field and, in the etcd module, part of an etcd key.
// The error matches ErrInvalidKey.
func ValidKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("supervisor: key %q: %w: length %d outside 1..%d", key, ErrInvalidKey, len(key), MaxKeyLen)
	}
	if key[0] == '.' {
		return fmt.Errorf("supervisor: key %q: %w: starts with '.'", key, ErrInvalidKey)
	}
	for i := 0; i < len(key); i++ {
		if !keyByte(key[i]) {
			return fmt.Errorf("supervisor: key %q: %w: byte %q at %d is not a letter, digit or one of . _ - : @ =",
				key, ErrInvalidKey, key[i], i)
		}
	}
	return nil
}

func keyByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '.', '_', '-', ':', '@', '=':
		return true
	}
	return false
}

// Change is one entry of an Update: a key is desired with Value, or, when
// Deleted, no longer desired.
type Change struct {
	Key     string
	Value   string
	Deleted bool
}

// Update is what a Table reports to its watcher. When Reset is set, Changes
// hold the full contents of the table: a key not among them is not desired
// (Deleted entries are then meaningless and ignored). Otherwise Changes are
// applied in order on top of what was reported before.
type Update struct {
	Reset   bool
	Changes []Change
}

// Table is a desired-state table of keys, each with a value (the
// parameters of the key's child), as followed by a Keyed tree.
//
// Watch reports the table to send until ctx ends or the table fails: first
// an Update with Reset and the full contents, then each change, and again a
// full Reset whenever the table cannot vouch for the changes in between
// (after a reconnect, or as a periodic safety net). send may block; Watch
// must not call it concurrently. Watch returns nil when ctx ended and an
// error otherwise; the Keyed tree then calls Watch again after a pause
// (or, if no Reset was delivered yet, fails to start with that error).
type Table interface {
	Watch(ctx context.Context, send func(Update)) error
}

// GuardedTable is a Table whose keys are held under claims that must be
// checked around each child's run, such as the etcd module's sharded table
// (a key runs only on the replica that owns it). A Keyed tree passes every
// Spec its factory made through Guard before adding it.
type GuardedTable interface {
	Table
	Guard(key string, spec Spec) Spec
}

// memLogMax bounds the changes a MemTable keeps for watchers that lag;
// a watcher that falls further behind gets a full Reset instead.
const memLogMax = 4096

// MemTable is an in-memory Table, safe for concurrent use. Its zero value
// is an empty table ready to use.
type MemTable struct {
	mu      sync.Mutex
	entries map[string]string
	log     []Change // the last changes, log[i] made revision base+i+1
	base    int64
	rev     int64
	wake    chan struct{} // closed and replaced on every change
}

// NewMemTable returns a MemTable holding entries (copied). It fails, with an
// error matching ErrInvalidKey, if a key is invalid.
func NewMemTable(entries map[string]string) (*MemTable, error) {
	t := &MemTable{}
	for k, v := range entries {
		if err := t.Set(k, v); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Set makes key desired with value. An invalid key is refused with an error
// matching ErrInvalidKey. Setting the value a key already has changes nothing.
func (t *MemTable) Set(key, value string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries == nil {
		t.entries = map[string]string{}
	}
	if old, ok := t.entries[key]; ok && old == value {
		return nil
	}
	t.entries[key] = value
	t.record(Change{Key: key, Value: value})
	return nil
}

// Delete makes key no longer desired; it reports whether the key was there.
func (t *MemTable) Delete(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[key]; !ok {
		return false
	}
	delete(t.entries, key)
	t.record(Change{Key: key, Deleted: true})
	return true
}

// Get returns the value of key and whether the key is desired.
func (t *MemTable) Get(key string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.entries[key]
	return v, ok
}

// Len returns the number of desired keys.
func (t *MemTable) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// record appends c to the change log and wakes the watchers. t.mu is held.
func (t *MemTable) record(c Change) {
	t.rev++
	t.log = append(t.log, c)
	if len(t.log) > memLogMax {
		drop := len(t.log) - memLogMax/2
		t.log = append([]Change(nil), t.log[drop:]...)
		t.base += int64(drop)
	}
	if t.wake != nil {
		close(t.wake)
		t.wake = nil
	}
}

// Watch implements Table: a full Reset, then the changes as they are made.
func (t *MemTable) Watch(ctx context.Context, send func(Update)) error {
	var seen int64 = -1
	for {
		u, rev, wake := t.since(seen)
		if u != nil {
			send(*u)
			seen = rev
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		}
	}
}

// since returns what a watcher that has seen revision seen (-1: nothing)
// misses, or nil, the revision that brings it to, and a channel closed at
// the next change.
func (t *MemTable) since(seen int64) (*Update, int64, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.wake == nil {
		t.wake = make(chan struct{})
	}
	switch {
	case seen == t.rev:
		return nil, t.rev, t.wake
	case seen < t.base:
		u := &Update{Reset: true, Changes: make([]Change, 0, len(t.entries))}
		for k, v := range t.entries {
			u.Changes = append(u.Changes, Change{Key: k, Value: v})
		}
		return u, t.rev, t.wake
	default:
		cs := append([]Change(nil), t.log[seen-t.base:]...)
		return &Update{Changes: cs}, t.rev, t.wake
	}
}
