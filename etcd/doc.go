// Package etcd runs arbor children across the replicas of a service, with
// etcd (client v3) as the arbiter.
//
// Two things are offered, both plain arbor specs and tables:
//
//   - Singleton wraps a Spec (usually a subtree's, from Tree.Spec) so that
//     its Run runs on exactly one replica at a time: the one holding the
//     election for a name. The others stand by, healthy and ready. A clean
//     stop resigns, so the next replica takes over in milliseconds; a dead
//     replica is replaced once its lease has expired (the TTL).
//   - ShardedTable is a supervisor.Table whose desired keys live in etcd
//     and are spread over the live replicas by rendezvous hashing: give it
//     to supervisor.NewKeyed instead of a supervisor.MemTable, and each key's
//     child runs on exactly one live replica. The keyed code is the same in
//     one process and across replicas: only the table changes.
//
// # How it works
//
// Each replica holds a lease (one per Singleton, one per ShardedTable) and
// renews it with one keep-alive at a time. After each renewal confirmed by
// the server, the replica moves a local deadline to (time the request was
// sent) + TTL − margin (WithMargin, default TTL/3). When the deadline passes
// without a new confirmation, or the server says the lease is gone, the
// contexts of the children running under the lease are cancelled at once,
// without waiting for a watch, an Observe or a Campaign to notice. The
// server cannot expire the lease before (send time) + TTL, so the child is
// told to stop a margin before anyone else can win. An answer that arrives
// after the deadline it would set (a server restarting while the request
// was in flight) changes nothing: a renewal answered that late ends the
// session at once, and a lease granted that late is revoked and asked again.
//
// A Singleton is elected by creating the key <prefix>singleton/<name> in a
// transaction that succeeds only if the key is absent, bound to the lease;
// stand-by replicas watch the key and try again when it is deleted. A
// ShardedTable keeps, under <prefix>keyed/<name>/, the desired keys
// (desired/<key>, written with Put and Delete or by any etcd client), one
// member key per live replica (members/<id>, bound to its lease), and one
// owner key per running key (owners/<key>, bound to the owner's lease). A
// replica reports to its keyed tree the desired keys that rendezvous
// hashing over the live members assigns to it; the guard around each child
// creates the owner key (only if absent) before running the child, and
// deletes it only after the child returned. When a replica dies its member
// and owner keys vanish with its lease, and the others take its keys over.
// A joining or leaving replica moves only about 1/N of the keys.
//
// # Fencing
//
// The child's context carries a Fence (FenceFrom, Token): the election or
// owner key and its create revision, the token. A later holder creates
// the key again, at a later revision, so tokens of one name or key only
// grow. FencedTxn (or Fence.Cmp) makes an etcd transaction succeed only
// while the fence still holds; pass the token to other systems that can
// reject writes carrying an older token.
//
// # Guarantees, and what they are not
//
// Under the assumptions below, no two replicas run the same singleton or key
// at the same time, and a replica's child stops by itself when its lease
// can no longer be confirmed, even cut off from etcd.
//
//   - Clocks: no synchronised clocks are needed, only that the replica's and
//     the etcd leader's clocks advance at nearly the same rate over one TTL;
//     the margin absorbs the difference, plus scheduling delays. A process
//     paused (GC, SIGSTOP, an overloaded host) for longer than the margin
//     can outlive its lease: the deadline fires late.
//   - The child must return promptly once its context is cancelled: within
//     the margin. A child that keeps working after cancellation can overlap
//     with the next holder. arbor cancels; it cannot stop a goroutine.
//   - Fencing protects writes that check the token: etcd transactions made
//     with FencedTxn, or systems that compare tokens. It cannot protect side
//     effects that do not check it (a file written, an e-mail sent, a call
//     to a service that ignores the token).
//   - Liveness needs a working etcd quorum. Without one, every replica's
//     children stop at their deadlines and nothing runs until etcd is back
//     (safety over availability). etcd's own guarantees (linearizable
//     transactions, lease expiry only by the leader) are assumed.
//   - Exactly one replica runs a key only once the membership has settled;
//     while it changes, a key may run nowhere for a moment (a hand-over),
//     never in two places.
//
// # Mapping onto a Kubernetes Lease (not built)
//
// The same design maps onto coordination.k8s.io/v1 Lease objects: the lease
// holder identity is the replica ID, leaseDurationSeconds the TTL, renewTime
// the keep-alive, and a create-or-update with the object's resourceVersion
// (optimistic concurrency) replaces the etcd transaction. A Singleton is one
// Lease named after the election; sharding uses one Lease per replica
// (membership, with renewTime) and one per owned key. Differences: a
// Kubernetes Lease does not expire by itself: a contender takes it over
// when renewTime + leaseDurationSeconds has passed by its own clock, so
// the clock assumption becomes one about wall clocks between replicas (as
// in client-go's leader election), not only about rates; the fencing token
// would be a counter kept in the Lease (leaseTransitions) rather than a
// create revision; and watches go through the API server.
//
// # Bad input
//
// An unreachable etcd at start fails the Singleton's or keyed tree's start
// within WithStartTimeout, with an error matching ErrUnreachable that names
// the endpoints; the parent tree's restart policy then applies. Names and
// keys follow supervisor.ValidKey; a key outside that set written into the
// table by another client is reported by the keyed tree and left in place.
package etcd
