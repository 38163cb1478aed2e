// shard_view.go: a replica's in-memory view of a sharded table: desired
// keys, live members, owner keys, and which keys are assigned here. It is
// rebuilt from a full read and kept up to date from watch events; every
// event costs O(1) except a membership change, which re-assigns every key
// (O(keys × members)). Guards wait on per-key channels closed when the
// key's owner or assignment changes. The table's mutex guards it.

package etcd

import (
	"slices"
	"strings"

	"github.com/arbor-go/supervisor"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// holder is the replica holding an owner key.
type holder struct {
	id    string
	rev   int64 // create revision: the fencing token
	lease int64
}

type view struct {
	me      string
	desired map[string]string
	members []string // sorted
	owners  map[string]holder
	mine    map[string]bool // keys reported to the watcher as desired here
	waiters map[string]chan struct{}
}

func (v *view) init(me string) {
	v.me, v.members = me, nil
	v.desired, v.owners, v.mine = map[string]string{}, map[string]holder{}, map[string]bool{}
	if v.waiters == nil {
		v.waiters = map[string]chan struct{}{}
	}
}

// assigned reports whether key is desired and assigned to this replica.
func (v *view) assigned(key string) bool {
	_, ok := v.desired[key]
	return ok && owner(key, v.members) == v.me
}

// waiter returns a channel closed at the next change of key's owner or
// assignment (or at any reset).
func (v *view) waiter(key string) <-chan struct{} {
	ch, ok := v.waiters[key]
	if !ok {
		ch = make(chan struct{})
		v.waiters[key] = ch
	}
	return ch
}

func (v *view) wake(key string) {
	if ch, ok := v.waiters[key]; ok {
		close(ch)
		delete(v.waiters, key)
	}
}

func (v *view) wakeAll() {
	for _, ch := range v.waiters {
		close(ch)
	}
	clear(v.waiters)
}

// reset rebuilds the view from a read of desired, members and owners (in
// that order in resp) and returns the Reset to report.
func (v *view) reset(root string, resp *clientv3.TxnResponse) supervisor.Update {
	v.wakeAll()
	v.init(v.me)
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		v.desired[strings.TrimPrefix(string(kv.Key), root+"desired/")] = string(kv.Value)
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		v.members = append(v.members, strings.TrimPrefix(string(kv.Key), root+"members/"))
	}
	slices.Sort(v.members)
	for _, kv := range resp.Responses[2].GetResponseRange().Kvs {
		v.owners[strings.TrimPrefix(string(kv.Key), root+"owners/")] = holder{id: string(kv.Value),
			rev: kv.CreateRevision, lease: kv.Lease}
	}
	u := supervisor.Update{Reset: true}
	for key, value := range v.desired {
		if v.assigned(key) {
			v.mine[key] = true
			u.Changes = append(u.Changes, supervisor.Change{Key: key, Value: value})
		}
	}
	return u
}

// apply applies watch events and returns the changes to report.
func (v *view) apply(root string, events []*clientv3.Event) []supervisor.Change {
	var cs []supervisor.Change
	regroup := false
	for _, ev := range events {
		k, put := string(ev.Kv.Key), ev.Type == mvccpb.PUT
		switch {
		case strings.HasPrefix(k, root+"desired/"):
			key := k[len(root+"desired/"):]
			old, had := v.desired[key]
			if put {
				v.desired[key] = string(ev.Kv.Value)
			} else {
				delete(v.desired, key)
			}
			cs = v.update(cs, key, put && had && old != string(ev.Kv.Value))
		case strings.HasPrefix(k, root+"members/"):
			id := k[len(root+"members/"):]
			i, found := slices.BinarySearch(v.members, id)
			if put && !found {
				v.members = slices.Insert(v.members, i, id)
				regroup = true
			} else if !put && found {
				v.members = slices.Delete(v.members, i, i+1)
				regroup = true
			}
		case strings.HasPrefix(k, root+"owners/"):
			key := k[len(root+"owners/"):]
			if put {
				v.owners[key] = holder{id: string(ev.Kv.Value), rev: ev.Kv.CreateRevision, lease: ev.Kv.Lease}
			} else {
				delete(v.owners, key)
			}
			v.wake(key)
		}
	}
	if regroup {
		for key := range v.desired {
			cs = v.update(cs, key, false)
		}
		for key := range v.mine {
			cs = v.update(cs, key, false)
		}
	}
	return cs
}

// update reports key if its assignment here changed, or its value did
// while it is assigned here.
func (v *view) update(cs []supervisor.Change, key string, changed bool) []supervisor.Change {
	a := v.assigned(key)
	switch {
	case a && (!v.mine[key] || changed):
		v.mine[key] = true
		v.wake(key)
		return append(cs, supervisor.Change{Key: key, Value: v.desired[key]})
	case !a && v.mine[key]:
		delete(v.mine, key)
		v.wake(key)
		return append(cs, supervisor.Change{Key: key, Deleted: true})
	}
	return cs
}
